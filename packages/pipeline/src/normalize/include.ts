import type { PipelineIssue } from '../errors.js';
import { type ParsedFile, parseCiYaml } from '../parse/parse-yaml.js';
import picomatch from 'picomatch';
import { deepMerge, isPlainObject, type Plain } from './merge.js';

export type ReadFile = (path: string) => string | Promise<string>;
export type ListFiles = () => readonly string[] | Promise<readonly string[]>;

export interface LoadedConfig {
  config: Plain;
  /** The file that defines each top-level key last (the main file wins over includes). */
  origin: Map<string, ParsedFile>;
  main: ParsedFile;
}

const MAX_INCLUDES = 150;

/** Parses the main file and merges every `include:local` into it, as GitLab does (includes first, main file on top). */
export async function loadConfig(
  source: string,
  fileName: string,
  options: { readFile?: ReadFile; listFiles?: ListFiles },
): Promise<{ ok: true; loaded: LoadedConfig } | { ok: false; issues: PipelineIssue[] }> {
  const issues: PipelineIssue[] = [];
  const origin = new Map<string, ParsedFile>();
  let count = 0;
  let fileList: readonly string[] | undefined;

  const load = async (parsed: ParsedFile, depth: number): Promise<Plain> => {
    const value = parsed.value ?? {};
    if (!isPlainObject(value)) {
      issues.push({
        code: 'PIPELINE_KEY_INVALID',
        file: parsed.file,
        line: 1,
        path: 'root',
        message: 'config should be a hash',
      });
      return {};
    }
    let merged: Plain = {};
    const includeLine = parsed.locate(['include'])?.line;
    const problem = (message: string, code: PipelineIssue['code'] = 'PIPELINE_KEY_INVALID') =>
      issues.push({ code, file: parsed.file, line: includeLine, path: 'include', message });
    if ('include' in value) {
      const entries = Array.isArray(value.include) ? value.include : [value.include];
      for (const entry of entries) {
        const spec =
          typeof entry === 'string' ? (/^https?:\/\//.test(entry) ? { remote: entry } : { local: entry }) : entry;
        if (!isPlainObject(spec)) {
          problem('include entry should be a string or a hash');
          continue;
        }
        for (const kind of ['remote', 'project', 'template', 'component'] as const) {
          if (kind in spec) {
            problem(
              `include:${kind} (${String(spec[kind])}) cannot be fetched offline; copy the file into the project and use include:local`,
              'PIPELINE_INCLUDE_OFFLINE',
            );
          }
        }
        if (!('local' in spec)) {
          if (!['remote', 'project', 'template', 'component'].some((k) => k in spec)) {
            problem(`unknown include type (keys: ${Object.keys(spec).join(', ') || 'none'})`);
          }
          continue;
        }
        if (typeof spec.local !== 'string' || spec.local === '') {
          problem('include:local should be a non-empty string');
          continue;
        }
        const path = spec.local.replace(/^\/+/, '');
        let paths = [path];
        if (/[*?[{]/.test(path)) {
          if (!options.listFiles) {
            problem(`include:local ${spec.local} uses a wildcard, which needs a listFiles option`);
            continue;
          }
          fileList ??= await options.listFiles();
          const match = picomatch(path, { dot: true });
          paths = fileList.filter((f) => match(f) && /\.ya?ml$/.test(f)).sort();
        }
        for (const file of paths) {
          if (!/\.ya?ml$/.test(file)) {
            problem(`include:local ${file} should end in .yml or .yaml`);
            continue;
          }
          if (++count > MAX_INCLUDES || depth >= 100) {
            problem(`too many includes (more than ${MAX_INCLUDES})`);
            return merged;
          }
          if (!options.readFile) {
            problem(
              `include:local ${file} needs a readFile option to read project files`,
              'PIPELINE_INCLUDE_NOT_FOUND',
            );
            continue;
          }
          let text: string;
          try {
            text = await options.readFile(file);
          } catch (error) {
            problem(
              `local file \`${file}\` does not exist (${String(error instanceof Error ? error.message : error)})`,
              'PIPELINE_INCLUDE_NOT_FOUND',
            );
            continue;
          }
          const result = parseCiYaml(text, file);
          if (!result.ok) {
            issues.push(...result.issues);
            continue;
          }
          const included = await load(result.parsed, depth + 1);
          merged = deepMerge(merged, included) as Plain;
        }
      }
    }
    const own: Plain = { ...value };
    delete own.include;
    for (const key of Object.keys(own)) origin.set(key, parsed);
    return deepMerge(merged, own) as Plain;
  };

  const main = parseCiYaml(source, fileName);
  if (!main.ok) return { ok: false, issues: main.issues };
  const config = await load(main.parsed, 0);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, loaded: { config, origin, main: main.parsed } };
}
