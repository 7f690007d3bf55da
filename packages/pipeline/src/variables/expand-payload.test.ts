import { describe, expect, it } from 'vitest';
import { expandPayloadVariables } from './expand-payload.js';
import { variable } from './predefined.js';

const values = (list: ReturnType<typeof expandPayloadVariables>) => list.map((v) => `${v.key}=${v.value}`);

describe('server-side expansion of payload variables', () => {
  it('lets a variable that names itself read the definition before it', () => {
    const out = expandPayloadVariables([
      variable('FLAGS', '-a'),
      variable('FLAGS', '$FLAGS -b'),
      variable('FLAGS', '${FLAGS} -c'),
      variable('USE', '[$FLAGS]'),
    ]);
    expect(values(out)).toEqual(['FLAGS=-a', 'FLAGS=-a -b', 'FLAGS=-a -b -c', 'USE=[-a -b -c]']);
  });

  it('keeps order, duplicates and flags, and never changes the input', () => {
    const input = [
      variable('SECRET', 's3cr3t', { masked: true, public: false }),
      variable('URL', 'https://u:$SECRET@h', { masked: false }),
      variable('KEYFILE', 'key for $SECRET', { file: true }),
      variable('RAW', '$SECRET', { raw: true }),
    ];
    const out = expandPayloadVariables(input);
    expect(out).toEqual([
      { key: 'SECRET', value: 's3cr3t', public: false, masked: true },
      { key: 'URL', value: 'https://u:s3cr3t@h', public: true, masked: false },
      { key: 'KEYFILE', value: 'key for s3cr3t', public: true, masked: false, file: true },
      { key: 'RAW', value: '$SECRET', public: true, masked: false, raw: true },
    ]);
    expect(input[1]?.value).toBe('https://u:$SECRET@h');
  });

  it('expands nothing when references form a cycle, as GitLab does', () => {
    const out = expandPayloadVariables([
      variable('A', '$B'),
      variable('B', '${A}'),
      variable('C', 'x'),
      variable('D', '$C'),
    ]);
    expect(values(out)).toEqual(['A=$B', 'B=${A}', 'C=x', 'D=$C']);
  });
});
