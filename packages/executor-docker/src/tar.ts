// Tar streams for the archive API: a host directory → entries under a container path, with GitLab's helper
// permissions emulated (umask 0000: directories 0777, files 0666 or 0777, owner root).
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as createPack, type Pack } from 'tar-stream';

export interface Ownership {
  uid: number;
  gid: number;
  /** true: keep the host modes (FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR); false: world-writable as GitLab's helper. */
  keepModes: boolean;
}

export const UMASK_ZERO: Ownership = { uid: 0, gid: 0, keepModes: false };

/** `a/b/c` → entries `a/`, `a/b/`, `a/b/c/` (the parents the archive API needs, since the target must exist). */
export function parentEntries(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

function dirMode(mode: number, owner: Ownership): number {
  return owner.keepModes ? mode & 0o7777 : 0o777;
}

function fileMode(mode: number, owner: Ownership): number {
  if (owner.keepModes) return mode & 0o7777;
  return mode & 0o111 ? 0o777 : 0o666;
}

function entry(pack: Pack, header: Parameters<Pack['entry']>[0], body?: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, body ?? '', (error) => (error ? reject(error) : resolve()));
  });
}

async function addTree(pack: Pack, hostDir: string, prefix: string, owner: Ownership, mtime: Date): Promise<number> {
  let count = 0;
  const children = await readdir(hostDir, { withFileTypes: true });
  for (const child of children) {
    const full = join(hostDir, child.name);
    const name = `${prefix}/${child.name}`;
    const info = await lstat(full);
    const base = { uid: owner.uid, gid: owner.gid, mtime: info.mtime };
    if (info.isDirectory()) {
      await entry(pack, { ...base, name, type: 'directory', mode: dirMode(info.mode, owner) });
      count += 1 + (await addTree(pack, full, name, owner, mtime));
    } else if (info.isSymbolicLink()) {
      await entry(pack, { ...base, name, type: 'symlink', linkname: await readlink(full), mode: 0o777 });
      count++;
    } else if (info.isFile()) {
      const stream = pack.entry({ ...base, name, type: 'file', size: info.size, mode: fileMode(info.mode, owner) });
      await pipeline(createReadStream(full), stream);
      count++;
    }
  }
  return count;
}

export interface DirectoryTarOptions {
  /** Host directory whose contents are sent. */
  hostDir?: string | undefined;
  /** Container path (absolute) the contents land in; its parents are sent as directory entries. */
  target: string;
  owner?: Ownership | undefined;
  /** Extra files to add under target (relative path → content). */
  files?: Record<string, string | Buffer> | undefined;
}

/**
 * A tar, meant for `PUT /containers/{id}/archive?path=/`, holding `target`'s parents, `target` itself and the
 * host directory's contents (recursively, symlinks kept as links).
 */
export function directoryTar(options: DirectoryTarOptions): Readable {
  const pack = createPack();
  const owner = options.owner ?? UMASK_ZERO;
  const now = new Date();
  (async () => {
    const parents = parentEntries(options.target);
    for (const parent of parents)
      await entry(pack, { name: parent, type: 'directory', mode: 0o777, uid: owner.uid, gid: owner.gid, mtime: now });
    const root = parents.at(-1) ?? '.';
    if (options.hostDir) await addTree(pack, options.hostDir, root, owner, now);
    for (const [path, content] of Object.entries(options.files ?? {})) {
      const dirs = parentEntries(path).slice(0, -1);
      for (const dir of dirs)
        await entry(pack, { name: `${root}/${dir}`, type: 'directory', mode: 0o777, uid: owner.uid, gid: owner.gid });
      await entry(
        pack,
        { name: `${root}/${path}`, type: 'file', mode: 0o666, uid: owner.uid, gid: owner.gid },
        content,
      );
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as unknown as Readable;
}

/**
 * A tar of directory entries only (mode 0777, owner root), meant for `PUT /containers/{id}/archive?path=/`:
 * existing directories (volume mount points) get their permissions opened, missing ones are created. Parents
 * that are not listed are left as they are (or created 0755 by the daemon when missing).
 */
export function openDirectoriesTar(paths: readonly string[]): Readable {
  const pack = createPack();
  const names = [...new Set(paths.map((path) => path.replace(/^\/+|\/+$/g, '')).filter(Boolean))].sort();
  (async () => {
    for (const name of names) await entry(pack, { name, type: 'directory', mode: 0o777, uid: 0, gid: 0 });
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as unknown as Readable;
}
