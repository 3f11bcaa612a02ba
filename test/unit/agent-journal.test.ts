// The node's job journal on real files: replay, torn lines, compaction.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { Journal } from '../../src/agent/journal.js';
import type { AgentJob } from '../../src/agent/protocol.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function job(id: number, status: AgentJob['status']): AgentJob {
  return { id, status, numNodes: 1, demand: { cpus: 1, gpus: 0 }, resources: '1x[CPU:1]', submittedAt: id, taskId: `t${id}` };
}

test('replays last-wins, skips a torn line, continues ids and seq', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-journal-'));
  dirs.push(dir);
  const path = join(dir, 'j.jsonl');
  const j = new Journal(path);
  const a = j.allocId();
  const b = j.allocId();
  j.put(job(a, 'PENDING'), {});
  j.put(job(b, 'PENDING'), {});
  j.put(job(a, 'RUNNING'), { phase: 'run', pid: 123 });
  j.put(job(a, 'SUCCEEDED'), {});
  j.close();
  appendFileSync(path, '{"s":99,"j":{"id":7,"sta');
  const r = new Journal(path);
  expect([...r.jobs.values()].map((e) => [e.job.id, e.job.status])).toEqual([
    [a, 'SUCCEEDED'],
    [b, 'PENDING'],
  ]);
  expect(r.seq).toBe(4);
  expect(r.allocId()).toBe(3);
  r.close();
});

test('compaction keeps one line per job and every active job; ids never go back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-journal-'));
  dirs.push(dir);
  const path = join(dir, 'j.jsonl');
  const j = new Journal(path);
  const running = j.allocId();
  j.put(job(running, 'RUNNING'), { pid: 1 });
  for (let i = 0; i < 10_050; i++) {
    const id = j.allocId();
    j.put(job(id, 'PENDING'), {});
    j.put(job(id, 'SUCCEEDED'), {});
  }
  const dropped: number[] = [];
  j.onDrop = (ids) => dropped.push(...ids);
  j.compact();
  expect(dropped).toEqual(Array.from({ length: 51 }, (_, i) => i + 2));
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  expect(lines.length).toBe(10_000 + 1);
  expect(j.jobs.has(running)).toBe(true);
  expect(j.jobs.size).toBe(10_000);
  // the oldest finished jobs went first
  expect(j.jobs.has(2)).toBe(false);
  expect(j.jobs.has(running + 10_050)).toBe(true);
  const seq = j.seq;
  const next = j.nextId;
  j.close();
  const r = new Journal(path);
  expect(r.seq).toBe(seq);
  expect(r.nextId).toBe(next);
  expect(r.jobs.get(running)?.job.status).toBe('RUNNING');
  expect(r.jobs.get(running)?.rt.pid).toBe(1);
  r.close();
});

test('a job updated many times does not grow the journal without bound', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-journal-'));
  dirs.push(dir);
  const path = join(dir, 'j.jsonl');
  const j = new Journal(path);
  const id = j.allocId();
  for (let i = 0; i < 25_000; i++) j.put(job(id, 'RUNNING'), { pid: i });
  expect(readFileSync(path, 'utf8').trim().split('\n').length).toBeLessThan(6_000);
  j.close();
  expect(new Journal(path).jobs.get(id)?.rt.pid).toBe(24_999);
});
