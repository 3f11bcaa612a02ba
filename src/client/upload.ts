// A remote API server cannot read the client's disk: a task's workdir, local file mounts and the
// local sources of bucket mounts go up as tar streams first (packed as the local daemon packs them
// for nodes: .skyignore/.gitignore honoured), and the task names them `upload://ID[/FILE]` (see
// daemon/team/uploads.ts).
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { Task } from '../spec/types.js';

const UPLOAD_SCHEME = 'upload://';

type Upload = (stream: Readable, sourceKey: string) => Promise<{ id: string; files: number; bytes: number }>;

/**
 * Which directory or file an upload is, as the server may see it: a digest of its path here. The
 * same path sent again is "the same workdir" to the server, as the same path is to a local daemon
 * (a `serve update` that changes only the service section keeps its replicas).
 */
const sourceKey = (source: string): string => createHash('sha256').update(source).digest('hex').slice(0, 16);

export async function uploadTaskFiles<P extends { task?: Task; tasks?: Task[] }>(params: P, upload: Upload, onUpload?: (what: string) => void): Promise<P> {
  if (!params.task && !params.tasks) return params;
  const { checkRoot, packPath } = await import('../daemon/pipeline/pack.js');
  const { UserError } = await import('../util/errors.js');
  // What cannot be sent is said before anything is, in the words the local daemon uses (`where`).
  const isDirectory = (source: string, where: string): boolean => {
    try {
      return checkRoot(source).isDirectory();
    } catch (err) {
      throw err instanceof UserError ? new UserError(`${where}: ${err.message}`) : err;
    }
  };
  // The same directory in several tasks (a pipeline) goes up once.
  const sent = new Map<string, Promise<string>>();
  const send = (source: string, what: string, where: string): Promise<string> => {
    if (source.startsWith(UPLOAD_SCHEME)) return Promise.resolve(source);
    let ref = sent.get(source);
    if (!ref) {
      const isDir = isDirectory(source, where);
      onUpload?.(`Uploading ${what} ${source}`);
      ref = upload(isDir ? packPath(source).stream : packPath(source, { as: basename(source) }).stream, sourceKey(source)).then(
        ({ id }) => `${UPLOAD_SCHEME}${id}${isDir ? '' : `/${basename(source)}`}`,
      );
      sent.set(source, ref);
    }
    return ref;
  };
  // What a bucket mount uploads into its bucket keeps its own name on the server (a list of
  // sources lands in the bucket each under its name): upload://ID/NAME, a file or a directory.
  const named = new Map<string, Promise<string>>();
  const sendNamed = (source: string, what: string, where: string): Promise<string> => {
    if (source.startsWith(UPLOAD_SCHEME)) return Promise.resolve(source);
    let ref = named.get(source);
    if (!ref) {
      const name = basename(source);
      const isDir = isDirectory(source, where);
      onUpload?.(`Uploading ${what} ${source}`);
      ref = upload(packPath(source, isDir ? { under: name } : { as: name }).stream, sourceKey(source)).then(({ id }) => `${UPLOAD_SCHEME}${id}/${name}`);
      named.set(source, ref);
    }
    return ref;
  };
  const local = async (t: Task): Promise<Task> => ({
    ...t,
    ...(t.workdir ? { workdir: await send(t.workdir, 'workdir', 'workdir') } : {}),
    fileMounts: await Promise.all(
      t.fileMounts.map(async (m) => (m.kind === 'local' ? { ...m, source: await send(m.source, `file mount ${m.dest}:`, `file_mounts: ${m.dest}`) } : m)),
    ),
    ...(t.storageMounts
      ? {
          storageMounts: await Promise.all(
            t.storageMounts.map(async (m) =>
              m.upload ? { ...m, upload: { ...m.upload, paths: await Promise.all(m.upload.paths.map((p) => sendNamed(p, `file mount ${m.dest}:`, `file_mounts: ${m.dest}`))) } } : m,
            ),
          ),
        }
      : {}),
  });
  const out = { ...params };
  if (params.task) out.task = await local(params.task);
  if (params.tasks) out.tasks = await Promise.all(params.tasks.map(local));
  return out;
}
