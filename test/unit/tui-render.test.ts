import { describe, expect, test } from 'vitest';
import type { ClusterRecord, JobRecord } from '../../src/protocol/model.js';
import { formatAge, formatDollars, formatDuration, fit, stripAnsi } from '../../src/tui/render/format.js';
import { statusColour } from '../../src/tui/render/colors.js';
import { CLUSTER_COLUMNS, clusterRow, eventRow, jobRow, lastJobText, requestRow, shownJob } from '../../src/tui/render/rows.js';
import { columnWidths, matchesFilter, plainTable, rowSegments, windowStart } from '../../src/tui/render/table.js';
import { clusterComparator } from '../../src/tui/render/sort.js';
import { parsePalette } from '../../src/tui/state/nav.js';
import { parseAutostop } from '../../src/tui/views/autostop.js';
import { onceText } from '../../src/tui/once.js';
import { cluster, ev, job, request, snapshot } from '../helpers/tui-harness.js';

describe('format', () => {
  test('durations and ages', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(3 * 60_000 + 5000)).toBe('3m05s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2h05m');
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe('3d4h');
    expect(formatDuration(-5)).toBe('0s');
    expect(formatAge(undefined, 0)).toBe('-');
    expect(formatAge(1000, 61_000)).toBe('1m00s');
  });
  test('dollars', () => {
    expect(formatDollars(0)).toBe('-');
    expect(formatDollars(1.234)).toBe('$1.23');
    expect(formatDollars(250.4)).toBe('$250');
  });
  test('fit pads and truncates', () => {
    expect(fit('abc', 5)).toBe('abc  ');
    expect(fit('abc', 5, 'right')).toBe('  abc');
    expect(fit('abcdef', 4)).toBe('abc…');
  });
  test('stripAnsi removes colours and control bytes', () => {
    expect(stripAnsi('\u001B[31mred\u001B[0m\u0007 ok')).toBe('red ok');
  });
});

describe('status → colour', () => {
  test('one function for every kind of status', () => {
    expect(statusColour('UP')).toBe('green');
    expect(statusColour('INIT')).toBe('yellow');
    expect(statusColour('STOPPED')).toBe('gray');
    expect(statusColour('RUNNING')).toBe('green');
    expect(statusColour('FAILED_SETUP')).toBe('red');
    expect(statusColour('SUCCEEDED')).toBe('blue');
    expect(statusColour('nonsense')).toBe('white');
  });
});

describe('object → row', () => {
  const now = 1_000_000_000;
  test('cluster row has every column and the status colour', () => {
    const c = cluster('train', {
      status: 'UP',
      infra: 'aws/us-east-1',
      numNodes: 2,
      hourlyPrice: 3.06,
      autostop: { idleMinutes: 10, down: true },
      launchedAt: now - 3600_000,
      lastJobId: 4,
    });
    const r = clusterRow(c, now, lastJobText(shownJob(c, [], job(c, 4, { status: 'FAILED' }))));
    expect(r.cells).toEqual(['train', 'aws/us-east-1', c.resources, '2', 'UP', '10m (down)', '$3.06', '1h00m', '4 FAILED']);
    expect(r.cells.length).toBe(CLUSTER_COLUMNS.length);
    expect(r.colour).toBe('green');
    expect(CLUSTER_COLUMNS[r.colourCol!]!.title).toBe('STATUS');
  });
  test('stopped clusters cost nothing and are dimmed', () => {
    const r = clusterRow(cluster('s', { status: 'STOPPED', hourlyPrice: 5 }), now);
    expect(r.cells[6]).toBe('-');
    expect(r.dim).toBe(true);
  });
  test('job row shows duration and exit code of failures', () => {
    const c = cluster('c');
    const r = jobRow(job(c, 7, { status: 'FAILED', exitCode: 3, startedAt: now - 90_000, endedAt: now - 30_000 }), now);
    expect(r.cells[3]).toBe('1m00s');
    expect(r.cells[5]).toBe('FAILED (3)');
    expect(r.colour).toBe('red');
  });
  test('request row spins while running and gives the failure reason', () => {
    const running = requestRow(request('r1', { stage: 'SETUP', createdAt: now - 12_000 }), now);
    expect(running.cells[3]).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] SETUP$/);
    expect(running.cells[4]).toBe('12s');
    const failed = requestRow(request('r2', { status: 'FAILED', error: 'no capacity\nstack', finishedAt: now, createdAt: now - 3000 }), now);
    expect(failed.cells[6]).toBe('3s');
    expect(failed.cells[7]).toBe('no capacity');
    expect(failed.colour).toBe('red');
  });
  test('event rows describe each kind', () => {
    const c = cluster('x', { status: 'UP' });
    expect(eventRow(ev({ kind: 'cluster', cluster: c })).cells.slice(1)).toEqual(['cluster', 'x', 'UP']);
    expect(eventRow(ev({ kind: 'job', job: job(c, 2, { status: 'FAILED', exitCode: 1 }) })).cells[3]).toBe('FAILED (exit 1)');
    expect(eventRow(ev({ kind: 'notice', message: 'autostop fired', level: 'warn', name: 'x' })).colour).toBe('yellow');
    expect(eventRow(ev({ kind: 'cluster-removed', name: 'x' })).cells[3]).toBe('removed');
  });
});

