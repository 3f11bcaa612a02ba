// Packs a directory (or one file) into a tar stream honouring .skyignore / .gitignore, like
// SkyPilot's workdir sync but without rsync: the stream is extracted by `tar` on the node.
//
// A directory can change while it is packed (a build writing into it, an editor's swap files).
// Like GNU tar, a file or directory that vanishes mid-walk is skipped with a warning, a file that
// shrinks is padded and one that grows is cut at the size its header announced; anything else
// (unreadable files, a root that is not there) fails the whole stream with one line.
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statfsSync, statSync, type Stats } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import ignore, { type Ignore } from 'ignore';
import tar from 'tar-stream';
import { UserError } from '../../util/errors.js';
import { errnoCode } from '../../util/process.js';

interface Rules {
  base: string;
  ig: Ignore;
}

/** .skyignore wins when the root has one (then .gitignore files are not read), as in SkyPilot. */
function loadRules(dir: string, useSky: boolean): Rules | undefined {
  const file = join(dir, useSky ? '.skyignore' : '.gitignore');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (vanished(err)) return undefined;
    throw cannotRead(file, err);
  }
  return { base: dir, ig: ignore().add(text) };
}

function ignored(rules: Rules[], abs: string, isDir: boolean): boolean {
  for (const r of rules) {
    let rel = relative(r.base, abs).split(sep).join('/');
    if (rel === '' || rel.startsWith('..')) continue;
    if (isDir) rel += '/';
    if (r.ig.ignores(rel)) return true;
  }
  return false;
}

export interface PackStats {
  files: number;
  bytes: number;
  /** one line per entry skipped or changed while packing (vanished, shrank, grew) */
  warnings: string[];
}

/** Pseudo filesystems (statfs magic numbers): their "files" are kernel state, not a project. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1373: 'devtmpfs',
  0x1cd1: 'devpts',
  0x63677270: 'cgroup2',
  0x27e0eb: 'cgroup',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
};

const vanished = (err: unknown) => errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR';

function cannotRead(path: string, err: unknown): UserError {
  const code = errnoCode(err);
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? (err as Error)?.message ?? String(err);
  return new UserError(`cannot read ${path} (${why})`);
}

/** Checks the root (a symlink to it is followed) before anything is sent: there, and not kernel state. */
/** `root`'s stats, or one line saying why it cannot be packed (missing, unreadable, kernel state). */
export function checkRoot(root: string): Stats {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (err) {
    if (vanished(err)) throw new UserError(`${root}: no such file or directory`);
    throw cannotRead(root, err);
  }
  try {
    const fs = PSEUDO_FS[statfsSync(root).type];
    if (fs) throw new UserError(`${root} is on the ${fs} pseudo filesystem (kernel state, not files to sync)`);
  } catch (err) {
    if (err instanceof UserError) throw err;
  }
  return st;
}

/** Copies exactly `size` bytes of `abs` into the entry: zeros for what it lost, nothing of what it gained. */
/** The part of a tar entry stream the copy uses. */
interface EntrySink {
  write(chunk: Buffer | string): boolean;
  end(data?: unknown): unknown;
  once(event: 'drain', cb: () => void): unknown;
}

export function copyExactly(abs: string, size: number, entry: EntrySink, warn: (m: string) => void): Promise<void> {
  // Resolves once everything is written; the entry's own completion is pack.entry's callback.
  return new Promise((resolve, reject) => {
    let written = 0;
    const pad = (why: string) => {
      warn(`${abs}: ${why}; padded with zeros`);
      const zeros = Buffer.alloc(64 * 1024);
      const more = () => {
        while (written < size) {
          const n = Math.min(zeros.length, size - written);
          written += n;
          if (!entry.write(n === zeros.length ? zeros : zeros.subarray(0, n))) return void entry.once('drain', more);
        }
        end();
      };
      more();
    };
    const end = () => {
      entry.end();
      resolve();
    };
    if (size === 0) return end();
    const src = createReadStream(abs, { start: 0, end: size - 1 });
    src.on('error', (err) => {
      src.destroy();
      if (vanished(err)) pad('vanished while it was read');
      else reject(cannotRead(abs, err));
    });
    src.on('data', (c: Buffer | string) => {
      written += c.length;
      if (!entry.write(c)) {
        src.pause();
        entry.once('drain', () => src.resume());
      }
    });
    src.on('end', () => {
      if (written < size) pad(`shrank by ${size - written} bytes while it was read`);
      else end();
    });
  });
}

