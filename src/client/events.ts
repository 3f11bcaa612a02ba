// The event stream: snapshot, then changes by sequence; reconnects by itself and resumes from
// the last sequence it saw, so a daemon restart loses and duplicates nothing. With `revive`, a
// daemon that is gone (connection refused, no socket) is started again, as every CLI command
// would, instead of waiting for someone else to start it. A remote API server (team mode) is
// never started from here: the stream waits for it to come back and resumes the same way.
import WebSocket from 'ws';
import type { Endpoint } from './http.js';
import type { EventStreamMessage } from '../protocol/api.js';
import { errorMessage } from '../util/errors.js';
import { aloftHome, homePaths } from '../util/paths.js';
import type { EventSubscription, SubscribeOptions } from './types.js';

/** The daemon is not there at all (as opposed to a connection that broke). */
function refused(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT';
}

export function subscribeEvents(
  opts: SubscribeOptions & { home?: string; endpoint?: Endpoint; revive?: () => Promise<unknown> },
): EventSubscription {
  const endpoint: Endpoint = opts.endpoint ?? { kind: 'unix', socket: homePaths(opts.home ?? aloftHome()).socket };
  let last = opts.since ?? 0;
  let closed = false;
  let ws: WebSocket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let reviving = false;
  let attempt = 0;

  const connect = () => {
    if (closed) return;
    opts.onConnection?.(attempt === 0 ? 'connecting' : 'reconnecting');
    if (endpoint.kind === 'unix') ws = new WebSocket(`ws+unix://${endpoint.socket}:/v1/events?since=${last}`);
    else {
      const base = endpoint.url.replace(/^http/, 'ws').replace(/\/$/, '');
      ws = new WebSocket(`${base}/v1/events?since=${last}`, endpoint.token ? { headers: { authorization: `Bearer ${endpoint.token}` } } : {});
      // A refusal (401, 429) is a failed attempt like any other: said once, retried later.
      ws.on('unexpected-response', (_req, res) => {
        ws?.removeAllListeners('close');
        again(new Error(res.statusCode === 401 ? 'the API server refused the token (unauthorized)' : `the API server answered ${res.statusCode}`));
        res.resume();
      });
    }
    ws.on('open', () => {
      attempt = 0;
      opts.onConnection?.('connected');
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as EventStreamMessage;
      if (msg.type === 'snapshot') last = msg.snapshot.seq;
      else if (msg.event.seq <= last) return;
      else last = msg.event.seq;
      opts.onMessage(msg);
    });
    const later = (detail?: string) => {
      opts.onConnection?.('reconnecting', detail);
      retry = setTimeout(() => {
        retry = undefined;
        connect();
      }, Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
    };
    const again = (err?: Error) => {
      if (closed || retry || reviving) return;
      attempt++;
      if (!err || !refused(err) || !opts.revive || endpoint.kind === 'tcp') return later(err?.message);
      // Nobody serves the socket: start the daemon, then resume from `last` (the new daemon
      // reads the same event log, so the changes in between arrive, or a fresh snapshot).
      reviving = true;
      opts.onConnection?.('reconnecting', 'the daemon is not running; starting it');
      opts.revive().then(
        () => {
          reviving = false;
          if (!closed) connect();
        },
        (e: unknown) => {
          reviving = false;
          if (!closed) later(`could not start the daemon: ${errorMessage(e).split('\n')[0]}`);
        },
      );
    };
    ws.on('close', () => again());
    ws.on('error', (err) => again(err));
  };
  connect();
  return {
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      ws?.removeAllListeners();
      ws?.on('error', () => undefined);
      ws?.close();
      opts.onConnection?.('closed');
    },
  };
}
