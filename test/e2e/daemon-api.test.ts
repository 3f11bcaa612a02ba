// The daemon's API beyond the CLI basics: the event stream (snapshot, then numbered changes,
// resumable), long requests never blocking reads, file mounts, and ctrl-c detaching.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { eventsSocket } from '../helpers/api.js';
import { BIN, makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import type { EventStreamMessage } from '../../src/protocol/api.js';

function collect(home: string, since: number): { msgs: EventStreamMessage[]; ws: WebSocket; open: Promise<void> } {
  const msgs: EventStreamMessage[] = [];
  const ws = eventsSocket(home, `since=${since}`);
  ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
  return { msgs, ws, open: new Promise((r) => ws.once('open', () => r())) };
}

describe('daemon API', () => {
  let a: AloftEnv;
  beforeAll(() => {
    a = makeHome();
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('event stream: a snapshot, then changes numbered without gaps; a client resumes from its last sequence', async () => {
    await a.run(['status']);
    const first = collect(a.home, 0);
    await first.open;
    await waitFor(() => first.msgs.length >= 1, 5000, 'snapshot');
    const snap = first.msgs[0]!;
    expect(snap.type).toBe('snapshot');
    const base = snap.type === 'snapshot' ? snap.snapshot.seq : -1;
    const r = await a.run(['launch', '-y', '-c', 'ev', '--', 'echo events']);
    expect(r.code).toBe(0);
    await waitFor(() => first.msgs.some((m) => m.type === 'event' && m.event.kind === 'job' && m.event.job?.status === 'SUCCEEDED'), 10_000, 'job event');
    const events = first.msgs.filter((m): m is Extract<EventStreamMessage, { type: 'event' }> => m.type === 'event');
    const seqs = events.map((m) => m.event.seq);
    expect(seqs[0]).toBe(base + 1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    expect(events.some((m) => m.event.kind === 'cluster' && m.event.cluster?.status === 'UP')).toBe(true);
    first.ws.close();

    // Resume from the middle: exactly the missed events, no snapshot.
    const mid = seqs[Math.floor(seqs.length / 2)]!;
    const again = collect(a.home, mid);
    await again.open;
    await waitFor(() => again.msgs.length >= seqs.length - seqs.indexOf(mid) - 1, 5000, 'replay');
    expect(again.msgs.every((m) => m.type === 'event')).toBe(true);
    expect(again.msgs.map((m) => (m.type === 'event' ? m.event.seq : 0))).toEqual(seqs.filter((s) => s > mid));
    again.ws.close();
  });

  it('a launch in flight never blocks status, queue or logs', async () => {
    await a.run(['daemon', 'stop']);
    // Started explicitly with the pause: a racing CLI call would start it without.
    await a.run(['daemon', 'start'], { env: { ALOFT_DEBUG_PAUSE_STAGE: 'PROVISION:20000' } });
    const launch = a.run(['launch', '-y', '-d', '-c', 'slow', '--', 'true'], { env: { ALOFT_DEBUG_PAUSE_STAGE: 'PROVISION:20000' } });
    await waitFor(async () => JSON.parse((await a.run(['requests', '-o', 'json'])).stdout).some((q: { stage?: string; status: string }) => q.stage === 'PROVISION' && q.status === 'RUNNING'), 10_000, 'launch at PROVISION');
    let launchDone = false;
    void launch.then(() => (launchDone = true));
    const s = await a.run(['status', '-o', 'json']);
    const q = await a.run(['queue', 'ev', '-o', 'json']);
    const l = await a.run(['logs', 'ev', '1', '--no-follow']);
    // all three answered while the launch still sat in PROVISION (paused there for 20 s)
    expect(launchDone).toBe(false);
    expect(JSON.parse((await a.run(['requests', '-o', 'json'])).stdout).some((r: { stage?: string; status: string }) => r.stage === 'PROVISION' && r.status === 'RUNNING')).toBe(true);
    expect(JSON.parse(s.stdout).find((c: { name: string }) => c.name === 'slow')?.status).toBe('INIT');
    expect(JSON.parse(q.stdout)).toHaveLength(1);
    expect(l.stdout).toContain('events');
    expect((await launch).code).toBe(0);
    await a.run(['daemon', 'stop']); // the next tests get a daemon without the pause
  });

  it('copies local file mounts (a file and a directory) to every node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-fm-'));
    writeFileSync(join(dir, 'one.txt'), 'file-mount-file\n');
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'x.csv'), 'a,b\n');
    const yaml = join(dir, 'fm.yaml');
    writeFileSync(yaml, `num_nodes: 2\nfile_mounts:\n  ~/conf/one.txt: ./one.txt\n  ~/datasets: ./data\nrun: cat ~/conf/one.txt ~/datasets/x.csv\n`);
    const r = await a.run(['launch', '-y', '-c', 'fm', yaml]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/file-mount-file/g)).toHaveLength(2);
    expect(r.stdout.match(/a,b/g)).toHaveLength(2);
  });

  it('ctrl-c detaches from a streaming launch without killing the job', async () => {
    const child = spawn(process.execPath, [BIN, 'exec', 'ev', '--', 'echo started; sleep 30'], { env: { ...process.env, ...a.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    await waitFor(() => out.includes('started'), 10_000, 'output');
    child.kill('SIGINT');
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    expect(code).toBe(130);
    expect(err).toMatch(/detached; the job keeps running\. Re-attach with: aloft logs ev \d+/);
    const jobs = JSON.parse((await a.run(['queue', 'ev', '-o', 'json'])).stdout) as Array<{ id: number; status: string }>;
    expect(jobs[0]!.status).toBe('RUNNING');
    await a.run(['cancel', 'ev', String(jobs[0]!.id)]);
  });
});