/**
 * A tar stream of `root`'s contents (entries relative to root, or under the directory `under`),
 * or of a single file named `as`.
 */
export function packPath(root: string, opts: { as?: string; under?: string; useIgnoreFiles?: boolean } = {}): {
  stream: Readable;
  stats: Promise<PackStats>;
} {
  const pack = tar.pack();
  const stats: PackStats = { files: 0, bytes: 0, warnings: [] };
  const warn = (m: string) => stats.warnings.push(m);
  const addFile = async (name: string, abs: string, st: Stats) => {
    stats.files++;
    stats.bytes += st.size;
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size: st.size, mode: st.mode & 0o7777, mtime: st.mtime }, (err) => (err ? reject(err) : resolve()));
      copyExactly(abs, st.size, entry, warn).catch(reject);
    });
  };

  const walk = async (dir: string, inherited: Rules[], useSky: boolean): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      if (!vanished(err)) throw cannotRead(dir, err);
      warn(`${dir}: directory vanished while it was packed; skipped`);
      return;
    }
    const own = opts.useIgnoreFiles === false ? undefined : loadRules(dir, useSky);
    const rules = own ? [...inherited, own] : inherited;
    for (const name of names) {
      const abs = join(dir, name);
      let st: Stats;
      let link: string | undefined;
      try {
        st = lstatSync(abs);
        if (st.isSymbolicLink()) link = readlinkSync(abs);
      } catch (err) {
        if (vanished(err)) {
          warn(`${abs}: vanished while the directory was packed; skipped`);
          continue;
        }
        throw cannotRead(abs, err);
      }
      if (ignored(rules, abs, st.isDirectory())) continue;
      const rel = (opts.under ? `${opts.under}/` : '') + relative(root, abs).split(sep).join('/');
      if (link !== undefined) {
        pack.entry({ name: rel, type: 'symlink', linkname: link, mode: 0o777, mtime: st.mtime });
      } else if (st.isDirectory()) {
        pack.entry({ name: rel + '/', type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime });
        await walk(abs, rules, useSky);
      } else if (st.isFile()) {
        await addFile(rel, abs, st);
      }
    }
  };

  const done = (async () => {
    const st = checkRoot(root);
    if (st.isDirectory()) {
      if (opts.under) pack.entry({ name: `${opts.under}/`, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime });
      await walk(root, [], existsSync(join(root, '.skyignore')));
    } else if (st.isFile()) {
      await addFile(opts.as ?? basename(root), root, st);
    } else {
      throw new UserError(`${root} is not a regular file or directory`);
    }
    pack.finalize();
    return stats;
  })();
  // The reader (an upload) sees the failure as the stream's error; `stats` carries the reason.
  done.catch((err) => pack.destroy(err));
  return { stream: pack as unknown as Readable, stats: done };
}

export interface ListedFile {
  /** path relative to the root, with / separators */
  rel: string;
  abs: string;
  size: number;
}

/** The files under `root` that a pack would carry (same .skyignore / .gitignore rules), symlinks followed. */
export function listFiles(root: string, opts: { useIgnoreFiles?: boolean } = {}): ListedFile[] {
  const out: ListedFile[] = [];
  const walk = (dir: string, inherited: Rules[], useSky: boolean) => {
    const own = opts.useIgnoreFiles === false ? undefined : loadRules(dir, useSky);
    const rules = own ? [...inherited, own] : inherited;
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      let st: Stats;
      try {
        st = statSync(abs); // a bucket has no symlinks: upload what they point to, as SkyPilot does
      } catch {
        continue; // a dangling link
      }
      if (ignored(rules, abs, st.isDirectory())) continue;
      if (st.isDirectory()) walk(abs, rules, useSky);
      else if (st.isFile()) out.push({ rel: relative(root, abs).split(sep).join('/'), abs, size: st.size });
    }
  };
  walk(root, [], existsSync(join(root, '.skyignore')));
  return out;
}
