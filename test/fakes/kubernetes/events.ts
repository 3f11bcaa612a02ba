// core/v1 Events as the components write them, with the event correlator's de-duplication (the
// same object, reason and message bumps `count` and `lastTimestamp` instead of adding a row).
import { randomBytes } from 'node:crypto';
import { now, type KObj, type Store } from './store.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(private readonly store: Store) {}

  record(obj: KObj, type: EventType, reason: string, message: string, source: { component: string; host?: string }, fieldPath?: string): void {
    const ns = obj.metadata.namespace || 'default';
    const existing = this.store
      .list('events', ns)
      .find((e) => e.involvedObject?.uid === obj.metadata.uid && e.reason === reason && e.message === message && e.source?.component === source.component && e.involvedObject?.fieldPath === fieldPath);
    const t = now();
    if (existing) {
      this.store.mutate('events', ns, existing.metadata.name, (e) => {
        e.count = (e.count ?? 1) + 1;
        e.lastTimestamp = t;
      });
      return;
    }
    this.store.create('events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
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
