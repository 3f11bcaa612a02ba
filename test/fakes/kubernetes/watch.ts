// ?watch=1: a chunked stream of {"type":"ADDED|MODIFIED|DELETED","object":…} lines. Selectors
// apply to each event the way the watch cache applies them: an object that stops matching is
// sent as DELETED, one that starts matching as ADDED. Without a resourceVersion (or with "0")
// the stream starts with the current objects; with one, it replays the history after it, or
// sends a 410 Expired ERROR when that history is gone.
import type { ServerResponse } from 'node:http';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, type Change, type KObj, type Store } from './store.js';

export interface WatchRequest {
  resource: string;
  ns?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  /** turns each object into what is sent (a Table row for kubectl get -w) */
  render: (o: KObj) => unknown;
}

export function serveWatch(store: Store, res: ServerResponse, w: WatchRequest, onClose: (stop: () => void) => void): void {
  const labels = parseLabelSelector(w.labelSelector);
  const fields = parseFieldSelector(w.fieldSelector, w.resource);
  const inScope = (o: KObj) => w.ns === undefined || o.metadata.namespace === w.ns;
  const matches = (o: KObj) => inScope(o) && matchLabels(labels, o.metadata.labels) && matchFields(fields, o);
  const key = (o: KObj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const visible = new Set<string>();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders(); // a client waits for the headers before it reads events
  const send = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + '\n');

  const apply = (c: Change) => {
    if (c.resource !== w.resource) return;
    const o = c.object;
    const k = key(o);
    const was = visible.has(k);
    const now = c.type !== 'DELETED' && matches(o);
    if (c.type === 'DELETED') {
      if (was || matches(o)) (visible.delete(k), send('DELETED', w.render(o)));
    } else if (now && !was) (visible.add(k), send('ADDED', w.render(o)));
    else if (now && was) send('MODIFIED', w.render(o));
    else if (!now && was) (visible.delete(k), send('DELETED', w.render(o)));
  };

  const rv = w.resourceVersion;
  if (!rv || rv === '0' || w.sendInitialEvents) {
    for (const o of store.list(w.resource, w.ns)) if (matches(o)) (visible.add(key(o)), send('ADDED', w.render(o)));
    if (w.sendInitialEvents)
      send('BOOKMARK', { kind: '', apiVersion: '', metadata: { resourceVersion: store.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } });
  } else {
    const n = Number(rv);
    const history = Number.isFinite(n) ? store.changesSince(n) : 'gone';
    if (history === 'gone') {
      send('ERROR', new ApiError(410, 'Expired', `too old resource version: ${rv} (${store.resourceVersion})`).toStatus());
      res.end();
      return;
    }
    // Objects that existed at `rv` and still match are "visible" to the client already.
    const replay = new Set(history.map((c) => key(c.object)));
    for (const o of store.list(w.resource, w.ns)) if (matches(o) && !replay.has(key(o))) visible.add(key(o));
    for (const c of history) {
      if (c.resource !== w.resource) continue;
      if (c.type === 'ADDED') apply(c);
      else {
        // The client saw the object as it was at rv; as the fake keeps no old versions, an object
        // that matches now is taken to have matched then.
        if (matches(c.object)) visible.add(key(c.object));
        apply(c);
      }
    }
  }
  const unsubscribe = store.subscribe(apply);
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  if (w.timeoutSeconds && w.timeoutSeconds > 0) timer = setTimeout(stop, w.timeoutSeconds * 1000);
  res.on('close', stop);
  onClose(stop);
}
