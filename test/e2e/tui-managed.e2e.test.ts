// Managed jobs reach `aloft top` from a real daemon: the event stream fills the TUI's store with
// the managed job as it moves to SUCCEEDED, and the managed-logs source the CLI hands the Logs
// view streams the job's output (and says so in one line when the job does not exist).
import { afterAll, describe, expect, it } from 'vitest';
import { subscribeEvents } from '../../src/client/events.js';
import { homePaths } from '../../src/util/paths.js';
import { managedLogStreamer } from '../../src/tui/data/managed-logs.js';
import { TuiStore } from '../../src/tui/state/store.js';
import { makeHome } from '../helpers/cli.js';

const env = makeHome('aloft-tm-');
afterAll(() => env.cleanup());

async function until<T>(what: string, fn: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('managed jobs in the dashboard, against a real daemon', () => {
  it('store follows the job to SUCCEEDED; its logs stream through the managed-logs source', async () => {
    const r = await env.run(['jobs', 'launch', '-d', '-y', '-n', 'tuiprobe', '--', 'echo hello-managed; sleep 1; echo bye'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const store = new TuiStore(0);
    store.connect((o) => subscribeEvents({ ...o, home: env.home }));
    try {
      const first = await until('the managed job in the store', () => store.getSnapshot().managed.get(1));
      expect(first.name).toBe('tuiprobe');
      const items: Array<{ type: string; text?: string }> = [];
      const stream = managedLogStreamer(homePaths(env.home).socket);
      await stream({ id: 1, follow: true }, (i) => items.push(i)).done;
      const text = items.filter((i) => i.type === 'text').map((i) => i.text).join('');
      expect(text).toContain('hello-managed\n');
      expect(text).toContain('bye\n');
      expect(items[items.length - 1]).toEqual({ type: 'end', job: null });
      const done = await until('SUCCEEDED in the store', () => {
        const m = store.getSnapshot().managed.get(1);
        return m?.status === 'SUCCEEDED' ? m : undefined;
      });
      expect(done.recoveries).toBe(0);
      expect(store.getSnapshot().managed.size).toBe(1);
      await expect(stream({ id: 99, follow: true }, () => undefined).done).rejects.toThrow(/managed job 99 does not exist/);
    } finally {
      store.close();
    }
  });
});