describe('table layout', () => {
  const cols = [{ title: 'NAME' }, { title: 'STATUS' }, { title: 'WHAT', flex: true }];
  const rows = [{ key: 'a', cells: ['alpha', 'UP', 'x'.repeat(50)], colour: 'green' as const, colourCol: 1 }];
  test('natural widths, then flexible columns shrink first', () => {
    expect(columnWidths(cols, rows, 200)).toEqual([5, 6, 50]);
    expect(columnWidths(cols, rows, 30)).toEqual([5, 6, 15]);
  });
  test('80 columns: NAME and STATUS stay whole, AGE and LAST JOB too; NODES, AUTOSTOP, $/HR give way first', () => {
    const now = Date.now();
    const c = cluster('train-llama-west', {
      infra: 'aws/us-east-1',
      resources: '2x(gpus=A100:8, cpus=96, mem=1152GiB)',
      numNodes: 2,
      status: 'INIT',
      autostop: { idleMinutes: 30, down: true },
      hourlyPrice: 65.54,
      launchedAt: now - 3 * 3_600_000,
      lastJobId: 12,
    });
    const row = clusterRow(c, now, '12 SUCCEEDED');
    const widths = columnWidths(CLUSTER_COLUMNS, [row], 77);
    const byTitle = Object.fromEntries(CLUSTER_COLUMNS.map((col, i) => [col.title, widths[i]]));
    const line = rowSegments(CLUSTER_COLUMNS, widths, row).map((x) => x.text).join('');
    expect(line.length).toBeLessThanOrEqual(77);
    for (const whole of ['train-llama-west', 'INIT', '3h', '12 SUCCEEDED']) expect(line, whole).toContain(whole);
    expect(byTitle['NODES']).toBe(0);
    expect(byTitle['AUTOSTOP']).toBe(0);
    const head = plainTable(CLUSTER_COLUMNS, [row], 77).split('\n')[0]!;
    expect(head).not.toContain('NODES');
    expect(head).toMatch(/^NAME\s+.*STATUS\s+.*AGE\s+LAST JOB$/);
    // wide: every column, in full
    const wide = plainTable(CLUSTER_COLUMNS, [row], 200);
    expect(wide.split('\n')[0]).toMatch(/NAME\s+INFRA\s+RESOURCES\s+NODES\s+STATUS\s+AUTOSTOP\s+\$\/HR\s+AGE\s+LAST JOB/);
    expect(wide).toContain('2x(gpus=A100:8, cpus=96, mem=1152GiB)');
    // very narrow: only the name and the status are left, whole
    const tiny = columnWidths(CLUSTER_COLUMNS, [row], 30);
    expect(rowSegments(CLUSTER_COLUMNS, tiny, row).map((x) => x.text).join('')).toMatch(/^train-llama-west\s+INIT/);
  });
  test('segments colour only the status cell', () => {
    const segs = rowSegments(cols, [5, 6, 4], rows[0]!);
    expect(segs).toEqual([{ text: 'alpha  ' }, { text: 'UP    ', colour: 'green' }, { text: '  xxx…' }]);
  });
  test('plain table and filter', () => {
    expect(plainTable(cols, rows, 40).split('\n')[0]).toBe('NAME   STATUS  WHAT');
    expect(matchesFilter(rows[0]!, 'ALP')).toBe(true);
    expect(matchesFilter(rows[0]!, 'zzz')).toBe(false);
  });
  test('window keeps the selection visible', () => {
    expect(windowStart(0, 100, 10)).toBe(0);
    expect(windowStart(15, 100, 10, 0)).toBe(6);
    expect(windowStart(7, 100, 10, 6)).toBe(6);
    expect(windowStart(3, 100, 10, 6)).toBe(3);
    expect(windowStart(99, 100, 10, 0)).toBe(90);
  });
  test('sort by status puts INIT then UP then STOPPED', () => {
    const list = [cluster('b', { status: 'STOPPED' }), cluster('a', { status: 'UP' }), cluster('c', { status: 'INIT' })];
    expect(list.sort(clusterComparator('status')).map((c) => c.name)).toEqual(['c', 'a', 'b']);
  });
});

