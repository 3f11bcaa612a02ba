// Long operations (launch, start, stop, down) run as requests: a row in the database with the
// current stage, plus an in-memory progress feed that `GET /v1/stream/request` replays and follows.
import { EventEmitter } from 'node:events';
import type { RequestStreamItem } from '../protocol/api.js';
import type { RequestKind, RequestRecord, StateEvent } from '../protocol/model.js';
import { UserError, errorMessage } from '../util/errors.js';
import { shortId } from '../util/names.js';
import type { Store } from './store.js';

const KEEP_FINISHED_MS = 10 * 60_000;

interface Live {
  history: RequestStreamItem[];
  feed: EventEmitter;
  abort: AbortController;
}

/** Thrown by a request's work when `aloft requests cancel` stopped it. */
export class RequestCancelled extends Error {
  constructor(readonly stage?: string) {
    super(`cancelled${stage ? ` at ${stage}` : ''} by \`aloft requests cancel\``);
    this.name = 'RequestCancelled';
  }
}

export class RequestTracker {
  private live = new Map<string, Live>();

  constructor(private readonly store: Store) {}

  create(kind: RequestKind, cluster: string, extra: Partial<RequestRecord> = {}): RequestRecord {
    const req: RequestRecord = {
      id: extra.id ?? `${kind}-${shortId(4)}`,
      kind,
      cluster,
      status: 'RUNNING',
      createdAt: Date.now(),
      ...extra,
    };
    this.live.set(req.id, { history: [], feed: new EventEmitter(), abort: new AbortController() });
    return this.store.putRequest(req);
  }

  stage(id: string, stage: string, message?: string): void {
    const req = this.store.getRequest(id);
    if (!req) return;
    this.store.putRequest({ ...req, stage, stageStartedAt: Date.now() });
    this.push(id, { type: 'stage', stage, message, ts: Date.now() });
  }

  progress(id: string, message: string): void {
    this.push(id, { type: 'progress', message, ts: Date.now() });
  }

  /** Aborted when the request is cancelled; work checks it between steps. */
  signal(id: string): AbortSignal {
    return this.live.get(id)?.abort.signal ?? new AbortController().signal;
  }

  /**
   * Asks a running request to stop. Its work notices at its next step, undoes what it created,
   * and finishes CANCELLED. Returns the request as it is now.
   */
  cancel(id: string): RequestRecord | undefined {
    const req = this.store.getRequest(id);
    const l = this.live.get(id);
    if (req?.status === 'RUNNING' && l && !l.abort.signal.aborted) {
      l.abort.abort(new RequestCancelled(req.stage));
      this.push(id, { type: 'progress', message: `cancelling (at ${req.stage ?? 'start'})…`, ts: Date.now() });
    }
    return req;
  }

  finish(id: string, outcome: { error?: unknown; jobId?: number }): RequestRecord | undefined {
    const req = this.store.getRequest(id);
    if (!req) return undefined;
    const cancelled = outcome.error instanceof RequestCancelled;
    const done: RequestRecord = {
      ...req,
      status: cancelled ? 'CANCELLED' : outcome.error ? 'FAILED' : 'SUCCEEDED',
      finishedAt: Date.now(),
      ...(outcome.error ? { error: errorMessage(outcome.error) } : {}),
      ...(outcome.jobId !== undefined ? { jobId: outcome.jobId } : {}),
    };
    this.store.putRequest(done);
    this.push(id, { type: 'done', request: done });
    setTimeout(() => this.live.delete(id), KEEP_FINISHED_MS).unref();
    return done;
  }

  /**
   * A request a previous daemon started (a client re-attaching after a crash): this daemon's
   * recovery settles it shortly; its end is sent when the store records it.
   */
  private awaitRecovered(id: string, send: (item: RequestStreamItem) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const onEvent = (e: StateEvent) => {
        if (e.kind !== 'request' || e.request?.id !== id || e.request.status === 'RUNNING') return;
        stop();
        send({ type: 'done', request: e.request });
      };
      const stop = () => {
        this.store.off('event', onEvent);
        resolve();
      };
      this.store.on('event', onEvent);
      signal.addEventListener('abort', stop, { once: true });
      // settled between the read above and the subscription
      const now = this.store.getRequest(id);
      if (now && now.status !== 'RUNNING') {
        stop();
        send({ type: 'done', request: now });
      }
    });
  }

  private push(id: string, item: RequestStreamItem): void {
    const l = this.live.get(id);
    if (!l) return;
    l.history.push(item);
    l.feed.emit('item', item);
  }

  /** Replays a request's progress and follows it until it is done. */
  follow(id: string, send: (item: RequestStreamItem) => void, signal: AbortSignal): Promise<void> {
    const req = this.store.getRequest(id);
    if (!req) return Promise.reject(new UserError(`unknown request '${id}'`, 'NO_REQUEST'));
    const l = this.live.get(id);
    if (!l && req.status === 'RUNNING') return this.awaitRecovered(id, send, signal);
    if (!l || req.status !== 'RUNNING') {
      for (const item of l?.history ?? []) if (item.type !== 'done') send(item);
      send({ type: 'done', request: req });
      return Promise.resolve();
    }
    for (const item of l.history) send(item);
    return new Promise((resolve) => {
      const onItem = (item: RequestStreamItem) => {
        send(item);
        if (item.type === 'done') stop();
      };
      const stop = () => {
        l.feed.off('item', onItem);
        resolve();
      };
      l.feed.on('item', onItem);
      signal.addEventListener('abort', stop, { once: true });
    });
  }
}
