import type { ApiMethod, ApiMethods, LogStreamItem, RequestStreamItem } from '../protocol/api.js';
import { aloftHome, homePaths } from '../util/paths.js';
import { getNdjson, postJson } from './http.js';
import type { ApiClient, StreamHandle } from './types.js';

/** Typed access to a running daemon (see spawn.ts for starting one). */
export class DaemonClient implements ApiClient {
  readonly home: string;
  readonly socket: string;

  constructor(opts: { home?: string } = {}) {
    this.home = opts.home ?? aloftHome();
    this.socket = homePaths(this.home).socket;
  }

  call<M extends ApiMethod>(method: M, params: ApiMethods[M]['params']): Promise<ApiMethods[M]['result']> {
    return postJson(this.socket, `/v1/rpc/${method}`, params) as Promise<ApiMethods[M]['result']>;
  }

  private stream(path: string, onItem: (item: any) => void): StreamHandle {
    const ac = new AbortController();
    return { done: getNdjson(this.socket, path, onItem, ac.signal), abort: () => ac.abort() };
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
