// Colours as the terminal gets them: with colour forced on, the Events view paints a notice's
// WHAT in its level's colour (warn yellow, error red) and the managed table its STATUS cell.
import { afterEach, describe, expect, test, vi } from 'vitest';

// chalk decides on colour support when it is first imported: before the app loads.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

import { cleanup } from 'ink-testing-library';
import { ev, KEY, managed, renderTop, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const YELLOW = '\u001B[33m';
const RED = '\u001B[31m';
const plain = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '');
/** The ANSI colour opened right before `text` on the lowest line showing it (table rows sit below detail lines). */
function colourBefore(frame: string, text: string): string | undefined {
  const line = frame.split('\n').reverse().find((l) => plain(l).includes(text));
  if (!line) return undefined;
  const at = line.indexOf(text);
  const codes = line.slice(0, at).match(/\u001B\[3\dm/g);
  return codes?.[codes.length - 1];
}

describe('level and status colours on screen', () => {
  test('preemption / recovery notices in the events view', async () => {
    const h = renderTop({
      snapshot: snapshot({
        seq: 10,
        events: [
          ev({ seq: 8, kind: 'notice', level: 'warn', name: 'mj-1', message: 'cluster mj-1: spot node(s) preempted' }),
          ev({ seq: 9, kind: 'notice', level: 'error', name: 'mj-2', message: 'managed job 2 (ft): FAILED_NO_RESOURCE' }),
        ],
      }),
      columns: 140,
    });
    await h.waitFor((f) => plain(f).includes('no clusters'));
    await h.command('events');
    await h.waitFor((f) => plain(f).includes('spot node(s) preempted'));
    h.feed.event(ev({ seq: 11, kind: 'notice', level: 'warn', name: 'mj-1', message: 'managed job 1 (train): preempted; recovering (recovery 1)' }));
    const f = await h.waitFor((fr) => plain(fr).includes('recovering (recovery 1)'));
    expect(colourBefore(f, 'cluster mj-1: spot node(s) preempted')).toBe(YELLOW);
    expect(colourBefore(f, 'managed job 1 (train): preempted; recovering')).toBe(YELLOW);
    expect(colourBefore(f, 'managed job 2 (ft): FAILED_NO_RESOURCE')).toBe(RED);
  });

  test('managed statuses in the table', async () => {
    const h = renderTop({
      snapshot: snapshot({ managed: [managed({ id: 1, name: 'aa', status: 'RECOVERING' }), managed({ id: 2, name: 'bb', status: 'FAILED_CONTROLLER', endedAt: Date.now() })] }),
      columns: 140,
    });
    await h.command('managed');
    const f = await h.waitFor((fr) => plain(fr).includes('FAILED_CONTROLLER'));
    expect(colourBefore(f, 'RECOVERING')).toBe(YELLOW);
    expect(colourBefore(f, 'FAILED_CONTROLLER')).toBe(RED);
  });
});
