// Clears a status line ("stopping alpha…") once the requests behind it have finished, so a stop
// or down that is over does not keep saying it is under way; a failure replaces it with its error.
import { useEffect } from 'react';
import { useData, useUi, type TrackedRequests } from '../context.js';
import type { TuiData } from '../state/reducer.js';

/** undefined while a request runs (or has not reached the event stream yet). */
export function outcomeOf(data: TuiData, t: TrackedRequests): { failed?: string } | undefined {
  let failed: string | undefined;
  for (const id of t.requestIds) {
    const r = data.requests.get(id);
    if (!r || r.status === 'RUNNING') return undefined;
    if (r.status === 'FAILED' && failed === undefined) failed = `${t.what}: ${r.error?.split('\n')[0] ?? 'failed'}`;
  }
  return { failed };
}

export function RequestWatch({ tracked }: { tracked: readonly TrackedRequests[] }) {
  const data = useData();
  const ui = useUi();
  useEffect(() => {
    for (const t of tracked) {
      const o = outcomeOf(data, t);
      if (o) ui.settle(t.flashId, o.failed ? { text: o.failed, level: 'error' } : undefined);
    }
  }, [data, tracked, ui]);
  return null;
}
