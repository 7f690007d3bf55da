import { type ExpandableVariable, expandServerValue } from '@runnerkit/job-spec';
import type { PayloadVariable } from './predefined.js';

/** Names a value refers to (`$NAME`, `${NAME}`, `%NAME%`); `$$` is an escaped dollar, not a reference. */
const REFERENCE = /\$\$|\$([a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}|%([a-zA-Z_][a-zA-Z0-9_]*)%/g;

function references(value: string): string[] {
  const names: string[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    const name = match[1] ?? match[2] ?? match[3];
    if (name !== undefined) names.push(name);
  }
  return names;
}

/** A map whose `get` answers through a function: expandServerValue only ever calls `get`. */
class LookupMap extends Map<string, ExpandableVariable> {
  constructor(private readonly lookup: (name: string) => ExpandableVariable | undefined) {
    super();
  }

  override get(name: string): ExpandableVariable | undefined {
    return this.lookup(name);
  }
}

/**
 * Expands references between the payload's variables as GitLab's server does before it sends a job
 * (api-spec §5.5; Rails' `sort_and_expand_all(keep_undefined: true, expand_file_refs: false, expand_raw_refs:
 * false)`): every variable that is not raw gets its `$NAME`/`${NAME}`/`%NAME%` references replaced by the
 * (already expanded) value of the last definition of that name. Left as written for the runner: raw variables
 * (`expand: false`) and references to them, references to file variables, references to unknown names, and `$$`.
 * A variable that refers to its own name reads the definition before it (`PATH: "$PATH:/extra"`). When references
 * form a cycle, GitLab expands nothing, and neither does this. Order, flags and duplicates are kept.
 */
export function expandPayloadVariables(variables: readonly PayloadVariable[]): PayloadVariable[] {
  const last = new Map<string, number>();
  const previous: (number | undefined)[] = [];
  variables.forEach((v, i) => {
    previous.push(last.get(v.key));
    last.set(v.key, i);
  });
  const expanded = new Map<number, string>();
  const visiting = new Set<number>();
  let cyclic = false;

  const definitionFor = (name: string, from: number): number | undefined =>
    name === variables[from]?.key ? previous[from] : last.get(name);

  const expandedValue = (i: number): string => {
    const done = expanded.get(i);
    if (done !== undefined) return done;
    const v = variables[i] as PayloadVariable;
    if (v.raw || references(v.value).length === 0) {
      expanded.set(i, v.value);
      return v.value;
    }
    if (visiting.has(i)) {
      cyclic = true;
      return v.value;
    }
    visiting.add(i);
    const lookup = new LookupMap((name) => {
      const j = definitionFor(name, i);
      if (j === undefined) return undefined;
      const target = variables[j] as PayloadVariable;
      // Raw and file variables are left as references by expandServerValue; never expand what it will not use.
      const value = target.raw || target.file ? target.value : expandedValue(j);
      return { key: target.key, value, raw: target.raw ?? false, file: target.file ?? false };
    });
    const result = expandServerValue(v.value, lookup, { keepUndefined: true, expandFileReferences: false });
    visiting.delete(i);
    expanded.set(i, result);
    return result;
  };

  const values = variables.map((_, i) => expandedValue(i));
  if (cyclic) return variables.map((v) => ({ ...v }));
  return variables.map((v, i) => (values[i] === v.value ? { ...v } : { ...v, value: values[i] as string }));
}
