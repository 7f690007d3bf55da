import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { type ComponentName, SCRIPT_NAME, type TestComponentsState } from './state.js';

export { COMPONENT_NAMES, type ComponentName, type TestComponentsState } from './state.js';

/** Raised when a test needs a component that `scripts/test-components up` has not provided. */
export class MissingComponentError extends Error {
  readonly component: ComponentName;
  constructor(component: ComponentName, detail: string) {
    super(
      `test component "${component}" is not available (${detail}); start it with: scripts/test-components up ${SCRIPT_NAME[component]}`,
    );
    this.name = 'MissingComponentError';
    this.component = component;
  }
}

/** The repository root: the nearest ancestor of this file holding pnpm-workspace.yaml. */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('testkit: cannot find the repository root (pnpm-workspace.yaml)');
    dir = parent;
  }
  return dir;
}

export function statePath(): string {
  return resolve(repositoryRoot(), '.test-components', 'state.json');
}

/** Reads the state file as it is now; absent components are absent keys. */
export function readState(): Partial<TestComponentsState> {
  const path = statePath();
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Partial<TestComponentsState>;
}

function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Returns a component's connection details, or throws {@link MissingComponentError} naming it.
 * Use inside tests (or beforeAll) that cannot run without it.
 */
export function requireComponent<K extends ComponentName>(name: K): TestComponentsState[K] {
  const value = readState()[name];
  if (value === undefined) throw new MissingComponentError(name, `no "${name}" entry in ${statePath()}`);
  return value as TestComponentsState[K];
}

/**
 * Returns the component, or `undefined` when it is absent and we are not in CI (after a loud warning).
 * Under CI=true an absent component throws: CI has every component, so absence there is a failure.
 */
export function optionalComponent<K extends ComponentName>(name: K): TestComponentsState[K] | undefined {
  try {
    return requireComponent(name);
  } catch (error) {
    if (inCi() || !(error instanceof MissingComponentError)) throw error;
    process.stderr.write(`\n*** SKIPPING tests that need ${name}: ${error.message} ***\n\n`);
    return undefined;
  }
}

/**
 * `describe` for a block that needs a real component. The callback gets the component's details.
 * Outside CI an absent component skips the block loudly; under CI=true it fails the file.
 */
export function describeWithComponent<K extends ComponentName>(
  name: K,
  title: string,
  body: (component: TestComponentsState[K]) => void,
): void {
  const component = optionalComponent(name);
  if (component === undefined) {
    describe.skip(`${title} [needs ${name}: not running]`, () => {});
    return;
  }
  describe(title, () => body(component));
}
