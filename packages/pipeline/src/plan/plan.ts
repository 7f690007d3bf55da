import { expandServerValue } from '@runnerkit/job-spec';
import type { PipelineIssue } from '../errors.js';
import { parseDuration } from '../normalize/duration.js';
import type { Collector } from '../normalize/normalize.js';
import { ExpressionError } from '../rules/expression.js';
import { compileExpression, matchRule, onlyExceptAllows, type RuleContext } from '../rules/evaluate.js';
import type { AllowFailure, JobConfig, NeedConfig, NormalizedConfig, RuleConfig, YamlVariable } from '../types.js';
import { type PayloadVariable, variable } from '../variables/predefined.js';
import type { CompiledPipeline, PipelineFacts, PlannedJob, PlannedNeed, PlannedWhen } from './planned-job.js';

export interface PlanInput {
  config: NormalizedConfig;
  facts: PipelineFacts;
  predefinedVariables: PayloadVariable[];
  projectFiles: readonly string[];
  changedFiles?: readonly string[];
  issues: Collector;
}

function yamlToPayload(variables: readonly YamlVariable[]): PayloadVariable[] {
  return variables.map((v) => variable(v.key, v.value, { raw: !v.expand }));
}

function makeLookup(list: readonly PayloadVariable[]): (name: string) => string | undefined {
  const byName = new Map<string, PayloadVariable>();
  for (const v of list) byName.set(v.key, v);
  const cache = new Map<string, string | undefined>();
  return (name) => {
    if (cache.has(name)) return cache.get(name);
    const found = byName.get(name);
    const value = found === undefined ? undefined : found.raw ? found.value : expandServerValue(found.value, byName);
    cache.set(name, value);
    return value;
  };
}

interface Instance {
  job: JobConfig;
  name: string;
  matrixVariables: YamlVariable[];
  parallel?: PlannedJob['parallel'];
}

/** GitLab's names for parallel jobs: `name i/n` for a count, `name: [v1, v2]` for a matrix. */
export function expandParallel(job: JobConfig): Instance[] {
  const parallel = job.parallel;
  if (!parallel) return [{ job, name: job.name, matrixVariables: [] }];
  if ('count' in parallel) {
    return Array.from({ length: parallel.count }, (_, i) => ({
      job,
      name: `${job.name} ${i + 1}/${parallel.count}`,
      matrixVariables: [
        { key: 'CI_NODE_INDEX', value: String(i + 1), expand: true },
        { key: 'CI_NODE_TOTAL', value: String(parallel.count), expand: true },
      ],
      parallel: { index: i + 1, total: parallel.count },
    }));
  }
  const combos: Record<string, string>[] = [];
  for (const row of parallel.matrix) {
    let partial: Record<string, string>[] = [{}];
    for (const [key, values] of Object.entries(row)) {
      partial = partial.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value })));
    }
    combos.push(...partial);
  }
  return combos.map((combo, i) => ({
    job,
    name: `${job.name}: [${Object.values(combo).join(', ')}]`,
    matrixVariables: [
      ...Object.entries(combo).map(([key, value]) => ({ key, value, expand: true })),
      { key: 'CI_NODE_INDEX', value: String(i + 1), expand: true },
      { key: 'CI_NODE_TOTAL', value: String(combos.length), expand: true },
    ],
    parallel: { index: i + 1, total: combos.length, matrix: combo },
  }));
}

function checkExpressions(config: NormalizedConfig, issues: Collector): void {
  const check = (text: string, path: (string | number)[]) => {
    try {
      compileExpression(text);
    } catch (error) {
      if (error instanceof ExpressionError)
        issues.add('PIPELINE_EXPRESSION_INVALID', path, `invalid expression \`${text}\`: ${error.message}`);
      else throw error;
    }
  };
  const checkRules = (rules: readonly RuleConfig[] | undefined, path: (string | number)[]) =>
    rules?.forEach((rule, i) => {
      if (rule.if !== undefined) check(rule.if, [...path, i, 'if']);
    });
  checkRules(config.workflow.rules, ['workflow', 'rules']);
  for (const job of config.jobs) {
    checkRules(job.rules, [job.name, 'rules']);
    for (const key of ['only', 'except'] as const) {
      job[key]?.variables.forEach((v, i) => {
        check(v, [job.name, key, 'variables', i]);
      });
    }
  }
}

