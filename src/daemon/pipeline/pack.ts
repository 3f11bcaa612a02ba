// Packs a directory (or one file) into a tar stream honouring .skyignore / .gitignore, like
// SkyPilot's workdir sync but without rsync: the stream is extracted by `tar` on the node.
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import ignore, { type Ignore } from 'ignore';
import tar from 'tar-stream';

interface Rules {
  base: string;
  ig: Ignore;
}

/** .skyignore wins when the root has one (then .gitignore files are not read), as in SkyPilot. */
function loadRules(dir: string, useSky: boolean): Rules | undefined {
  const file = join(dir, useSky ? '.skyignore' : '.gitignore');
  if (!existsSync(file)) return undefined;
  return { base: dir, ig: ignore().add(readFileSync(file, 'utf8')) };
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
}

/** A tar stream of `root`'s contents (entries relative to root), or of a single file named `as`. */
export function packPath(root: string, opts: { as?: string; useIgnoreFiles?: boolean } = {}): {
  stream: Readable;
  stats: Promise<PackStats>;
} {
  const pack = tar.pack();
  const stats: PackStats = { files: 0, bytes: 0 };
  const addFile = (name: string, abs: string, st: Stats) =>
    new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size: st.size, mode: st.mode & 0o7777, mtime: st.mtime }, (err) =>
        err ? reject(err) : resolve(),
      );
      createReadStream(abs).on('error', reject).pipe(entry);
      stats.files++;
      stats.bytes += st.size;
    });

  const walk = async (dir: string, inherited: Rules[], useSky: boolean): Promise<void> => {
    const own = opts.useIgnoreFiles === false ? undefined : loadRules(dir, useSky);
    const rules = own ? [...inherited, own] : inherited;
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      if (ignored(rules, abs, st.isDirectory())) continue;
      const rel = relative(root, abs).split(sep).join('/');
      if (st.isSymbolicLink()) {
        pack.entry({ name: rel, type: 'symlink', linkname: readlinkSync(abs), mode: 0o777, mtime: st.mtime });
      } else if (st.isDirectory()) {
        pack.entry({ name: rel + '/', type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime });
        await walk(abs, rules, useSky);
      } else if (st.isFile()) {
        await addFile(rel, abs, st);
      }
    }
  };

  const done = (async () => {
    const st = lstatSync(root);
    if (st.isDirectory()) {
      await walk(root, [], existsSync(join(root, '.skyignore')));
    } else {
      await addFile(opts.as ?? basename(root), root, st);
    }
    pack.finalize();
    return stats;
  })();
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
