// The one legitimate fake: an executor whose stages are scripted, to test the runtime's own sequencing
// (stage order, timeouts, cancel, after_script, failure reasons) without a shell. Never a stand-in for a real
// executor's tests: real executors run the conformance suite against their real backend.
import type {
  Executor,
  ExecutorDirectories,
  JobContext,
  PrepareRequest,
  RunRequest,
  RunResult,
  StageHandlers,
  StageName,
} from '../executor/contract.js';
import { ANSI } from '../shell/writer.js';

export interface ScriptedStage {
  /** Output written before exiting (each array item is a separate write). */
  output?: string | readonly string[] | undefined;
  exitCode?: number | undefined;
  /** Time the stage takes (aborts end it early). */
  delayMs?: number | undefined;
  /** Thrown from `run` (as an executor failure would be). */
  error?: Error | undefined;
}

export type ScriptedBehaviour = ScriptedStage | ((request: RunRequest, job: JobContext) => ScriptedStage);

export interface ScriptedCall {
  method: 'prepare' | 'run' | 'cleanup';
  stage?: StageName | undefined;
  script?: string | undefined;
}

export interface ScriptedExecutorSettings {
  name?: string | undefined;
  shell?: string | undefined;
  directories?: Partial<ExecutorDirectories> | undefined;
  environment?: 'disposable' | 'shared' | undefined;
  /** Thrown by `prepare` (for the first N attempts when `prepareFailures` is set). */
  prepareError?: Error | undefined;
  prepareDelayMs?: number | undefined;
  /** Per stage. A stage without an entry emulates the job's commands (see {@link emulateCommands}). */
  stages?: Partial<Record<StageName, ScriptedBehaviour>> | undefined;
  stageHandlers?: StageHandlers | undefined;
  /** Shared call log (pass the same array to several executors to see retries). */
  calls?: ScriptedCall[] | undefined;
}

export interface ScriptedExecutor extends Executor {
  readonly calls: ScriptedCall[];
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Splits a command into words: single quotes literal, double quotes and bare words expand `$VAR`/`${VAR}`. */
function words(command: string, lookup: (name: string) => string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  const expand = (text: string) =>
    text.replace(/\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a?: string, b?: string) =>
      lookup(a ?? b ?? ''),
    );
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ' || c === '\t') {
      if (current !== undefined) out.push(current);
      current = undefined;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      current = (current ?? '') + command.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? command.length : end;
    } else if (c === '"') {
      const end = command.indexOf('"', i + 1);
      current = (current ?? '') + expand(command.slice(i + 1, end < 0 ? undefined : end));
      i = end < 0 ? command.length : end;
    } else {
      let end = i;
      while (end < command.length && !' \t\'"'.includes(command[end]!)) end++;
      current = (current ?? '') + expand(command.slice(i, end));
      i = end - 1;
    }
  }
  if (current !== undefined) out.push(current);
  return out;
}

/**
 * Emulates a tiny subset of sh for the job's own commands: `echo`, `printf '%s' …`/`printf '%s\n' …`,
 * `cat "$FILE_VAR"`, `sleep N`, `exit N`, `true`, `false`, separated by `;` or newlines. Enough for the
 * conformance suite's jobs; not a shell.
 */
export async function emulateCommands(
  commands: readonly string[],
  request: RunRequest,
  job: JobContext,
  notice: (text: string) => string = (text) => `${ANSI.boldGreen}${text}${ANSI.reset}\n`,
): Promise<RunResult> {
  const statusOverride = /export CI_JOB_STATUS=([a-z]+)/g;
  let status: string | undefined;
  for (const match of request.script.matchAll(statusOverride)) status = match[1];
  const lookup = (name: string) => {
    if (name === 'CI_JOB_STATUS' && status) return status;
    return job.variables.get(name) ?? '';
  };
  for (const command of commands) {
    const trimmed = command.trim();
    if (trimmed === '') {
      request.output.write('\n', 'stdout');
      continue;
    }
    request.output.write(
      notice(`$ ${trimmed.split('\n')[0]}${trimmed.includes('\n') ? ' # collapsed multi-line command' : ''}`),
      'stdout',
    );
    for (const part of trimmed.split(/[;\n]/)) {
      const [program, ...args] = words(part.trim(), lookup);
      switch (program) {
        case undefined:
        case 'true':
          break;
        case 'false':
          return { exitCode: 1 };
        case 'echo':
          request.output.write(`${args.join(' ')}\n`, 'stdout');
          break;
        case 'printf': {
          const [format = '', ...rest] = args;
          const text = format.replace('%s', rest.join('')).replace(/\\n/g, '\n');
          request.output.write(text, 'stdout');
          break;
        }
        case 'cat': {
          for (const path of args) {
            const variable = job.variables.list.findLast(
              (entry) => entry.file && job.variables.get(entry.key) === path,
            );
            if (!variable) {
              request.output.write(`cat: ${path}: No such file or directory\n`, 'stderr');
              return { exitCode: 1 };
            }
            request.output.write(variable.value, 'stdout');
          }
          break;
        }
        case 'sleep':
          if (!(await sleep(Number(args[0] ?? 0) * 1000, request.signal))) return { exitCode: 143 };
          break;
        case 'exit':
          return { exitCode: Number(args[0] ?? 0) };
        default:
          request.output.write(`sh: ${program}: not found\n`, 'stderr');
          return { exitCode: 127 };
      }
    }
  }
  return { exitCode: 0 };
}

/** Creates a scripted executor for one job. */
export function createScriptedExecutor(settings: ScriptedExecutorSettings = {}): ScriptedExecutor {
  const calls = settings.calls ?? [];
  let job: JobContext | undefined;
  return {
    name: settings.name ?? 'scripted',
    shell: settings.shell ?? 'bash',
    environment: settings.environment ?? 'disposable',
    directories: {
      buildsDir: '/builds',
      cacheDir: '/cache',
      sharedBuildsDir: false,
      customBuildDir: true,
      ...settings.directories,
    },
    stages: settings.stageHandlers,
    calls,

    async prepare(request: PrepareRequest): Promise<void> {
      calls.push({ method: 'prepare' });
      request.log.println(`Using scripted executor...`);
      if (settings.prepareDelayMs) await sleep(settings.prepareDelayMs, request.signal);
      if (request.signal.aborted) throw request.signal.reason;
      if (settings.prepareError) throw settings.prepareError;
      job = request.job;
    },

    async run(request: RunRequest): Promise<RunResult> {
      calls.push({ method: 'run', stage: request.stage, script: request.script });
      if (!job) throw new Error('scripted executor: run before prepare');
      const behaviour = settings.stages?.[request.stage];
      if (behaviour === undefined) {
        const steps = job.payload.steps ?? [];
        const name = request.stage === 'after_script' ? 'after_script' : request.stage.replace(/^step_/, '');
        const step =
          request.stage.startsWith('step_') || request.stage === 'after_script'
            ? steps.find((entry) => entry.name.toLowerCase() === name)
            : undefined;
        return emulateCommands(step?.script ?? [], request, job);
      }
      const stage = typeof behaviour === 'function' ? behaviour(request, job) : behaviour;
      const outputs = typeof stage.output === 'string' ? [stage.output] : (stage.output ?? []);
      for (const chunk of outputs) request.output.write(chunk, 'stdout');
      if (stage.delayMs && !(await sleep(stage.delayMs, request.signal))) return { exitCode: 143 };
      if (stage.error) throw stage.error;
      return { exitCode: stage.exitCode ?? 0 };
    },

    async cleanup(): Promise<void> {
      calls.push({ method: 'cleanup' });
    },
  };
}