describe('palette and prompts', () => {
  test(':commands', () => {
    expect(parsePalette(':clusters')).toEqual({ views: [{ kind: 'clusters' }] });
    expect(parsePalette('jobs train')).toEqual({ views: [{ kind: 'clusters' }, { kind: 'jobs', cluster: 'train' }] });
    // no cluster: every cluster's jobs (k9s's all namespaces)
    expect(parsePalette('jobs')).toEqual({ views: [{ kind: 'jobs' }] });
    expect(parsePalette('requests')).toEqual({ views: [{ kind: 'requests' }] });
    expect(parsePalette('events')).toEqual({ views: [{ kind: 'events' }] });
    expect(parsePalette('gpus')).toEqual({ views: [{ kind: 'gpus' }] });
    expect(parsePalette('gpus H100')).toEqual({ views: [{ kind: 'gpus' }, { kind: 'gpus', accelerator: 'H100' }] });
    expect(parsePalette('bogus')).toHaveProperty('error');
    expect(parsePalette('logs alpha 3')).toEqual({ views: [{ kind: 'clusters' }, { kind: 'logs', cluster: 'alpha', job: 3 }] });
    expect(parsePalette('logs alpha')).toEqual({ views: [{ kind: 'clusters' }, { kind: 'logs', cluster: 'alpha', job: undefined }] });
    // not logs(alpha/NaN)
    expect(parsePalette('logs alpha abc')).toEqual({ error: 'usage: :logs CLUSTER [JOB] (JOB is a job id, not "abc")' });
  });
  test('autostop input', () => {
    expect(parseAutostop('30')).toEqual({ idleMinutes: 30, down: false });
    expect(parseAutostop('30 down')).toEqual({ idleMinutes: 30, down: true });
    expect(parseAutostop('off')).toEqual({ cancel: true });
    expect(parseAutostop('soon')).toHaveProperty('error');
  });
});

describe('--once', () => {
  test('prints the clusters view as plain text', () => {
    const now = Date.now();
    const a = cluster('alpha', { hourlyPrice: 2, lastJobId: 1, launchedAt: now - 120_000 });
    const text = onceText(snapshot({ clusters: [cluster('beta', { status: 'STOPPED' }), a], jobs: [job(a, 1, { status: 'SUCCEEDED' })] }), {
      home: '/h',
      version: '1.2.3',
      now,
    });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('aloft 1.2.3 · /h · clusters 2 (UP 1, STOPPED 1) · UP $2.00/hr');
    expect(lines[1]).toMatch(/^NAME\s+INFRA\s+RESOURCES\s+NODES\s+STATUS\s+AUTOSTOP\s+\$\/HR\s+AGE\s+LAST JOB$/);
    expect(lines[2]).toMatch(/^alpha .* UP .* \$2\.00\s+2m00s\s+1 SUCCEEDED$/);
    expect(lines[3]).toMatch(/^beta .* STOPPED/);
    expect(text).not.toMatch(/\u001B/);
    expect(onceText(snapshot(), { home: '/h' })).toContain('No existing clusters.');
  });
});

