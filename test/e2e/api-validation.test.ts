// Issue 17.8: every API method checks its parameters (protocol/schemas.ts) before it acts: bad
// input is 400 with one line naming the field, never 500, never a half-done action.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PARAMS } from '../../src/protocol/schemas.js';
import type { EventStreamMessage } from '../../src/protocol/api.js';
import { apiRequest, apiTask, eventsSocket, rpc } from '../helpers/api.js';
import { makeHome, REMOTE, type AloftEnv } from '../helpers/cli.js';

function get(home: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(apiRequest(home, path), (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

describe('API input checking (issue 17.8)', () => {
  let a: AloftEnv;
  const clusters = async () => (await rpc(a.home, 'status', {})).body.clusters.map((c: { name: string }) => c.name);
  beforeAll(async () => {
    a = makeHome();
    const r = await a.run(['launch', '-y', '-c', 'keep', '--', 'echo kept']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('down {"all":"no"} is refused and tears nothing down', async () => {
    const r = await rpc(a.home, 'down', { all: 'no' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('down: all: expected true or false, got "no"');
    expect(await clusters()).toEqual(['keep']);
  });

  it('start with idleMinutes -5 is refused before the cluster is touched', async () => {
    const before = (await rpc(a.home, 'requests', {})).body.requests.length;
    const r = await rpc(a.home, 'start', { clusters: ['keep'], idleMinutes: -5 });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('start: idleMinutes: expected minutes ≥ 0, got -5');
    expect((await rpc(a.home, 'requests', {})).body.requests.length).toBe(before);
  });

  it('every method answers malformed parameters with 400 and one line, never 500', async () => {
    const bodies: unknown[] = ['[]', '"x"', '42', 'null', '{"unknownField": 1}', '{"cluster": 5, "clusters": "keep", "task": []}'];
    for (const method of Object.keys(API_PARAMS)) {
      for (const body of bodies) {
        const r = await rpc(a.home, method, body);
        expect([400, 404], `${method} ${String(body)}: ${r.text}`).toContain(r.status);
        expect(r.body.error.message.split('\n')).toHaveLength(1);
      }
    }
    // a task of the wrong shape, field by field
    for (const [patch, why] of [
      [{ numNodes: 0 }, 'exec: task.numNodes: expected a number of nodes of at least 1, got 0'],
      [{ numNodes: 99999999999 }, 'exec: task.numNodes: expected a number of nodes of at most 10000, got 99999999999'],
      [{ envs: { 'BAD-NAME': 'x' } }, "exec: task.envs: invalid name 'BAD-NAME': names are letters, digits and _, not starting with a digit"],
      [{ run: 5 }, 'exec: task.run: expected a string, got 5'],
      [{ resources: { mode: 'single', candidates: [] } }, 'exec: task.resources.candidates: expected at least one resource candidate, got a list'],
    ] as const) {
      const r = await rpc(a.home, 'exec', { cluster: 'keep', task: apiTask(patch) });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.message).toBe(why);
    }
    expect(await clusters()).toEqual(['keep']);
  });

  it("team mode's methods check theirs too (a role, a user name's size, a workdir neither a path nor an upload), and make nothing when refused", async () => {
    // as an admin, who may call them (locally the daemon's own user; remote: an admin's token)
    const admin = a.adminEnv().ALOFT_API_TOKEN;
    const users = async () => (await rpc(a.home, 'usersList', {}, 10_000, admin)).body.users;
    const before = await users();
    expect(before.map((u: { name: string }) => u.name).sort()).toEqual(REMOTE ? ['root', 'tester'] : []);
    let r = await rpc(a.home, 'usersAdd', { name: 'dana', role: 'root' }, 10_000, admin);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('usersAdd: role: expected admin or user, got "root"');
    r = await rpc(a.home, 'tokensCreate', { user: 'x'.repeat(65) }, 10_000, admin);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^tokensCreate: user: expected a user name of at most 64 characters, got "x+\.\.\."$/);
    r = await rpc(a.home, 'exec', { cluster: 'keep', task: apiTask({ workdir: 'relative/dir' }) }, 10_000, admin);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('exec: task.workdir: expected an absolute directory path, got "relative/dir"');
    expect(await users()).toEqual(before);
  });

  it('method names are never looked up on a prototype', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const r = await rpc(a.home, name, {});
      expect(r.status, name).toBe(404);
      expect(r.body.error.code).toBe('UNKNOWN_METHOD');
      expect((await get(a.home, `/v1/stream/${name}`)).status).toBe(404);
    }
  });

  it('logs refuses a negative rank or tail', async () => {
    for (const q of ['rank=-1', 'tail=-5', 'job=abc', 'follow=yes']) {
      const r = await get(a.home, `/v1/stream/logs?cluster=keep&${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.text).error.message).toMatch(/^logs stream: (rank|tail|job|follow): expected/);
    }
  });

  it('a 50 MB body is answered 413, not reset', async () => {
    const big = '{"x":"' + 'a'.repeat(50 * 1024 * 1024) + '"}';
    const r = await rpc(a.home, 'status', big, 30_000);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('TOO_LARGE');
    // and the daemon still answers
    expect((await rpc(a.home, 'info', {})).status).toBe(200);
  });

  it('a websocket with `since` past the last event gets a snapshot; a bad `since` is closed with a reason', async () => {
    const ws = eventsSocket(a.home, 'since=99999999');
    const first = await new Promise<EventStreamMessage>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d))));
      ws.once('error', reject);
      setTimeout(() => reject(new Error('no message within 5 s')), 5000);
    });
    ws.close();
    expect(first.type).toBe('snapshot');
    const bad = eventsSocket(a.home, 'since=abc');
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => bad.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('since');
  });
});
