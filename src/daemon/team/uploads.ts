// Workdirs and file mounts of a remote client arrive as tar streams (`POST /v1/upload`), are
// unpacked under ALOFT_HOME/uploads/<user>/<id>/, and the task names them `upload://<id>[/file]`.
// The server turns those into its own paths for the pipeline (which then syncs them to the nodes
// as it syncs a local workdir). A remote client may name nothing else on the server's disk.
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Task } from '../../spec/types.js';
import { UserError } from '../../util/errors.js';
import { shortId } from '../../util/names.js';
import type { Caller } from './caller.js';

export const UPLOAD_SCHEME = 'upload://';
/** An upload no active managed job refers to is removed after this long. */
export const UPLOAD_TTL_MS = 24 * 3600_000;
const ID = /^[0-9a-f]{16}$/;

export const uploadsDir = (home: string): string => join(home, 'uploads');

/** `16 MiB`, `256 KiB`: a size limit as people write it. */
export const formatLimit = (bytes: number): string => (bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MiB` : `${Math.round(bytes / 1024)} KiB`);

export class TooLarge extends UserError {
  readonly status = 413;
  constructor(limit: number) {
    super(`upload larger than the server's limit (${formatLimit(limit)})`, 'TOO_LARGE');
  }
}

/** A safe relative path inside the upload, or an error naming the entry. */
function entryPath(name: string, links: Set<string>): string {
  const rel = posix.normalize(name.replace(/\/+$/, ''));
  if (rel === '.' || rel === '') return '.';
  if (posix.isAbsolute(rel) || rel === '..' || rel.startsWith('../')) throw new UserError(`upload: entry '${name}' leaves the upload`);
  // A file written through a symlink made by an earlier entry could land anywhere.
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    if (links.has(parts.slice(0, i).join('/'))) throw new UserError(`upload: entry '${name}' lies under a symlink`);
  }
  return rel;
}

/**
 * Unpacks a tar stream into a new upload of `caller`; at most `maxBytes` of stream are read.
 * `source` (the client's digest of the files' path on its machine) makes the first half of the id:
 * two uploads of one directory are the same source (sameSource), whatever they hold.
 */
export async function receiveUpload(
  body: Readable,
  opts: { home: string; caller: Caller; maxBytes: number; source?: string },
): Promise<{ id: string; files: number; bytes: number }> {
  const base = join(uploadsDir(opts.home), opts.caller.user);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const key = opts.source && /^[0-9a-f]{8,64}$/.test(opts.source) ? opts.source.slice(0, 8) : undefined;
  let id: string;
  let root: string;
  for (;;) {
    id = key ? key + shortId(4) : shortId(8);
    root = join(base, id);
    try {
      mkdirSync(root, { mode: 0o700 }); // never into another upload's directory
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const links = new Set<string>();
  let read = 0;
  let files = 0;
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      read += chunk.length;
      if (read > opts.maxBytes) return done(new TooLarge(opts.maxBytes));
      done(null, chunk);
    },
  });
  const extract = tar.extract();
  // The first bad entry fails the upload; the rest of the stream is read and dropped (bounded by
  // maxBytes), so the extractor never has to be torn down mid-entry.
  let failure: unknown;
  const skip = (stream: { on(event: 'end', cb: () => void): unknown; resume(): unknown }, next: () => void) => {
    stream.on('end', () => next());
    stream.resume();
  };
  extract.on('entry', (header, stream, next) => {
    const fail = (err: unknown) => {
      failure ??= err;
      skip(stream, next);
    };
    if (failure) return skip(stream, next);
    try {
      const rel = entryPath(header.name, links);
      const abs = join(root, rel);
      const mode = (header.mode ?? 0o644) & 0o777;
      if (header.type === 'directory') {
        mkdirSync(abs, { recursive: true, mode: mode | 0o700 });
        stream.resume();
        stream.on('end', () => next());
      } else if (header.type === 'file') {
        mkdirSync(join(abs, '..'), { recursive: true, mode: 0o700 });
        files++;
        bytes += header.size ?? 0;
        // tar-stream's entries are streamx streams: Node's pipeline drives them, its types do not say so.
        pipeline(stream as unknown as Readable, createWriteStream(abs, { mode: mode | 0o600 })).then(
          () => next(),
          (err) => {
            failure ??= err;
            next();
          },
        );
      } else if (header.type === 'symlink') {
        mkdirSync(join(abs, '..'), { recursive: true, mode: 0o700 });
        // Kept as a link (never followed here: the sync re-packs it as a link for the node).
        symlinkSync(header.linkname ?? '', abs);
        links.add(rel);
        stream.resume();
        stream.on('end', () => next());
      } else {
        throw new UserError(`upload: entry '${header.name}' is a ${header.type}; only files, directories and symlinks are uploaded`);
      }
    } catch (err) {
      fail(err);
    }
  });
  try {
    await pipeline(body, limit, extract);
    if (failure) throw failure;
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`upload: not a tar stream (${(err as Error).message})`);
  }
  return { id, files, bytes };
}

