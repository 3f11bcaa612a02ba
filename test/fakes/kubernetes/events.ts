// core/v1 Events as the components write them, with the event correlator's de-duplication (the
// same object, reason and message bumps `count` and `lastTimestamp` instead of adding a row).
import { randomBytes } from 'node:crypto';
import { now, type KObj, type Store } from './store.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  /** correlation key → event name, so a repeat does not scan every event */
  private readonly seen = new Map<string, { ns: string; name: string }>();
  constructor(private readonly store: Store) {}

  record(obj: KObj, type: EventType, reason: string, message: string, source: { component: string; host?: string }, fieldPath?: string): void {
    const ns = obj.metadata.namespace || 'default';
    const key = JSON.stringify([obj.metadata.uid, reason, message, source.component, fieldPath ?? '']);
    const t = now();
    const prev = this.seen.get(key);
    if (prev && this.store.mutate('events', prev.ns, prev.name, (e) => {
      e.count = (e.count ?? 1) + 1;
      e.lastTimestamp = t;
    })) return;
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    this.seen.set(key, { ns, name });
    this.store.create('events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        apiVersion: obj.apiVersion,
        resourceVersion: obj.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      source,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    });
  }
}
