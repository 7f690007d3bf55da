/** Stable issue codes (config-toml.md §3.4). They never change once published. */
export type IssueCode =
  | 'toml_syntax'
  | 'type_mismatch'
  | 'invalid_duration'
  | 'out_of_range'
  | 'invalid_enum'
  | 'invalid_format'
  | 'invalid_value'
  | 'duplicate_key'
  | 'too_many_labels'
  | 'unknown_key'
  | 'removed_key'
  | 'deprecated_key'
  | 'key_case_mismatch'
  | 'unknown_feature_flag'
  | 'deprecated_feature_flag'
  | 'missing_required'
  | 'legacy_ci_url'
  | 'duration_as_integer'
  | 'concurrent_below_runners'
  | 'unknown_cache_type'
  | 'runner_disabled';

export type Severity = 'error' | 'warning';

/** One problem found in a config file. `line`/`column` are 1-based and present when the text locates it. */
export interface ConfigIssue {
  severity: Severity;
  code: IssueCode;
  /** Key path such as `runners[1].docker.pull_policy[0]`, or `<document>` for TOML syntax errors. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export type PathSegment = string | number;

const BARE = /^[A-Za-z0-9_-]+$/;

/** Formats a path the way §3.3 describes: `runners[0].docker.sysctls["net.ipv4.ip_forward"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  if (segments.length === 0) return '<document>';
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (BARE.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Sorts issues by path, then code, in plain code-point order (the fixtures' order). */
export function sortIssues<T extends { path: string; code: string }>(issues: T[]): T[] {
  return [...issues].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0,
  );
}
