// Stage bodies (job-execution §5.6), as pure functions of the resolved job: snapshot-tested.
import type { JobDirectories } from '../executor/contract.js';
import { filePath, type JobVariables } from '../variables/variables.js';
import { type ScriptStyle, ScriptWriter } from './writer.js';

export interface ScriptJob {
  readonly variables: JobVariables;
  readonly directories: Pick<JobDirectories, 'projectDir' | 'tmpDir'>;
  readonly style: ScriptStyle;
}

/** `"<path>"` as GitLab's `%q` paths: plain double quotes, `"` and `\` escaped (paths hold no `$`/`` ` ``). */
function dq(path: string): string {
  return `"${path.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The variable exports every job-environment stage starts with (§5.4). */
export function writeExports(w: ScriptWriter, job: ScriptJob, pathsOnly = false): void {
  const tmp = job.directories.tmpDir;
  for (const variable of job.variables.list) {
    if (variable.file) {
      const path = filePath(tmp, variable.key);
      if (!pathsOnly) {
        w.line(`mkdir -p ${dq(tmp)}`);
        w.line(`printf '%s' ${w.q(variable.value)} > ${dq(path)}`);
      }
      w.line(`export ${w.q(variable.key)}=${dq(path)}`);
    } else {
      w.line(`export ${w.q(variable.key)}=${w.q(variable.value)}`);
    }
  }
  const env = `${tmp}/gitlab_runner_env`;
  w.line(`export GITLAB_ENV=${w.q(env)}`);
  w.line(`mkdir -p ${dq(tmp)}`);
  w.line(`touch ${dq(env)}`);
  w.line(`while read -r line; do export "$line"; done < ${dq(env)}`);
}

function cd(w: ScriptWriter, dir: string): void {
  w.line(`cd ${w.q(dir)}`);
}

export function prepareScript(job: ScriptJob, runnerHostname?: string): string {
  const w = new ScriptWriter(job.style);
  const host = runnerHostname ? ` via ${runnerHostname.replace(/[\\"$`]/g, (c) => `\\${c}`)}` : '';
  w.line(`echo "Running on $(hostname)${host}..."`);
  w.line(`rm "-f" ${dq(`${job.directories.tmpDir}/gitlab_runner_env`)}`);
  w.line(`rm "-f" ${dq(`${job.directories.tmpDir}/masking.db`)}`);
  return w.finish();
}

export interface StepScriptOptions {
  /** `[[runners]] pre_build_script`, run as one command item before the step's commands. */
  preBuildScript?: string | undefined;
  /** `[[runners]] post_build_script`, after the commands (only reached when they succeeded). */
  postBuildScript?: string | undefined;
  /** Prefix of script-section ids (`script_step`). */
  sectionPrefix?: string | undefined;
}

export function stepScript(job: ScriptJob, commands: readonly string[], options: StepScriptOptions = {}): string {
  const w = new ScriptWriter(job.style);
  writeExports(w, job);
  cd(w, job.directories.projectDir);
  if (options.preBuildScript?.trim()) w.userCommand(options.preBuildScript, 'pre_build_script_0');
  w.userCommands(commands, options.sectionPrefix ?? 'script_step');
  if (options.postBuildScript?.trim()) w.userCommand(options.postBuildScript, 'post_build_script_0');
  return w.finish();
}

export function afterScript(job: ScriptJob, commands: readonly string[]): string {
  const w = new ScriptWriter(job.style);
  writeExports(w, job);
  cd(w, job.directories.projectDir);
  w.notice('Running after script...');
  w.userCommands(commands, 'after_script_step');
  return w.finish();
}

export function cleanupScript(job: ScriptJob): string {
  const w = new ScriptWriter(job.style);
  writeExports(w, job, true);
  const tmp = job.directories.tmpDir;
  for (const name of ['gitlab_runner_env', 'masking.db', '.gitlab-runner.ext.conf', '.glr.gconf'])
    w.line(`rm "-f" ${dq(`${tmp}/${name}`)}`);
  const seen = new Set<string>();
  for (const variable of job.variables.list) {
    if (!variable.file || seen.has(variable.key)) continue;
    seen.add(variable.key);
    w.line(`rm "-f" ${dq(filePath(tmp, variable.key))}`);
  }
  return w.finish();
}

export type GitStrategy = 'clone' | 'fetch' | 'none' | 'empty';
export type SubmoduleStrategy = 'none' | 'normal' | 'recursive';

export interface GetSourcesOptions {
  strategy: GitStrategy;
  /** Repository URL without credentials (what `origin` is set to and what git prints). */
  repoUrl: string;
  /** The same URL with credentials: only written to the git config include, never to `.git/config` or the trace. */
  authenticatedUrl?: string | undefined;
  sha: string;
  ref: string;
  refspecs: readonly string[];
  depth: number;
  checkout: boolean;
  /** `GIT_CLEAN_FLAGS` split on whitespace; empty = no clean. */
  cleanFlags: readonly string[];
  /** `GIT_FETCH_EXTRA_FLAGS` split on whitespace. */
  fetchFlags: readonly string[];
  submoduleStrategy: SubmoduleStrategy;
  /** `sha256` repositories get `--object-format sha256`. */
  objectFormat?: string | undefined;
  /** Config `pre_get_sources_script` then the payload hook. */
  preCloneScripts: readonly string[];
  /** Payload hook then config `post_get_sources_script`. */
  postCloneScripts: readonly string[];
  /** `http.userAgent` for git (`runnerkit 0.0.0 linux/amd64`). */
  userAgent: string;
  /** Set `GIT_LFS_SKIP_SMUDGE=1` (unless the job set it). */
  skipLfsSmudge: boolean;
}

/** The get_sources stage as a script that runs git in the job environment (shell and SSH executors). */
export function getSourcesScript(job: ScriptJob, options: GetSourcesOptions): string {
  const w = new ScriptWriter(job.style);
  const dir = job.directories.projectDir;
  const tmp = job.directories.tmpDir;
  writeExports(w, job);
  w.line('export GIT_TERMINAL_PROMPT=0');
  w.line('export GCM_INTERACTIVE=Never');
  const noGit = options.strategy === 'none' || options.strategy === 'empty';
  if (!noGit) w.userCommands(options.preCloneScripts, 'pre_clone_script');

  if (options.strategy === 'none') {
    w.notice('Skipping Git repository setup');
    w.line(`mkdir -p ${w.q(dir)}`);
  } else if (options.strategy === 'empty') {
    w.notice('Skipping Git repository setup and creating an empty build directory');
    w.line(`rm -r -f ${w.q(dir)}`);
    w.line(`mkdir -p ${w.q(dir)}`);
  } else {
    if (options.skipLfsSmudge) w.line('export GIT_LFS_SKIP_SMUDGE=1');
    for (const lock of ['index.lock', 'shallow.lock', 'HEAD.lock', 'hooks/post-checkout', 'config.lock'])
      w.line(`rm -f ${w.q(`${dir}/.git/${lock}`)}`);
    w.line(
      `if [ -d ${w.q(`${dir}/.git/refs`)} ]; then find ${w.q(`${dir}/.git/refs`)} -type f -name '*.lock' -exec rm -f {} +; fi`,
    );
    if (options.strategy === 'clone') {
      w.line(`if [ -d ${w.q(dir)} ]; then chmod -R u+rwX ${w.q(dir)}; fi`);
      w.line(`rm -r -f ${w.q(dir)}`);
    }
    w.notice(options.depth > 0 ? `Fetching changes with git depth set to ${options.depth}...` : 'Fetching changes...');
    const template = `${tmp}/git-template`;
    const ext = `${tmp}/.gitlab-runner.ext.conf`;
    w.line(`mkdir -p ${w.q(template)}`);
    w.line(`rm -f ${w.q(ext)}`);
    w.line(`touch ${w.q(ext)}`);
    if (options.authenticatedUrl && options.authenticatedUrl !== options.repoUrl)
      w.line(`git config -f ${w.q(ext)} ${w.q(`url.${options.authenticatedUrl}.insteadOf`)} ${w.q(options.repoUrl)}`);
    for (const [key, value] of [
      ['init.defaultBranch', 'none'],
      ['fetch.recurseSubmodules', 'false'],
      ['credential.interactive', 'never'],
      ['gc.autoDetach', 'false'],
      ['include.path', ext],
    ] as const)
      w.line(`git config -f ${w.q(`${template}/config`)} ${key} ${w.q(value)}`);
    const objectFormat = options.objectFormat === 'sha256' ? ' --object-format sha256' : '';
    w.line(`git init ${w.q(dir)} --template ${w.q(template)}${objectFormat}`);
    cd(w, dir);
    w.ifThen(
      `git remote add origin ${w.q(options.repoUrl)} >/dev/null 2>&1`,
      (b) => b.notice('Created fresh repository.'),
      (b) => {
        b.line(`git remote set-url origin ${w.q(options.repoUrl)}`);
        b.line(`git config include.path ${w.q(ext)}`);
      },
    );
    const fetch = [
      'git',
      '-c',
      w.q(`http.userAgent=${options.userAgent}`),
      'fetch',
      'origin',
      '--no-recurse-submodules',
      ...options.refspecs.map((refspec) => w.q(refspec)),
      ...(options.depth > 0 ? ['--depth', String(options.depth)] : []),
      ...options.fetchFlags.map((flag) => w.q(flag)),
    ].join(' ');
    if (options.depth > 0) w.line(fetch);
    else
      w.ifThen(
        '[ -f .git/shallow ]',
        (b) => b.line(`${fetch} --unshallow`),
        (b) => b.line(fetch),
      );
    if (options.checkout) {
      w.notice(`Checking out ${options.sha.slice(0, 8)} as detached HEAD (ref is ${options.ref})...`);
      w.line(`git -c submodule.recurse=false checkout -f -q ${w.q(options.sha)}`);
      if (options.cleanFlags.length > 0) w.line(`git clean ${options.cleanFlags.map((flag) => w.q(flag)).join(' ')}`);
      w.ifThen('git lfs version >/dev/null 2>&1', (b) => b.line('git lfs pull'));
    } else {
      w.notice('Skipping Git checkout');
    }
    if (options.submoduleStrategy === 'none') {
      w.notice('Skipping Git submodules setup');
    } else {
      const recursive = options.submoduleStrategy === 'recursive' ? ' --recursive' : '';
      w.notice(`Updating/initializing submodules${recursive ? ' recursively' : ''}...`);
      w.line('git submodule init');
      w.line(`git submodule sync${recursive}`);
      w.line(`git submodule update --init${recursive}`);
    }
  }
  if (!noGit) w.userCommands(options.postCloneScripts, 'post_clone_script');
  return w.finish();
}
