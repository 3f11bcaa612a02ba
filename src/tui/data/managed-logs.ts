// A managed job's output across its attempts: `GET /v1/stream/managedLogs` on the daemon
// (the ApiClient interface has no method for it, so the CLI hands the TUI this function).
import { getNdjson, type Target } from '../../client/http.js';
import type { StreamHandle } from '../../client/types.js';
import type { LogStreamItem } from '../../protocol/api.js';

export interface ManagedLogQuery {
  id: number;
  follow: boolean;
}

export type StreamManagedLogs = (q: ManagedLogQuery, onItem: (item: LogStreamItem) => void) => StreamHandle;

export interface ServeLogQuery {
  service: string;
  target: 'controller' | 'lb';
  follow: boolean;
}

export type StreamServeLogs = (q: ServeLogQuery, onItem: (item: LogStreamItem) => void) => StreamHandle;

/** A service's controller or load balancer log: `GET /v1/stream/serveLogs`. */
export function serveLogStreamer(socket: Target): StreamServeLogs {
  return (q, onItem) => {
    const ac = new AbortController();
    const sp = new URLSearchParams({ name: q.service, target: q.target, follow: q.follow ? '1' : '0' });
    return { done: getNdjson(socket, `/v1/stream/serveLogs?${sp}`, onItem, ac.signal), abort: () => ac.abort() };
  };
}

export function managedLogStreamer(socket: Target): StreamManagedLogs {
  return (q, onItem) => {
    const ac = new AbortController();
    const sp = new URLSearchParams({ id: String(q.id), follow: q.follow ? '1' : '0' });
    return { done: getNdjson(socket, `/v1/stream/managedLogs?${sp}`, onItem, ac.signal), abort: () => ac.abort() };
  };
}
