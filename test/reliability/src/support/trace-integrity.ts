// What "nothing lost" means for a stored trace: the final update's checksum and size describe exactly the stored
// bytes, and the block the job printed is there once, byte for byte.
import { crc32 } from 'node:zlib';
import type { Coordinator } from '@runnerkit/coordinator';
import { expect } from 'vitest';
import { count } from './count.js';

export interface FinalOutput {
  checksum: string;
  bytesize: number;
}

/** The `output` of the last final update (success/failed) the runner sent for a job. */
export function finalOutput(coordinator: Coordinator, jobId: number): FinalOutput | undefined {
  const finals = coordinator
    .requests({ endpoint: 'job-update', jobId })
    .map((request) => JSON.parse(request.body.toString('utf8') || '{}') as { state?: string; output?: FinalOutput })
    .filter((body) => (body.state === 'success' || body.state === 'failed') && body.output !== undefined);
  return finals.at(-1)?.output;
}

/** The printed block: numbered lines (masked secrets every 50 lines) — regenerate it to compare. */
export function printedBlock(lines: number, tag: string, secretShown: string): string {
  let text = '';
  for (let line = 1; line <= lines; line += 1) {
    text += `${tag} ${String(line).padStart(5, '0')} ${'x'.repeat(60)}\n`;
    if (line % 50 === 0) text += `${tag} secret ${secretShown}\n`;
  }
  return text;
}

/** A POSIX shell line that prints printedBlock(lines, tag, $SECRET), pausing `pauses` times. */
export function printScript(lines: number, tag: string, pauses: number): string {
  const every = Math.max(1, Math.floor(lines / (pauses + 1)));
  return `i=1; while [ $i -le ${lines} ]; do printf "${tag} %05d %s\\n" $i "${'x'.repeat(60)}"; if [ $((i % 50)) -eq 0 ]; then echo "${tag} secret $SECRET"; fi; if [ $((i % ${every})) -eq 0 ]; then sleep 0.3; fi; i=$((i+1)); done`;
}

export function expectTraceIntact(coordinator: Coordinator, jobId: number, block: string): void {
  const stored = coordinator.trace(jobId);
  const output = finalOutput(coordinator, jobId);
  expect(output, 'the final update carried the trace checksum and size').toBeDefined();
  expect(stored.length).toBe(output?.bytesize);
  expect(`crc32:${crc32(stored).toString(16).padStart(8, '0')}`).toBe(output?.checksum);
  const text = stored.toString('utf8');
  const at = text.indexOf(block);
  expect(at, 'the printed block is stored byte for byte').toBeGreaterThanOrEqual(0);
  expect(text.indexOf(block, at + 1), 'and only once').toBe(-1);
  count('traceBytesChecked', stored.length);
}