describe('incremental rows (derive.ts)', () => {
  const now = 1_000_000_000;
  test('sortReusing gives what a fresh sort gives, reusing the order when nothing moved', async () => {
    const { sortReusing } = await import('../../src/tui/render/derive.js');
    const r = (() => {
      let s = 7;
      return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff), s / 0x80000000);
    })();
    const statuses = ['UP', 'INIT', 'STOPPED', 'WEIRD'] as const;
    let map = new Map(Array.from({ length: 40 }, (_, i) => [`c${i}`, cluster(`c${i}`, { status: 'UP', launchedAt: now - (i % 5) * 1000 })]));
    for (const key of ['name', 'age', 'status'] as const) {
      const cmp = clusterComparator(key);
      let prev: ClusterRecord[] | undefined;
      for (let step = 0; step < 200; step++) {
        const next = new Map(map);
        const name = `c${Math.floor(r() * 45)}`;
        const x = r();
        if (x < 0.1) next.delete(name);
        else if (x < 0.6) next.set(name, { ...(next.get(name) ?? cluster(name)), status: statuses[Math.floor(r() * 4)]! });
        else next.set(name, { ...(next.get(name) ?? cluster(name)), launchedAt: now - Math.floor(r() * 5) * 1000 });
        map = next;
        const got = sortReusing(map, prev, (c) => c.name, cmp);
        expect(got).toEqual([...map.values()].sort(cmp));
        got.forEach((c) => expect(c).toBe(map.get(c.name)));
        prev = got;
      }
    }
  });

  test('RowCache rebuilds a row only when its record, now or deps change', async () => {
    const { RowCache } = await import('../../src/tui/render/derive.js');
    let builds = 0;
    const cache = new RowCache<ClusterRecord, string>((c, n, last) => (builds++, clusterRow(c, n, last)));
    const a = cluster('a', { lastJobId: 1 });
    const b = cluster('b');
    const rows1 = cache.rowsOf([a, b], now, (c) => (c === a ? '1 RUNNING' : '-'));
    expect(builds).toBe(2);
    // equal text (a new string each frame) is the same dep
    expect(cache.rowsOf([a, b], now, (c) => (c === a ? ['1', 'RUNNING'].join(' ') : '-'))).toBe(rows1);
    expect(builds).toBe(2);
    const rows2 = cache.rowsOf([a, b], now, (c) => (c === a ? '1 SUCCEEDED' : '-'));
    expect(builds).toBe(3);
    expect(rows2[0]!.cells[8]).toBe('1 SUCCEEDED');
    expect(rows2[1]).toBe(rows1[1]);
    cache.rowsOf([a, b], now + 1000, (c) => (c === a ? '1 SUCCEEDED' : '-'));
    expect(builds).toBe(5);
    const b2 = { ...b, status: 'STOPPED' as const };
    const rows3 = cache.rowsOf([b2, a], now + 1000, (c) => (c === a ? '1 SUCCEEDED' : '-'));
    expect(builds).toBe(6);
    expect(rows3.map((x) => x.cells[4])).toEqual(['STOPPED', 'UP']);
  });
});

describe('LAST JOB: running work first', () => {
  test('the newest running job beats a newer finished or pending one; others active are counted', () => {
    const c = cluster('c', { lastJobId: 5 });
    const j = (id: number, status: JobRecord['status']) => job(c, id, { status });
    // nothing active: the latest job, as before
    expect(lastJobText(shownJob(c, [], j(5, 'SUCCEEDED')))).toBe('5 SUCCEEDED');
    expect(lastJobText(shownJob(cluster('n'), [], undefined))).toBe('-');
    // job 2 runs, job 5 (the latest) waits: the running one shows, with one more active
    expect(lastJobText(shownJob(c, [j(2, 'RUNNING'), j(5, 'PENDING')], j(5, 'PENDING')))).toBe('2 RUNNING +1');
    // two running: the newer; setting up beats pending
    expect(shownJob(c, [j(2, 'RUNNING'), j(3, 'RUNNING'), j(4, 'PENDING')], undefined)!.id).toBe(3);
    expect(shownJob(c, [j(4, 'PENDING'), j(2, 'SETTING_UP')], undefined)!.id).toBe(2);
  });
});
