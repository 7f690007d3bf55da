// GitLab's variable expansion, in its two flavours:
//
// - the runner's (GitLab Runner `Variables.ExpandValue`, Go's `os.Expand`): `$NAME`, `${NAME}`, `$$` → `$`,
//   shell specials (`$1`, `$@`, `${?}` …) → "", unknown names → "", a lone `$` kept, `${` without `}` eaten;
// - the server's (GitLab Rails `ExpandVariables` / `Variables::Collection#expand_value`): `$NAME`, `${NAME}`
//   and `%NAME%`, names `[a-zA-Z_][a-zA-Z0-9_]*`; `$$` and `%%` are escapes left as they are (the runner
//   collapses `$$` later), references to raw variables are kept for the runner, unknown names become "" (or
//   stay as written with `keepUndefined`).

/** A variable as expansion sees it. */
export interface ExpandableVariable {
  readonly key: string;
  readonly value: string;
  readonly raw?: boolean;
  readonly file?: boolean;
}

/** Returns a name's value, or `undefined` when the name is unknown. */
export type VariableLookup = (name: string) => string | undefined;

const SHELL_SPECIALS = new Set(['*', '#', '$', '@', '!', '?', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

function isNameCharacter(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || // 0-9
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    code === 95 // _
  );
}

/**
 * Expands `$NAME`, `${NAME}` and `$$` as GitLab Runner does before running a job. Unknown names and shell
 * specials become "", `$$` becomes `$`. `lookup` decides what a name means (last occurrence wins, file
 * variables give their path: see `createVariableLookup`).
 */
export function expandRunnerValue(text: string, lookup: VariableLookup): string {
  if (!text.includes('$')) return text;
  let output = '';
  let copiedUpTo = 0;
  for (let index = 0; index < text.length; index++) {
    if (text[index] !== '$' || index + 1 >= text.length) continue;
    output += text.slice(copiedUpTo, index);
    const { name, width } = readShellName(text, index + 1);
    if (name === '' && width > 0) {
      // Invalid syntax (`${}` or an unterminated `${`): the characters are dropped, as Go does.
    } else if (name === '') {
      output += '$';
    } else if (name === '$') {
      output += '$';
    } else if (SHELL_SPECIALS.has(name)) {
      // `$1`, `$@`, …: never job variables.
    } else {
      output += lookup(name) ?? '';
    }
    index += width;
    copiedUpTo = index + 1;
  }
  return output + text.slice(copiedUpTo);
}

function readShellName(text: string, start: number): { name: string; width: number } {
  const first = text[start]!;
  if (first === '{') {
    const second = text[start + 1];
    if (second !== undefined && SHELL_SPECIALS.has(second) && text[start + 2] === '}') {
      return { name: second, width: 3 };
    }
    const close = text.indexOf('}', start + 1);
    if (close === -1) return { name: '', width: 1 };
    if (close === start + 1) return { name: '', width: 2 };
    return { name: text.slice(start + 1, close), width: close - start + 1 };
  }
  if (SHELL_SPECIALS.has(first)) return { name: first, width: 1 };
  let end = start;
  while (end < text.length && isNameCharacter(text.charCodeAt(end))) end++;
  return { name: text.slice(start, end), width: end - start };
}

export interface ServerExpandOptions {
  /** Leave references to unknown names as written instead of removing them (Rails `expand_existing`). */
  readonly keepUndefined?: boolean;
  /** Expand references to file variables to their content (default true); otherwise leave them as written. */
  readonly expandFileReferences?: boolean;
  /** Expand references to raw variables (default false: they are left for the runner, as GitLab does). */
  readonly expandRawReferences?: boolean;
}

const SERVER_REFERENCE =
  /\$\$|%%|\$([a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)?\}|%([a-zA-Z_][a-zA-Z0-9_]*)%/g;

/**
 * Expands references as GitLab's server does (job `image:`, `services:`, cache keys, rules, variables
 * referring to each other). `variables` is searched from the end: the last definition of a name wins.
 */
export function expandServerValue(
  text: string,
  variables: readonly ExpandableVariable[] | ReadonlyMap<string, ExpandableVariable>,
  options: ServerExpandOptions = {},
): string {
  if (!text.includes('$') && !text.includes('%')) return text;
  const byName = toMap(variables);
  return text.replace(SERVER_REFERENCE, (match, dollarName?: string, braceName?: string, percentName?: string) => {
    const name = dollarName ?? braceName ?? percentName;
    if (name === undefined) return match; // `$$`, `%%` or `${}`
    const variable = byName.get(name);
    if (variable === undefined) return options.keepUndefined ? match : '';
    if (variable.file && options.expandFileReferences === false) return match;
    if (variable.raw && !options.expandRawReferences) return match;
    return variable.value;
  });
}

function toMap(
  variables: readonly ExpandableVariable[] | ReadonlyMap<string, ExpandableVariable>,
): ReadonlyMap<string, ExpandableVariable> {
  if (!Array.isArray(variables)) return variables as ReadonlyMap<string, ExpandableVariable>;
  const map = new Map<string, ExpandableVariable>();
  for (const variable of variables as readonly ExpandableVariable[]) map.set(variable.key, variable);
  return map;
}

export interface VariableLookupOptions {
  /** The path a file variable's value is written to; without it a file variable gives its content. */
  readonly filePath?: (key: string) => string;
}

/** The runner's lookup over a job's variables: last occurrence wins, file variables give their path. */
export function createVariableLookup(
  variables: readonly ExpandableVariable[],
  options: VariableLookupOptions = {},
): VariableLookup {
  const byName = toMap(variables);
  return (name) => {
    const variable = byName.get(name);
    if (variable === undefined) return undefined;
    if (variable.file && options.filePath) return options.filePath(variable.key);
    return variable.value;
  };
}

/**
 * The runner's pass over a job's variables (GitLab Runner `Variables.Expand`): every variable that is not
 * `raw` has its value expanded against `source` (default: the list itself). Order and flags are kept.
 */
export function expandVariables<V extends ExpandableVariable>(
  variables: readonly V[],
  source: readonly ExpandableVariable[] = variables,
  options: VariableLookupOptions = {},
): V[] {
  const lookup = createVariableLookup(source, options);
  return variables.map((variable) =>
    variable.raw ? variable : { ...variable, value: expandRunnerValue(variable.value, lookup) },
  );
}
