// The store lives outside React so the dashboard can unmount (for `s` shell) and come back with
// everything it knew; React reads it with useSyncExternalStore. Messages are batched: one state
// change (and at most one render) per flush interval however fast events arrive.
import type { EventStreamMessage } from '../../protocol/api.js';
import type { ConnectionState, EventSubscription, SubscribeOptions } from '../../client/types.js';
import { emptyData, reduce, type TuiData } from './reducer.js';

export type Subscribe = (opts: SubscribeOptions) => EventSubscription;

export class TuiStore {
  private data: TuiData = emptyData();
  private queue: EventStreamMessage[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<() => void>();
  private sub: EventSubscription | undefined;

  /** @param flushMs how long messages may wait to be applied together (≈ one frame) */
  constructor(private readonly flushMs = 16) {}

  getSnapshot = (): TuiData => this.data;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** Starts following the daemon; `since` resumes after what this store already has. */
  connect(subscribe: Subscribe): void {
    this.sub?.close();
    this.sub = subscribe({
      since: this.data.seq,
      onMessage: (m) => this.push(m),
      onConnection: (state, detail) => this.setConnection(state, detail),
    });
  }

  close(): void {
    this.sub?.close();
    this.sub = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  push(msg: EventStreamMessage): void {
    this.queue.push(msg);
    if (this.flushMs <= 0) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  setConnection(state: ConnectionState, detail?: string): void {
    // Apply what is queued first so the banner never shows next to stale rows.
    this.flush();
    this.commit(reduce(this.data, { type: 'connection', state, detail }));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    this.commit(reduce(this.data, { type: 'messages', messages }));
  }

  private commit(next: TuiData): void {
    if (next === this.data) return;
    this.data = next;
    for (const l of this.listeners) l();
  }
}
