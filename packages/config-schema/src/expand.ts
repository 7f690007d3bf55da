import type { Config } from './schema/global.js';

/** Go's `os.Expand` for `$VAR` and `${VAR}`: an unset variable becomes the empty string. */
export function expandVariables(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(
    /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g,
    (_all, braced: string | undefined, bare: string | undefined) => {
      return env[braced ?? bare ?? ''] ?? '';
    },
  );
}

/**
 * A copy of the config with `url` and `token` of every runner expanded from `env`, as GitLab Runner does when it
 * loads the file (only those two keys). The CLI calls it with the process environment; the parser never reads the environment.
 */
export function expandCredentials<T extends Config>(config: T, env: Readonly<Record<string, string | undefined>>): T {
  if (!config.runners) return config;
  return {
    ...config,
    runners: config.runners.map((runner) => ({
      ...runner,
      ...(runner.url === undefined ? {} : { url: expandVariables(runner.url, env) }),
      ...(runner.token === undefined ? {} : { token: expandVariables(runner.token, env) }),
    })),
  };
}
