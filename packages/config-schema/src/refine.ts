import { CONFIG_DEFAULTS } from './defaults.js';
import { featureFlagDefinition, REMOVED_FEATURE_FLAGS } from './feature-flags.js';
import { formatPath, type ConfigIssue, type PathSegment } from './issues.js';
import type { Config } from './schema/global.js';

/**
 * Cross-field rules, run on the typed config once every key has its type: the ones zod's per-key schemas cannot
 * see (concurrent against the runner count, merged labels, required runner keys, feature flag names).
 */
export type RefineIssue = Omit<ConfigIssue, 'line' | 'column'> & { segments: PathSegment[] };

const KNOWN_CACHE_TYPES = new Set(['s3', 'gcs', 'azure', 's3v2', 'gcsv2']);

export function refineConfig(config: Config): RefineIssue[] {
  const issues: RefineIssue[] = [];
  const add = (
    severity: ConfigIssue['severity'],
    code: ConfigIssue['code'],
    segments: PathSegment[],
    message: string,
  ) => issues.push({ severity, code, segments, path: formatPath(segments), message });

  if (config.concurrent !== undefined && config.concurrent < 1) {
    add(
      'error',
      'out_of_range',
      ['concurrent'],
      `concurrent = ${config.concurrent} means that no jobs will be processed: expected concurrent >= 1`,
    );
  }
  const runners = config.runners ?? [];
  const concurrent = config.concurrent ?? CONFIG_DEFAULTS.concurrent;
  if (concurrent >= 1 && concurrent < runners.length) {
    add(
      'warning',
      'concurrent_below_runners',
      ['concurrent'],
      `concurrent = ${concurrent} is lower than the number of runners (${runners.length}): some runners will wait for a free slot`,
    );
  }

  runners.forEach((runner, i) => {
    for (const key of ['url', 'token', 'executor'] as const) {
      if (!runner[key]) {
        add(
          'warning',
          'missing_required',
          ['runners', i, key],
          `runner has no ${key}: it cannot start until one is set`,
        );
      }
    }
    if (runner.url && /\/ci$/.test(runner.url.replace(/\/+$/, ''))) {
      add(
        'warning',
        'legacy_ci_url',
        ['runners', i, 'url'],
        `url ${JSON.stringify(runner.url)} ends in /ci, a legacy form that breaks submodule authentication; drop the /ci suffix`,
      );
    }
    const merged = new Set([...Object.keys(config.labels ?? {}), ...Object.keys(runner.labels ?? {})]);
    if (merged.size > CONFIG_DEFAULTS.maxLabels) {
      add(
        'error',
        'too_many_labels',
        ['runners', i, 'labels'],
        `runner has ${merged.size} labels after merging the global ones: at most ${CONFIG_DEFAULTS.maxLabels} are allowed`,
      );
    }
    const type = runner.cache?.Type;
    if (type && !KNOWN_CACHE_TYPES.has(type)) {
      add(
        'warning',
        'unknown_cache_type',
        ['runners', i, 'cache', 'Type'],
        `cache Type ${JSON.stringify(type)} is not one of "s3" | "gcs" | "azure": jobs run without a distributed cache`,
      );
    }
    for (const name of Object.keys(runner.feature_flags ?? {})) {
      const definition = featureFlagDefinition(name);
      const segments = ['runners', i, 'feature_flags', name];
      if (!definition) {
        const removed = REMOVED_FEATURE_FLAGS.includes(name);
        const caseVariant = featureFlagDefinition(name.toUpperCase());
        add(
          'warning',
          'unknown_feature_flag',
          segments,
          removed
            ? `feature flag ${name} was removed in GitLab Runner and has no effect`
            : caseVariant
              ? `unknown feature flag ${name}: flag names are case-sensitive, did you mean ${caseVariant.name}?`
              : `unknown feature flag ${name} (kept, but no known flag has this name)`,
        );
      } else if (definition.deprecated) {
        add('warning', 'deprecated_feature_flag', segments, `feature flag ${name} is deprecated and will be removed`);
      }
    }
  });
  return issues;
}
