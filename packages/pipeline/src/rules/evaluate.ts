import picomatch from 'picomatch';
import type { OnlyExceptConfig, RuleConfig } from '../types.js';
import { type Expression, parseExpression } from './expression.js';

/** What rules and only/except look at. */
export interface RuleContext {
  /** A variable's value (already expanded) or undefined when it is not defined. */
  lookup: (name: string) => string | undefined;
  /** Files changed by the push; `undefined` means unknown, where GitLab makes `changes` true. */
  changedFiles?: readonly string[];
  /** Every file of the project, for `exists`. */
  projectFiles: readonly string[];
  ref: string;
  refType: 'branch' | 'tag';
  pipelineSource: string;
  projectPath: string;
}

const expressionCache = new Map<string, Expression>();

/** Parses (with a cache) an expression; throws ExpressionError. */
export function compileExpression(text: string): Expression {
  let expression = expressionCache.get(text);
  if (!expression) {
    expression = parseExpression(text);
    if (expressionCache.size > 5000) expressionCache.clear();
    expressionCache.set(text, expression);
  }
  return expression;
}

function globMatcher(
  patterns: readonly string[],
  lookup: (name: string) => string | undefined,
): (file: string) => boolean {
  const expanded = patterns.map((p) =>
    p.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => lookup(name) ?? ''),
  );
  const matchers = expanded.map((p) => picomatch(p.replace(/^\.?\//, ''), { dot: true }));
  return (file) => matchers.some((m) => m(file));
}

function changesMatch(paths: readonly string[], context: RuleContext): boolean {
  if (context.changedFiles === undefined) return true;
  const match = globMatcher(paths, context.lookup);
  return context.changedFiles.some(match);
}

function existsMatch(paths: readonly string[], context: RuleContext): boolean {
  const match = globMatcher(paths, context.lookup);
  return context.projectFiles.some(match);
}

/** The first rule whose clauses all hold, or undefined (the job or pipeline is then not created). */
export function matchRule<R extends RuleConfig>(rules: readonly R[], context: RuleContext): R | undefined {
  for (const rule of rules) {
    if (rule.if !== undefined && !compileExpression(rule.if).evaluate(context.lookup)) continue;
    if (rule.changes !== undefined && !changesMatch(rule.changes.paths, context)) continue;
    if (rule.exists !== undefined && !existsMatch(rule.exists, context)) continue;
    return rule;
  }
  return undefined;
}

const SOURCE_KEYWORDS: Record<string, string> = {
  api: 'api',
  chat: 'chat',
  chats: 'chat',
  external: 'external',
  external_pull_requests: 'external_pull_request_event',
  merge_requests: 'merge_request_event',
  pipelines: 'pipeline',
  pushes: 'push',
  schedules: 'schedule',
  triggers: 'trigger',
  web: 'web',
};

function refMatches(pattern: string, context: RuleContext): boolean {
  let ref = pattern;
  const at = pattern.lastIndexOf('@');
  if (at > 0 && !pattern.startsWith('/')) {
    if (pattern.slice(at + 1) !== context.projectPath) return false;
    ref = pattern.slice(0, at);
  }
  if (ref === 'branches') return context.refType === 'branch' && context.pipelineSource !== 'merge_request_event';
  if (ref === 'tags') return context.refType === 'tag';
  const source = SOURCE_KEYWORDS[ref];
  if (source) return context.pipelineSource === source;
  const regex = /^\/(.+)\/([a-z]*)$/.exec(ref);
  if (regex) {
    try {
      return new RegExp(regex[1]!, regex[2]!.replace(/[^ims]/g, '')).test(context.ref);
    } catch {
      return false;
    }
  }
  return ref === context.ref;
}

/** Whether every given key of only/except has at least one matching entry (GitLab's conjoined reading). */
function policyMatches(
  policy: OnlyExceptConfig,
  context: RuleContext,
  defaultRefs: readonly string[] | undefined,
): boolean {
  const refs = policy.refs.length > 0 ? policy.refs : defaultRefs;
  if (refs && !refs.some((ref) => refMatches(ref, context))) return false;
  if (policy.variables.length > 0 && !policy.variables.some((v) => compileExpression(v).evaluate(context.lookup)))
    return false;
  if (policy.changes.length > 0 && !changesMatch(policy.changes, context)) return false;
  return true;
}

/** only/except: `only` defaults to branches and tags; the job is kept when only matches and except does not. */
export function onlyExceptAllows(
  only: OnlyExceptConfig | undefined,
  except: OnlyExceptConfig | undefined,
  context: RuleContext,
): boolean {
  const onlyPolicy = only ?? { refs: [], variables: [], changes: [] };
  if (!policyMatches(onlyPolicy, context, ['branches', 'tags'])) return false;
  if (except && (except.refs.length > 0 || except.variables.length > 0 || except.changes.length > 0)) {
    if (policyMatches(except, context, undefined)) return false;
  }
  return true;
}
