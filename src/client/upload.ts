// A remote API server cannot read the client's disk: a task's workdir and local file mounts go up
// as tar streams first (packed as the local daemon packs them for nodes: .skyignore/.gitignore
// honoured), and the task names them `upload://ID[/FILE]` (see daemon/team/uploads.ts).
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { Task } from '../spec/types.js';

const UPLOAD_SCHEME = 'upload://';

type Upload = (stream: Readable) => Promise<{ id: string; files: number; bytes: number }>;

export async function uploadTaskFiles<P extends { task?: Task; tasks?: Task[] }>(params: P, upload: Upload, onUpload?: (what: string) => void): Promise<P> {
  if (!params.task && !params.tasks) return params;
  const { packPath } = await import('../daemon/pipeline/pack.js');
  // The same directory in several tasks (a pipeline) goes up once.
  const sent = new Map<string, Promise<string>>();
  const send = (source: string, what: string): Promise<string> => {
    if (source.startsWith(UPLOAD_SCHEME)) return Promise.resolve(source);
    let ref = sent.get(source);
    if (!ref) {
      const isDir = statSync(source).isDirectory();
      onUpload?.(`uploading ${what} ${source}`);
      ref = upload(isDir ? packPath(source).stream : packPath(source, { as: basename(source) }).stream).then(
        ({ id }) => `${UPLOAD_SCHEME}${id}${isDir ? '' : `/${basename(source)}`}`,
      );
      sent.set(source, ref);
    }
    return ref;
  };
  const local = async (t: Task): Promise<Task> => ({
    ...t,
    ...(t.workdir ? { workdir: await send(t.workdir, 'workdir') } : {}),
    fileMounts: await Promise.all(t.fileMounts.map(async (m) => (m.kind === 'local' ? { ...m, source: await send(m.source, `file mount ${m.dest}:`) } : m))),
  });
  const out = { ...params };
  if (params.task) out.task = await local(params.task);
  if (params.tasks) out.tasks = await Promise.all(params.tasks.map(local));
  return out;
}
