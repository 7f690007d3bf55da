// GitLab's CI/CD expression language (`rules:if`, `only:variables`, `workflow:rules:if`):
// variables ($VAR, ${VAR}), "strings", 'strings', /regex/flags, null, == != =~ !~, && (binds tighter than ||),
// and parentheses. A variable that is not defined is null; a lone variable is true when it is non-empty.

export type ExpressionValue = string | null | boolean | RegExp;

type Token =
  | { type: 'variable'; name: string; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'pattern'; source: string; flags: string; at: number }
  | { type: 'null'; at: number }
  | { type: 'op'; op: '==' | '!=' | '=~' | '!~' | '&&' | '||'; at: number }
  | { type: 'paren'; open: boolean; at: number };

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    let match: RegExpExecArray | null;
    if ((match = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}|^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(rest))) {
      tokens.push({ type: 'variable', name: (match[1] ?? match[2])!, at: i });
      i += match[0].length;
    } else if ((match = /^"((?:[^"\\]|\\.)*)"|^'((?:[^'\\]|\\.)*)'/.exec(rest))) {
      tokens.push({ type: 'string', value: match[1] ?? match[2] ?? '', at: i });
      i += match[0].length;
    } else if ((match = /^\/((?:[^/\\]|\\.)*)\/([a-z]*)/.exec(rest))) {
      tokens.push({ type: 'pattern', source: match[1]!, flags: match[2]!, at: i });
      i += match[0].length;
    } else if ((match = /^null\b/.exec(rest))) {
      tokens.push({ type: 'null', at: i });
      i += 4;
    } else if ((match = /^(==|!=|=~|!~|&&|\|\|)/.exec(rest))) {
      tokens.push({ type: 'op', op: match[1] as '==', at: i });
      i += 2;
    } else if (char === '(' || char === ')') {
      tokens.push({ type: 'paren', open: char === '(', at: i });
      i++;
    } else {
      throw new ExpressionError(`unexpected \`${rest.slice(0, 12)}\` at character ${i + 1}`, text);
    }
  }
  return tokens;
}

type Ast =
  | { kind: 'value'; token: Token }
  | { kind: 'compare'; op: '==' | '!=' | '=~' | '!~'; left: Ast; right: Ast }
  | { kind: 'logic'; op: '&&' | '||'; left: Ast; right: Ast };

/** A parsed expression; evaluate it as many times as needed. */
export interface Expression {
  readonly text: string;
  evaluate(lookup: (name: string) => string | undefined): boolean;
}

/** Parses a GitLab CI expression; throws {@link ExpressionError} on bad syntax. */
export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const fail = (message: string): never => {
    throw new ExpressionError(message, text);
  };
  const parseOr = (): Ast => {
    let left = parseAnd();
    for (let t = peek(); t?.type === 'op' && t.op === '||'; t = peek()) {
      position++;
      left = { kind: 'logic', op: '||', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Ast => {
    let left = parseComparison();
    for (let t = peek(); t?.type === 'op' && t.op === '&&'; t = peek()) {
      position++;
      left = { kind: 'logic', op: '&&', left, right: parseComparison() };
    }
    return left;
  };
  const parseComparison = (): Ast => {
    const left = parsePrimary();
    const t = peek();
    if (t?.type === 'op' && (t.op === '==' || t.op === '!=' || t.op === '=~' || t.op === '!~')) {
      position++;
      const right = parsePrimary();
      if (
        (t.op === '=~' || t.op === '!~') &&
        right.kind === 'value' &&
        right.token.type !== 'pattern' &&
        right.token.type !== 'variable'
      ) {
        fail(`the right side of ${t.op} should be a /pattern/ or a variable`);
      }
      return { kind: 'compare', op: t.op, left, right };
    }
    return left;
  };
  const parsePrimary = (): Ast => {
    const t = peek();
    if (!t) return fail('unexpected end of expression');
    if (t.type === 'paren' && t.open) {
      position++;
      const inner = parseOr();
      const close = peek();
      if (close?.type !== 'paren' || close.open) fail('missing closing parenthesis');
      position++;
      return inner;
    }
    if (t.type === 'op' || t.type === 'paren')
      return fail(`unexpected \`${t.type === 'op' ? t.op : ')'}\` at character ${t.at + 1}`);
    position++;
    return { kind: 'value', token: t };
  };
  const ast = parseOr();
  if (position < tokens.length) fail(`unexpected token at character ${(tokens[position]?.at ?? 0) + 1}`);

  return {
    text,
    evaluate(lookup) {
      return truthy(evaluate(ast, lookup, text));
    },
  };
}

function truthy(value: ExpressionValue): boolean {
  if (value === null || value === false) return false;
  if (typeof value === 'string') return value.length > 0;
  return true;
}

function toRegExp(source: string, flags: string, expression: string): RegExp {
  const jsFlags = [...new Set(flags.split(''))].filter((f) => 'ims'.includes(f)).join('');
  try {
    return new RegExp(source, jsFlags);
  } catch (error) {
    throw new ExpressionError(`invalid regular expression /${source}/: ${(error as Error).message}`, expression);
  }
}

function evaluate(ast: Ast, lookup: (name: string) => string | undefined, text: string): ExpressionValue {
  if (ast.kind === 'value') {
    const t = ast.token;
    switch (t.type) {
      case 'variable':
        return lookup(t.name) ?? null;
      case 'string':
        return t.value;
      case 'null':
        return null;
      case 'pattern':
        return toRegExp(t.source, t.flags, text);
      default:
        return null;
    }
  }
  if (ast.kind === 'logic') {
    const left = evaluate(ast.left, lookup, text);
    if (ast.op === '&&') return truthy(left) ? evaluate(ast.right, lookup, text) : left;
    return truthy(left) ? left : evaluate(ast.right, lookup, text);
  }
  const left = evaluate(ast.left, lookup, text);
  let right = evaluate(ast.right, lookup, text);
  if (ast.op === '==' || ast.op === '!=') {
    const equal = left instanceof RegExp || right instanceof RegExp ? String(left) === String(right) : left === right;
    return ast.op === '==' ? equal : !equal;
  }
  // =~ and !~: a variable on the right holds a pattern such as "/^feature/i".
  if (typeof right === 'string') {
    const pattern = /^\/(.*)\/([a-z]*)$/s.exec(right);
    right = pattern ? toRegExp(pattern[1]!, pattern[2]!, text) : toRegExp(escapeRegExp(right), '', text);
  }
  if (!(right instanceof RegExp)) return ast.op === '!~';
  if (typeof left !== 'string') return ast.op === '!~';
  const matched = right.test(left);
  return ast.op === '=~' ? matched : !matched;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
