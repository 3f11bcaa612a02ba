import type { Readable } from 'node:stream';
import type { ApiMethod, ApiMethods, LogStreamItem, RequestStreamItem } from '../protocol/api.js';
import { aloftHome, homePaths } from '../util/paths.js';
import { getNdjson, postJson, postStream, type Endpoint } from './http.js';
import type { ApiClient, StreamHandle } from './types.js';

/** Methods whose tasks name files on the client's disk: uploaded first when the server is remote. */
const WITH_FILES: ReadonlySet<ApiMethod> = new Set(['launch', 'exec', 'jobsLaunch', 'serveUp', 'serveUpdate']);

/** Typed access to a running daemon (see spawn.ts for starting one) or a remote API server. */
export class DaemonClient implements ApiClient {
  readonly home: string;
  readonly endpoint: Endpoint;
  /** told before a workdir or file mount goes up to a remote server */
  onUpload?: (what: string) => void;

  constructor(opts: { home?: string; endpoint?: Endpoint } = {}) {
    this.home = opts.home ?? aloftHome();
    this.endpoint = opts.endpoint ?? { kind: 'unix', socket: homePaths(this.home).socket };
  }

  /** The local daemon's socket ('' for a remote server). */
  get socket(): string {
    return this.endpoint.kind === 'unix' ? this.endpoint.socket : '';
  }

  get remote(): boolean {
    return this.endpoint.kind === 'tcp';
  }

  async call<M extends ApiMethod>(method: M, params: ApiMethods[M]['params']): Promise<ApiMethods[M]['result']> {
    if (this.remote && WITH_FILES.has(method)) {
      const { uploadTaskFiles } = await import('./upload.js');
      params = await uploadTaskFiles(params as never, (s, key) => this.upload(s, key), this.onUpload);
    }
    return postJson(this.endpoint, `/v1/rpc/${method}`, params) as Promise<ApiMethods[M]['result']>;
  }

  /**
   * Sends a tar stream to the server; answers the upload's id. `sourceKey`: what the files are (a
   * digest of their path on this machine), so the server knows two uploads of one directory.
   */
  upload(stream: Readable, sourceKey?: string): Promise<{ id: string; files: number; bytes: number }> {
    return postStream(this.endpoint, '/v1/upload', stream, 'application/x-tar', sourceKey ? { 'x-aloft-source': sourceKey } : {}) as Promise<{
      id: string;
      files: number;
      bytes: number;
    }>;
  }

  stream(path: string, onItem: (item: any) => void): StreamHandle {
    const ac = new AbortController();
    return { done: getNdjson(this.endpoint, path, onItem, ac.signal), abort: () => ac.abort() };
  }

  streamLogs(
    q: { cluster: string; job?: number; follow: boolean; tail?: number; rank?: number },
    onItem: (item: LogStreamItem) => void,
  ): StreamHandle {
    const sp = new URLSearchParams({ cluster: q.cluster, follow: q.follow ? '1' : '0' });
    if (q.job !== undefined) sp.set('job', String(q.job));
    if (q.tail !== undefined) sp.set('tail', String(q.tail));
    if (q.rank !== undefined) sp.set('rank', String(q.rank));
    return this.stream(`/v1/stream/logs?${sp}`, onItem);
  }

  streamRequest(requestId: string, onItem: (item: RequestStreamItem) => void): StreamHandle {
    return this.stream(`/v1/stream/request?id=${encodeURIComponent(requestId)}`, onItem);
  }
}