/**
 * `text` (a task as JSON) with each upload's directory named by its source only: the same directory
 * of a client's uploaded twice reads the same, as a local workdir's path does.
 */
export function sameSource(text: string): string {
  return text.replace(/(\/uploads\/[^/"]+\/)([0-9a-f]{8})[0-9a-f]{8}(?=[/"])/g, '$1$2');
}

/**
 * The task with `upload://` references turned into the server's paths. A remote caller's task
 * may only name its own uploads; the local user's may name this machine's paths, as always.
 */
export function localizeTask(task: Task, caller: Caller, home: string): Task {
  const resolve = (path: string, what: string): string => {
    if (!path.startsWith(UPLOAD_SCHEME)) {
      if (caller.remote) {
        throw new UserError(`${what} '${path}' is a path on the API server's machine; a remote client uploads its files instead (is this aloft client older than the server?)`);
      }
      return path;
    }
    const [id, ...rest] = path.slice(UPLOAD_SCHEME.length).split('/');
    const sub = posix.normalize(rest.join('/') || '.');
    if (!id || !ID.test(id) || sub === '..' || sub.startsWith('../') || posix.isAbsolute(sub)) throw new UserError(`${what}: bad upload reference '${path}'`);
    const dir = join(uploadsDir(home), caller.user, id);
    if (!existsSync(dir)) throw new UserError(`${what}: upload ${id} is gone (uploads are kept ${UPLOAD_TTL_MS / 3600_000} h); run the command again`);
    return sub === '.' ? dir : join(dir, sub);
  };
  return {
    ...task,
    ...(task.workdir ? { workdir: resolve(task.workdir, 'workdir') } : {}),
    fileMounts: task.fileMounts.map((m) => (m.kind === 'local' ? { ...m, source: resolve(m.source, `file_mounts ${m.dest}`) } : m)),
    // local sources a bucket mount uploads into its bucket (`source: ./dir`)
    ...(task.storageMounts
      ? { storageMounts: task.storageMounts.map((m) => (m.upload ? { ...m, upload: { ...m.upload, paths: m.upload.paths.map((p) => resolve(p, `file_mounts ${m.dest}`)) } } : m)) }
      : {}),
  };
}

/** Removes uploads older than the TTL, except those `inUse` says a live job still needs. */
export function collectUploads(home: string, inUse: (dir: string) => boolean, now = Date.now()): number {
  const base = uploadsDir(home);
  if (!existsSync(base)) return 0;
  let removed = 0;
  for (const user of readdirSync(base)) {
    for (const id of readdirSync(join(base, user))) {
      const dir = join(base, user, id);
      try {
        if (now - statSync(dir).mtimeMs < UPLOAD_TTL_MS || inUse(dir)) continue;
        rmSync(dir, { recursive: true, force: true });
        removed++;
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return removed;
}