/** Workflow rules, job rules and only/except, parallel expansion, needs and dependencies: the pipeline's jobs. */
export function planPipeline(
  input: PlanInput,
): { ok: true; pipeline: CompiledPipeline } | { ok: false; issues: PipelineIssue[] } {
  const { config, facts, issues } = input;
  const before = issues.issues.length;
  checkExpressions(config, issues);
  if (issues.issues.length > before) return { ok: false, issues: issues.issues };

  const baseContext = {
    changedFiles: input.changedFiles,
    projectFiles: input.projectFiles,
    ref: facts.git.ref,
    refType: facts.git.refType,
    pipelineSource: facts.pipeline.source,
    projectPath: facts.project.path,
  } satisfies Omit<RuleContext, 'lookup'>;

  const globals = yamlToPayload(config.variables);
  // workflow:rules
  let workflowVariables: PayloadVariable[] = [];
  if (config.workflow.rules) {
    const lookup = makeLookup([...input.predefinedVariables, ...globals, ...facts.callerVariables]);
    const rule = matchRule(config.workflow.rules, { ...baseContext, lookup });
    if (!rule || rule.when === 'never') {
      issues.add('PIPELINE_WORKFLOW_FILTERED', ['workflow', 'rules'], 'pipeline filtered out by workflow rules');
      return { ok: false, issues: issues.issues };
    }
    workflowVariables = yamlToPayload(rule.variables ?? []);
  }
  const pipelineLevel = [...input.predefinedVariables, ...globals, ...workflowVariables, ...facts.callerVariables];
  const pipelineName = config.workflow.name
    ? expandServerValue(
        config.workflow.name,
        pipelineLevel.map((v) => ({ ...v })),
      )
    : undefined;

  const stageIndex = new Map(config.stages.map((stage, i) => [stage, i]));
  const selected: { instance: Instance; planned: PlannedJob; ruleNeeds?: NeedConfig[] }[] = [];

  for (const job of config.jobs) {
    if (!stageIndex.has(job.stage)) {
      issues.add(
        'PIPELINE_STAGE_UNKNOWN',
        [job.name, 'stage'],
        `chosen stage ${job.stage} does not exist; available stages are ${config.stages.join(', ')}`,
      );
      continue;
    }
    const inherited =
      job.inheritVariables === true
        ? [...globals, ...workflowVariables]
        : job.inheritVariables === false
          ? []
          : [...globals, ...workflowVariables].filter((v) => (job.inheritVariables as string[]).includes(v.key));
    for (const instance of expandParallel(job)) {
      const yamlVariables = [...inherited, ...yamlToPayload(job.variables), ...yamlToPayload(instance.matrixVariables)];
      const lookup = makeLookup([...input.predefinedVariables, ...yamlVariables, ...facts.callerVariables]);
      const context: RuleContext = { ...baseContext, lookup };
      let when: PlannedWhen;
      let allowFailure: AllowFailure | undefined;
      let startIn = job.startIn;
      let ruleNeeds: NeedConfig[] | undefined;
      let interruptible = job.interruptible;
      if (job.rules) {
        const rule = matchRule(job.rules, context);
        if (!rule || rule.when === 'never') continue;
        when = (rule.when ?? (job.when === 'never' ? 'on_success' : job.when)) as PlannedWhen;
        allowFailure = rule.allowFailure ?? job.allowFailure ?? false;
        if (rule.startIn !== undefined) startIn = rule.startIn;
        if (rule.variables) yamlVariables.push(...yamlToPayload(rule.variables));
        ruleNeeds = rule.needs;
        if (rule.interruptible !== undefined) interruptible = rule.interruptible;
      } else {
        if (!onlyExceptAllows(job.only, job.except, context)) continue;
        when = job.when as PlannedWhen;
        allowFailure = job.allowFailure ?? when === 'manual';
      }
      if (when === 'delayed' && startIn === undefined) {
        issues.add('PIPELINE_KEY_INVALID', [job.name, 'when'], 'start_in should be specified for delayed job');
        continue;
      }
      const planned: PlannedJob = {
        name: instance.name,
        baseName: job.name,
        stage: job.stage,
        stageIndex: stageIndex.get(job.stage)!,
        when,
        allowFailure: allowFailure !== false,
        allowFailureExitCodes: typeof allowFailure === 'object' ? allowFailure.exitCodes : [],
        needs: null,
        dependencies: [],
        image: job.image,
        services: job.services,
        beforeScript: job.beforeScript,
        script: job.script,
        afterScript: job.afterScript,
        variables: yamlVariables,
        artifacts: job.artifacts,
        cache: job.cache,
        retry: job.retry,
        tags: job.tags,
        interruptible,
        hooks: job.hooks,
        position: job.position,
        pipeline: facts,
      };
      if (when === 'delayed' && startIn !== undefined) planned.startIn = parseDuration(startIn) ?? 0;
      if (job.timeout !== undefined) planned.timeout = job.timeout;
      if (job.environment !== undefined) planned.environment = job.environment;
      if (job.coverage !== undefined) planned.coverage = job.coverage;
      if (job.resourceGroup !== undefined) planned.resourceGroup = job.resourceGroup;
      if (job.release !== undefined) planned.release = job.release;
      if (instance.parallel) planned.parallel = instance.parallel;
      const entry: (typeof selected)[number] = { instance, planned };
      if (ruleNeeds) entry.ruleNeeds = ruleNeeds;
      selected.push(entry);
    }
  }
  if (issues.issues.length > before) return { ok: false, issues: issues.issues };

  const byBase = new Map<string, PlannedJob[]>();
  for (const { planned } of selected) {
    const list = byBase.get(planned.baseName) ?? [];
    list.push(planned);
    byBase.set(planned.baseName, list);
  }
  const byName = new Map(selected.map(({ planned }) => [planned.name, planned]));

  // needs
  for (const { instance, planned, ruleNeeds } of selected) {
    const needs = ruleNeeds ?? instance.job.needs;
    if (!needs) continue;
    const resolved: PlannedNeed[] = [];
    needs.forEach((need, index) => {
      let targets = byBase.get(need.job) ?? (byName.has(need.job) ? [byName.get(need.job)!] : []);
      if (need.matrix) {
        const wanted = need.matrix.flatMap((row) => {
          let partial: Record<string, string>[] = [{}];
          for (const [key, values] of Object.entries(row))
            partial = partial.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
          return partial;
        });
        targets = targets.filter((t) =>
          wanted.some((w) => t.parallel?.matrix && Object.entries(w).every(([k, v]) => t.parallel?.matrix?.[k] === v)),
        );
      }
      const path = [instance.job.name, 'needs', index];
      if (targets.length === 0) {
        if (need.optional) return;
        const declared = config.jobs.some((j) => j.name === need.job);
        issues.add(
          'PIPELINE_NEEDS_INVALID',
          path,
          declared
            ? `'${planned.name}' job needs '${need.job}' job, but '${need.job}' does not exist in the pipeline. This might be because of the only, except, or rules keywords. To need a job that sometimes does not exist in the pipeline, use needs:optional.`
            : `'${planned.name}' job needs '${need.job}' job, but '${need.job}' is not defined`,
        );
        return;
      }
      for (const target of targets) {
        if (target.stageIndex > planned.stageIndex) {
          issues.add(
            'PIPELINE_NEEDS_INVALID',
            path,
            `'${planned.name}' job needs '${target.name}' job, but '${target.name}' is in a later stage (${target.stage})`,
          );
          return;
        }
        if (target.name === planned.name) {
          issues.add('PIPELINE_NEEDS_INVALID', path, `'${planned.name}' job needs itself`);
          return;
        }
        resolved.push({ name: target.name, artifacts: need.artifacts, optional: need.optional });
      }
    });
    planned.needs = resolved;
  }
  // needs cycles (possible within one stage)
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (job: PlannedJob, chain: string[]): boolean => {
    if (done.has(job.name)) return true;
    if (visiting.has(job.name)) {
      issues.add(
        'PIPELINE_NEEDS_INVALID',
        [job.baseName, 'needs'],
        `circular dependency detected in \`needs\` (${[...chain, job.name].join(' → ')})`,
      );
      return false;
    }
    visiting.add(job.name);
    for (const need of job.needs ?? []) {
      const target = byName.get(need.name);
      if (target && !visit(target, [...chain, job.name])) return false;
    }
    visiting.delete(job.name);
    done.add(job.name);
    return true;
  };
  for (const { planned } of selected) if (!visit(planned, [])) break;

  // dependencies
  for (const { instance, planned } of selected) {
    const declared = instance.job.dependencies;
    if (declared) {
      const deps: string[] = [];
      declared.forEach((name, index) => {
        const targets = byBase.get(name) ?? (byName.has(name) ? [byName.get(name)!] : []);
        if (targets.length === 0) {
          issues.add(
            'PIPELINE_DEPENDENCIES_INVALID',
            [instance.job.name, 'dependencies', index],
            `undefined dependency: ${name}`,
          );
          return;
        }
        for (const target of targets) {
          const allowed = planned.needs
            ? planned.needs.some((n) => n.name === target.name)
            : target.stageIndex < planned.stageIndex;
          if (!allowed) {
            issues.add(
              'PIPELINE_DEPENDENCIES_INVALID',
              [instance.job.name, 'dependencies', index],
              planned.needs
                ? `dependency ${target.name} should be listed in needs as well`
                : `dependency ${target.name} is not defined in current or prior stages`,
            );
            return;
          }
          deps.push(target.name);
        }
      });
      planned.dependencies = deps;
    } else if (planned.needs) {
      planned.dependencies = planned.needs.filter((n) => n.artifacts).map((n) => n.name);
    } else {
      planned.dependencies = selected
        .map((s) => s.planned)
        .filter((other) => other.stageIndex < planned.stageIndex)
        .map((other) => other.name);
    }
  }
  if (issues.issues.length > before) return { ok: false, issues: issues.issues };

  const jobs = selected.map((s) => s.planned).sort((a, b) => a.stageIndex - b.stageIndex);
  if (jobs.length === 0 || jobs.every((j) => j.stage === '.pre' || j.stage === '.post')) {
    issues.add(
      'PIPELINE_NO_JOBS',
      [],
      config.jobs.length === 0
        ? 'the configuration defines no jobs'
        : 'no jobs left in the pipeline: the rules, only or except keywords left no job outside .pre and .post',
      'root',
    );
    return { ok: false, issues: issues.issues };
  }
  const pipeline: CompiledPipeline = {
    stages: config.stages,
    jobs,
    facts,
    predefinedVariables: input.predefinedVariables,
  };
  if (pipelineName !== undefined) pipeline.name = pipelineName;
  return { ok: true, pipeline };
}
