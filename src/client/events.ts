// The event stream: snapshot, then changes by sequence; reconnects by itself and resumes from
// the last sequence it saw, so a daemon restart loses and duplicates nothing.
import WebSocket from 'ws';
import type { EventStreamMessage } from '../protocol/api.js';
import { aloftHome, homePaths } from '../util/paths.js';
import type { EventSubscription, SubscribeOptions } from './types.js';

export function subscribeEvents(opts: SubscribeOptions & { home?: string }): EventSubscription {
  const socket = homePaths(opts.home ?? aloftHome()).socket;
  let last = opts.since ?? 0;
  let closed = false;
  let ws: WebSocket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let attempt = 0;

  const connect = () => {
    if (closed) return;
    opts.onConnection?.(attempt === 0 ? 'connecting' : 'reconnecting');
    ws = new WebSocket(`ws+unix://${socket}:/v1/events?since=${last}`);
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
    const again = (detail?: string) => {
      if (closed || retry) return;
      attempt++;
      opts.onConnection?.('reconnecting', detail);
      retry = setTimeout(() => {
        retry = undefined;
        connect();
      }, Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
    };
    ws.on('close', () => again());
    ws.on('error', (err) => again(err.message));
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
