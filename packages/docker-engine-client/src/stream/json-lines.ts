import { ProtocolError } from '../errors.js';

/**
 * Parses newline-delimited JSON (pull/load progress, events). Pull-based; a line longer than `maxLine` bytes
 * (a garbage or never-ending answer) fails with a ProtocolError instead of growing memory.
 */
export async function* readJsonLines<T>(
  source: AsyncIterable<Buffer | string>,
  maxLine = 16 * 1024 * 1024,
): AsyncGenerator<T> {
  let pending = '';
  const decoder = new TextDecoder();
  const parse = (line: string): T => {
    try {
      return JSON.parse(line) as T;
    } catch (cause) {
      throw new ProtocolError(`invalid JSON line in a streamed answer: ${line.slice(0, 200)}`, { cause });
    }
  };
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) yield parse(line);
      newline = pending.indexOf('\n');
    }
    if (pending.length > maxLine) {
      throw new ProtocolError(`a streamed JSON line exceeds ${maxLine} bytes`);
    }
  }
  pending += decoder.decode();
  const last = pending.trim();
  if (last) yield parse(last);
}
