// Hostile tar archives for extraction tests: headers written by hand with node-tar's Header (it only encodes;
// nothing is sanitised), so names like `../x` and links pointing out reach the reader as written.
import { Header } from 'tar';

export interface RawTarEntry {
  path: string;
  type?: string;
  data?: string;
  linkpath?: string;
  /** Declared size, when it should differ from the data's (truncation cases). */
  size?: number;
}

/** The tar bytes of `entries`, with the two end-of-archive blocks unless `end` is false. */
export function rawTar(entries: readonly RawTarEntry[], end = true): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = new Header({
      path: entry.path,
      type: (entry.type ?? 'File') as 'File',
      size: entry.size ?? data.length,
      mode: 0o644,
      mtime: new Date('2026-01-01T00:00:00Z'),
      ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (data.length > 0) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (end) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
