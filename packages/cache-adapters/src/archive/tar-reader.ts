import { Header, type HeaderData, Pax } from 'tar';
import { ArchiveError } from '../errors.js';

/** Reads exact byte counts from an async stream of chunks. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(wanted: number): Promise<void> {
    while (this.buffered < wanted && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /**
   * Up to `length` bytes (fewer only at the end of the stream). Zero-copy when one chunk holds them; otherwise only
   * the requested bytes are gathered (inflated chunks are large, so a header spanning two of them must not copy both).
   */
  async read(length: number): Promise<Buffer> {
    if (this.buffered < length) await this.fill(length);
    const first = this.chunks[0];
    if (first !== undefined && first.length >= length) {
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      this.buffered -= length;
      return length === first.length ? first : first.subarray(0, length);
    }
    const wanted = Math.min(length, this.buffered);
    const out = Buffer.allocUnsafe(wanted);
    let at = 0;
    while (at < wanted) {
      const chunk = this.chunks[0] as Buffer;
      const take = Math.min(chunk.length, wanted - at);
      chunk.copy(out, at, 0, take);
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
      at += take;
    }
    this.buffered -= wanted;
    return out;
  }

  /** The next `length` bytes as they arrive. */
  async *pieces(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      if (this.buffered === 0) await this.fill(1);
      if (this.buffered === 0) return;
      const piece = await this.read(Math.min(left, this.buffered));
      left -= piece.length;
      yield piece;
    }
  }
}

export interface TarEntry {
  path: string;
  type: string;
  size: number;
  mode: number;
  mtime: Date | undefined;
  linkpath: string;
  /** The whole body (call once, for modest sizes). */
  read(): Promise<Buffer>;
  /** The body as it arrives (consume fully, or it is skipped). */
  stream(): AsyncGenerator<Buffer>;
}

const BLOCK = 512;
/** Largest pax header or GNU long name accepted. */
const META_LIMIT = 1024 * 1024;

function truncated(): ArchiveError {
  return new ArchiveError('ARCHIVE_TRUNCATED', 'tar.gz archive is truncated: the tar stream ends inside an entry');
}

/**
 * Walks a tar stream entry by entry (ustar, pax extended and global headers, GNU long names), using node-tar's
 * header decoder. A stream that ends before the end-of-archive blocks is truncated.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  let extended: HeaderData | undefined;
  let global: HeaderData | undefined;
  let longPath: string | undefined;
  let longLink: string | undefined;
  const body = async (size: number): Promise<Buffer> => {
    const data = await reader.read(size);
    if (data.length < size) throw truncated();
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await reader.read(padding)).length < padding) throw truncated();
    return data;
  };
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length < BLOCK) throw truncated();
    if (block.every((byte) => byte === 0)) return;
    let header: Header;
    try {
      header = new Header(block, 0, extended, global);
    } catch (error) {
      // node-tar's decoder throws plain errors on malformed number fields (`invalid base256 encoding`)
      throw new ArchiveError('ARCHIVE_CORRUPT', 'tar.gz archive is corrupt: a tar header cannot be decoded', {
        cause: error,
      });
    }
    if (!header.cksumValid) {
      throw new ArchiveError('ARCHIVE_CORRUPT', 'tar.gz archive is corrupt: a tar header fails its checksum');
    }
    const size = header.size ?? 0;
    const type = header.type;
    if (
      type === 'ExtendedHeader' ||
      type === 'GlobalExtendedHeader' ||
      type === 'NextFileHasLongPath' ||
      type === 'NextFileHasLongLinkpath' ||
      type === 'OldExtendedHeader'
    ) {
      if (size > META_LIMIT) {
        throw new ArchiveError('ARCHIVE_CORRUPT', `tar.gz archive is corrupt: a ${type} header of ${size} bytes`);
      }
      const text = (await body(size)).toString('utf8');
      if (type === 'ExtendedHeader' || type === 'OldExtendedHeader') extended = Pax.parse(text, extended, false);
      else if (type === 'GlobalExtendedHeader') global = Pax.parse(text, global, true);
      else if (type === 'NextFileHasLongPath') longPath = text.replace(/\0.*$/s, '');
      else longLink = text.replace(/\0.*$/s, '');
      continue;
    }
    const entryPath = longPath ?? header.path ?? '';
    const linkpath = longLink ?? header.linkpath ?? '';
    extended = undefined;
    longPath = undefined;
    longLink = undefined;
    const hasBody = type !== 'Directory' && type !== 'SymbolicLink' && type !== 'Link';
    const length = hasBody ? size : 0;
    let consumed = false;
    const entry: TarEntry = {
      path: entryPath,
      type,
      size: length,
      mode: header.mode ?? 0,
      mtime: header.mtime,
      linkpath,
      read: async () => {
        consumed = true;
        return body(length);
      },
      stream: async function* () {
        consumed = true;
        let got = 0;
        for await (const piece of reader.pieces(length)) {
          got += piece.length;
          yield piece;
        }
        if (got < length) throw truncated();
        const padding = (BLOCK - (length % BLOCK)) % BLOCK;
        if ((await reader.read(padding)).length < padding) throw truncated();
      },
    };
    yield entry;
    if (!consumed) {
      let skipped = 0;
      for await (const piece of reader.pieces(length)) skipped += piece.length;
      if (skipped < length) throw truncated();
      const padding = (BLOCK - (length % BLOCK)) % BLOCK;
      if ((await reader.read(padding)).length < padding) throw truncated();
    }
  }
}
