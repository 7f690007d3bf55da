import { describe, expect, it } from 'vitest';
import { JobVariables } from '../variables/variables.js';
import { cleanupScript, type GetSourcesOptions, getSourcesScript, stepScript } from './stages.js';
import { shellDetectionScript } from './writer.js';

const variables = new JobVariables(
  [
    { key: 'CI_PROJECT_DIR', value: '/builds/group/project' },
    { key: 'TOKEN', value: 's3cr3t', masked: true },
    { key: 'KUBECONFIG', value: 'apiVersion: v1\n', file: true },
  ],
  '/builds/group/project.tmp',
);
const directories = { projectDir: '/builds/group/project', tmpDir: '/builds/group/project.tmp' };
/** The eval'd body, unquoted for reading: the envelope is checked by the fixture tests. */
function body(script: string): string {
  const match = /eval \$'([\s\S]*)'\) < \/dev\/null\nexit 0\n$/.exec(script);
  if (!match) return script;
  const names: Record<string, string> = { n: '\n', r: '\\r', "'": "'", '\\': '\\', x1b: '\\e' };
  return match[1]!.replace(/\\(x1b|n|r|'|\\)/g, (_, name: string) => names[name]!);
}

const sources: GetSourcesOptions = {
  strategy: 'clone',
  repoUrl: 'https://gitlab.example.com/group/project.git',
  authenticatedUrl: 'https://gitlab-ci-token:job-token@gitlab.example.com/group/project.git',
  sha: '1a2b3c4d5e6f',
  ref: 'main',
  refspecs: ['+refs/pipelines/7:refs/pipelines/7', '+refs/heads/main:refs/remotes/origin/main'],
  depth: 20,
  checkout: true,
  cleanFlags: ['-ffdx'],
  fetchFlags: ['--prune', '--quiet'],
  submoduleStrategy: 'none',
  preCloneScripts: ['echo config pre', 'echo job pre'],
  postCloneScripts: ['echo job post'],
  userAgent: 'runnerkit 1.0.0 linux/amd64',
  skipLfsSmudge: true,
};

describe('golden scripts', () => {
  it('get_sources, clone with depth and hooks', () => {
    expect(
      body(getSourcesScript({ variables, directories, style: { shell: 'bash' } }, sources)),
    ).toMatchInlineSnapshot(`
      "export CI_PROJECT_DIR=/builds/group/project
      export TOKEN=s3cr3t
      mkdir -p "/builds/group/project.tmp"
      printf '%s' $'apiVersion: v1\\n' > "/builds/group/project.tmp/KUBECONFIG"
      export KUBECONFIG="/builds/group/project.tmp/KUBECONFIG"
      export GITLAB_ENV=/builds/group/project.tmp/gitlab_runner_env
      mkdir -p "/builds/group/project.tmp"
      touch "/builds/group/project.tmp/gitlab_runner_env"
      while read -r line; do export "$line"; done < "/builds/group/project.tmp/gitlab_runner_env"
      export GIT_TERMINAL_PROMPT=0
      export GCM_INTERACTIVE=Never
      echo $'\\x1b[32;1m$ echo config pre\\x1b[0;m'
      echo config pre
      echo $'\\x1b[32;1m$ echo job pre\\x1b[0;m'
      echo job pre
      export GIT_LFS_SKIP_SMUDGE=1
      rm -f /builds/group/project/.git/index.lock
      rm -f /builds/group/project/.git/shallow.lock
      rm -f /builds/group/project/.git/HEAD.lock
      rm -f /builds/group/project/.git/hooks/post-checkout
      rm -f /builds/group/project/.git/config.lock
      if [ -d /builds/group/project/.git/refs ]; then find /builds/group/project/.git/refs -type f -name '*.lock' -exec rm -f {} +; fi
      if [ -d /builds/group/project ]; then chmod -R u+rwX /builds/group/project; fi
      rm -r -f /builds/group/project
      echo $'\\x1b[32;1mFetching changes with git depth set to 20...\\x1b[0;m'
      mkdir -p /builds/group/project.tmp/git-template
      rm -f /builds/group/project.tmp/.gitlab-runner.ext.conf
      touch /builds/group/project.tmp/.gitlab-runner.ext.conf
      git config -f /builds/group/project.tmp/.gitlab-runner.ext.conf $'url.https://gitlab-ci-token:job-token@gitlab.example.com/group/project.git.insteadOf' $'https://gitlab.example.com/group/project.git'
      git config -f /builds/group/project.tmp/git-template/config init.defaultBranch none
      git config -f /builds/group/project.tmp/git-template/config fetch.recurseSubmodules false
      git config -f /builds/group/project.tmp/git-template/config credential.interactive never
      git config -f /builds/group/project.tmp/git-template/config gc.autoDetach false
      git config -f /builds/group/project.tmp/git-template/config include.path /builds/group/project.tmp/.gitlab-runner.ext.conf
      git init /builds/group/project --template /builds/group/project.tmp/git-template
      cd /builds/group/project
      if git remote add origin $'https://gitlab.example.com/group/project.git' >/dev/null 2>&1; then
        echo $'\\x1b[32;1mCreated fresh repository.\\x1b[0;m'
      else
        git remote set-url origin $'https://gitlab.example.com/group/project.git'
        git config include.path /builds/group/project.tmp/.gitlab-runner.ext.conf
      fi
      git -c $'http.userAgent=runnerkit 1.0.0 linux/amd64' fetch origin --no-recurse-submodules $'+refs/pipelines/7:refs/pipelines/7' $'+refs/heads/main:refs/remotes/origin/main' --depth 20 --prune --quiet
      echo $'\\x1b[32;1mChecking out 1a2b3c4d as detached HEAD (ref is main)...\\x1b[0;m'
      git -c submodule.recurse=false checkout -f -q 1a2b3c4d5e6f
      git clean -ffdx
      if git lfs version >/dev/null 2>&1; then
        git lfs pull
      fi
      echo $'\\x1b[32;1mSkipping Git submodules setup\\x1b[0;m'
      echo $'\\x1b[32;1m$ echo job post\\x1b[0;m'
      echo job post
      "
    `);
  });

  it('get_sources, strategy none', () => {
    expect(
      body(getSourcesScript({ variables, directories, style: { shell: 'sh' } }, { ...sources, strategy: 'none' })),
    ).toMatchInlineSnapshot(`
      "export CI_PROJECT_DIR=/builds/group/project
      export TOKEN=s3cr3t
      mkdir -p "/builds/group/project.tmp"
      printf '%s' $'apiVersion: v1\\n' > "/builds/group/project.tmp/KUBECONFIG"
      export KUBECONFIG="/builds/group/project.tmp/KUBECONFIG"
      export GITLAB_ENV=/builds/group/project.tmp/gitlab_runner_env
      mkdir -p "/builds/group/project.tmp"
      touch "/builds/group/project.tmp/gitlab_runner_env"
      while read -r line; do export "$line"; done < "/builds/group/project.tmp/gitlab_runner_env"
      export GIT_TERMINAL_PROMPT=0
      export GCM_INTERACTIVE=Never
      echo $'\\x1b[32;1mSkipping Git repository setup\\x1b[0;m'
      mkdir -p /builds/group/project
      "
    `);
  });

  it('step_script with FF_SCRIPT_SECTIONS and the exit-code check', () => {
    expect(
      body(
        stepScript(
          {
            variables: new JobVariables([], directories.tmpDir),
            directories,
            style: { shell: 'bash', scriptSections: true, exitCodeCheck: true },
          },
          ['echo one', 'for i in 1 2; do\n  echo $i\ndone'],
        ),
      ),
    ).toMatchInlineSnapshot(`
      "export GITLAB_ENV=/builds/group/project.tmp/gitlab_runner_env
      mkdir -p "/builds/group/project.tmp"
      touch "/builds/group/project.tmp/gitlab_runner_env"
      while read -r line; do export "$line"; done < "/builds/group/project.tmp/gitlab_runner_env"
      cd /builds/group/project
      echo $'\\x1b[32;1m$ echo one\\x1b[0;m'
      echo one
      _runner_exit_code=$?; if [ $_runner_exit_code -ne 0 ]; then exit $_runner_exit_code; fi
      printf '%b\\n' section_start:$(awk 'BEGIN{srand(); print srand()}'):section_script_step_1[hide_duration=true,collapsed=true]\\r\\e[0K$'\\x1b[32;1m$ for i in 1 2; do\\n  echo $i\\ndone\\x1b[0;m'
      for i in 1 2; do
        echo $i
      done
      _runner_exit_code=$?; if [ $_runner_exit_code -ne 0 ]; then exit $_runner_exit_code; fi
      printf '%b\\n' section_end:$(awk 'BEGIN{srand(); print srand()}'):section_script_step_1\\r\\e[0K
      "
    `);
  });

  it('step_script with POSIX escapes (dash) keeps the envelope and quotes with double quotes', () => {
    expect(
      stepScript(
        {
          variables: new JobVariables([{ key: 'A', value: 'x y' }], directories.tmpDir),
          directories,
          style: { shell: 'sh', posixEscapes: true },
        },
        ['echo "$A"'],
      ),
    ).toMatchInlineSnapshot(`
      "#!/usr/bin/env sh

      trap 'exit 1' TERM

      case "$(set -o)" in *"pipefail"*) set -o pipefail;; esac; set -o errexit
      set +o noclobber
      (trap 'exit 1' TERM; eval "export A=\\"x y\\"
      export GITLAB_ENV=/builds/group/project.tmp/gitlab_runner_env
      mkdir -p \\"/builds/group/project.tmp\\"
      touch \\"/builds/group/project.tmp/gitlab_runner_env\\"
      while read -r line; do export \\"\\$line\\"; done < \\"/builds/group/project.tmp/gitlab_runner_env\\"
      cd /builds/group/project
      echo \\"[32;1m\\\\\\$ echo \\\\\\"\\\\\\$A\\\\\\"[0;m\\"
      echo \\"\\$A\\"
      ") < /dev/null
      exit 0
      "
    `);
  });

  it('cleanup_file_variables exports paths only and removes the files', () => {
    expect(body(cleanupScript({ variables, directories, style: { shell: 'bash' } }))).toMatchInlineSnapshot(`
      "export CI_PROJECT_DIR=/builds/group/project
      export TOKEN=s3cr3t
      export KUBECONFIG="/builds/group/project.tmp/KUBECONFIG"
      export GITLAB_ENV=/builds/group/project.tmp/gitlab_runner_env
      mkdir -p "/builds/group/project.tmp"
      touch "/builds/group/project.tmp/gitlab_runner_env"
      while read -r line; do export "$line"; done < "/builds/group/project.tmp/gitlab_runner_env"
      rm "-f" "/builds/group/project.tmp/gitlab_runner_env"
      rm "-f" "/builds/group/project.tmp/masking.db"
      rm "-f" "/builds/group/project.tmp/.gitlab-runner.ext.conf"
      rm "-f" "/builds/group/project.tmp/.glr.gconf"
      rm "-f" "/builds/group/project.tmp/KUBECONFIG"
      "
    `);
  });

  it('the shell-detection command', () => {
    expect(shellDetectionScript()).toMatchInlineSnapshot(`
      "if [ -x /usr/local/bin/bash ]; then
      	exec /usr/local/bin/bash 
      elif [ -x /usr/bin/bash ]; then
      	exec /usr/bin/bash 
      elif [ -x /bin/bash ]; then
      	exec /bin/bash 
      elif [ -x /usr/local/bin/sh ]; then
      	exec /usr/local/bin/sh 
      elif [ -x /usr/bin/sh ]; then
      	exec /usr/bin/sh 
      elif [ -x /bin/sh ]; then
      	exec /bin/sh 
      elif [ -x /busybox/sh ]; then
      	exec /busybox/sh 
      else
      	echo shell not found
      	exit 1
      fi

      "
    `);
  });
});
