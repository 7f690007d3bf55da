import { expandRunnerValue } from '@runnerkit/job-spec';

/** One entry of the job's variable list (job-execution §4.2). `internal` marks runner-added variables. */
export interface JobVariable {
  readonly key: string;
  readonly value: string;
  readonly public?: boolean | undefined;
  readonly masked?: boolean | undefined;
  /** The value is written to `<tmpDir>/<key>` and the variable's value becomes that path. */
  readonly file?: boolean | undefined;
  /** Never expanded. */
  readonly raw?: boolean | undefined;
  readonly internal?: boolean | undefined;
}

/**
 * The ordered variable list of a job. When a key occurs more than once the last occurrence wins (lookups and
 * exports in order give the same answer). File variables hold their content; {@link JobVariables.get} and
 * expansion give their path.
 */
export class JobVariables {
  readonly list: readonly JobVariable[];
  /** Directory file variables are written to (`RUNNER_TEMP_PROJECT_DIR`). */
  readonly tmpDir: string;
  readonly #last = new Map<string, JobVariable>();

  constructor(list: readonly JobVariable[], tmpDir: string) {
    this.list = list;
    this.tmpDir = tmpDir;
    for (const variable of list) this.#last.set(variable.key, variable);
  }

  /** The last definition of `key`, if any. */
  entry(key: string): JobVariable | undefined {
    return this.#last.get(key);
  }

  /** The value a script sees: a file variable's path, otherwise the value. */
  get(key: string): string | undefined {
    const variable = this.#last.get(key);
    if (variable === undefined) return undefined;
    return variable.file ? filePath(this.tmpDir, variable.key) : variable.value;
  }

  /** The value settings read: a file variable's content. */
  content(key: string): string | undefined {
    return this.#last.get(key)?.value;
  }

  /** Expands `$NAME`/`${NAME}` against this list (one level, unknown → empty). */
  expand(text: string): string {
    return expandRunnerValue(text, (name) => this.get(name));
  }

  /**
   * Expands every non-raw value once against the unexpanded list (so `B=$A`, `C=$B` gives `C=$A` literally).
   */
  expanded(): JobVariables {
    return new JobVariables(
      this.list.map((variable) => (variable.raw ? variable : { ...variable, value: this.expand(variable.value) })),
      this.tmpDir,
    );
  }

  /** A copy with `key` appended (so it wins). */
  with(variable: JobVariable): JobVariables {
    return new JobVariables([...this.list, variable], this.tmpDir);
  }

  /** Values to hide in the trace: every masked variable's value (trimmed, non-empty). */
  maskedValues(): string[] {
    const values = new Set<string>();
    for (const variable of this.list) {
      if (!variable.masked) continue;
      const value = variable.value.trim();
      if (value !== '') values.add(value);
    }
    return [...values];
  }
}

export function filePath(tmpDir: string, key: string): string {
  return `${tmpDir}/${key}`;
}
