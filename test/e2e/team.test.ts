// Issue 15 end to end: one API server (`aloft api start`, TCP, state in PostgreSQL) and three
// users on their own client homes (`aloft api login`): they see each other's clusters with USER,
// may change only their own (an admin anything), a revoked token is refused, `aloft top` over TCP
// shows another user's launch live, the server SIGKILLed mid-launch keeps the local daemon's
// guarantees, and the state moves with the database.
import { mkdtempSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { BIN, closedPort, makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { testPostgres, type PgCluster } from '../helpers/postgres.js';
import { Tmux } from '../helpers/tmux.js';

const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout) as T;
const oneLine = (r: { code: number; stderr: string }): string => {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
};

function nodeProcessesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${e}/stat`, 'latin1'))) continue;
      if (readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').some((kv) => kv.startsWith(`ALOFT_NODE_DIR=${dir}`))) found.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return found;
}

describe('team mode: one API server, several users', () => {
  let pg: PgCluster;
  let db: string;
  let server: AloftEnv;
  let url: string;
  let port: number;
  const clients: Record<'alice' | 'bob' | 'carol', AloftEnv> = {} as never;
  const tokens: Record<string, string> = {};
  const startArgs = () => ['api', 'start', '--host', '127.0.0.1', '--port', String(port), '--db', db];

  beforeAll(async () => {
    pg = await testPostgres(inject('pgUrl'));
    db = await pg.createDatabase();
    server = makeHome('aloft-srv-');
    port = await closedPort();
    url = `http://127.0.0.1:${port}`;
    const started = await server.run(startArgs());
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toContain(`API server listening on ${url}`);
    for (const [name, role] of [['alice', 'admin'], ['bob', 'user'], ['carol', 'user']] as const) {
      expect((await server.run(['api', 'users', 'add', name, '--role', role])).code).toBe(0);
      const t = await server.run(['api', 'tokens', 'create', '--user', name]);
      expect(t.code, t.stderr).toBe(0);
      tokens[name] = t.stdout.trim();
      expect(tokens[name]).toMatch(/^aloft_[A-Za-z0-9_-]{43}$/);
      clients[name] = makeHome(`aloft-${name}-`);
      const login = await clients[name].run(['api', 'login', url, '--token', tokens[name]]);
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toContain(`Logged in to ${url} as ${name} (${role})`);
    }
  }, 180_000);

  afterAll(async () => {
    await server?.run(['down', '-a', '-u', '-y'], { timeoutMs: 60_000 }).catch(() => undefined);
    for (const c of Object.values(clients)) await c.cleanup();
    await server?.cleanup();
    await pg?.stop();
  });

  it("two users launch on the same server and see each other's clusters, with USER; workdirs are uploaded", async () => {
    const wd = mkdtempSync(join(tmpdir(), 'aloft-wd-'));
    writeFileSync(join(wd, 'data.txt'), 'from-alices-laptop\n');
    const a = await clients.alice.run(['launch', '-y', '-c', 'al-1', '--workdir', wd, '--', 'cat data.txt'], { cwd: wd });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('from-alices-laptop');
    expect(a.stderr).toContain(`Uploading workdir ${wd} to ${url}`);
    // The server got the files as a tar stream: its copy, under its own home.
    const up = join(server.home, 'uploads', 'alice');
    expect(readdirSync(up).some((id) => existsSync(join(up, id, 'data.txt')))).toBe(true);
    const b = await clients.bob.run(['launch', '-y', '-d', '-c', 'bo-1', '--', 'sleep 300']);
    expect(b.code, b.stderr).toBe(0);

    for (const who of ['alice', 'bob', 'carol'] as const) {
      const st = json<Array<{ name: string; user: string; status: string }>>(await clients[who].run(['status', '-o', 'json']));
      expect(st.map((c) => [c.name, c.user, c.status])).toEqual([
        ['al-1', 'alice', 'UP'],
        ['bo-1', 'bob', 'UP'],
      ]);
    }
    const table = (await clients.carol.run(['status'])).stdout;
    expect(table).toMatch(/^NAME\s+USER\s+INFRA/m);
    expect(table).toMatch(/^al-1\s+alice\s+local/m);
    expect(table).toMatch(/^bo-1\s+bob\s+local/m);
    const q = (await clients.carol.run(['queue'])).stdout;
    expect(q).toMatch(/^ID\s+NAME\s+USER\s+SUBMITTED/m);
    expect(q).toMatch(/^1\s+-\s+alice\s/m);
    expect(q).toMatch(/^1\s+-\s+bob\s/m);
    const jobs = json<Array<{ cluster: string; user: string }>>(await clients.carol.run(['queue', '-o', 'json']));
    expect(jobs.map((j) => [j.cluster, j.user]).sort()).toEqual([
      ['al-1', 'alice'],
      ['bo-1', 'bob'],
    ]);
    const reqs = json<Array<{ cluster: string; user: string; kind: string }>>(await clients.bob.run(['requests', '-o', 'json']));
    expect(reqs.find((r) => r.cluster === 'al-1' && r.kind === 'launch')?.user).toBe('alice');
  });

  it("a user cannot stop, down, exec on or cancel another's cluster; an admin can", async () => {
    const carol = clients.carol;
    const refused = `cluster 'bo-1' belongs to bob: only bob or an admin may`;
    expect(oneLine(await carol.run(['down', 'bo-1', '-y']))).toBe(`aloft: ${refused} tear it down`);
    expect(oneLine(await carol.run(['stop', 'bo-1', '-y']))).toBe(`aloft: ${refused} stop it`);
    expect(oneLine(await carol.run(['exec', 'bo-1', '--', 'true']))).toBe(`aloft: ${refused} run work on it`);
    expect(oneLine(await carol.run(['launch', '-y', '-c', 'bo-1', '--', 'true']))).toBe(`aloft: ${refused} launch on it`);
    expect(oneLine(await carol.run(['cancel', 'bo-1', '1']))).toBe("aloft: job 1 on 'bo-1' belongs to bob: only bob, the cluster's owner or an admin may cancel it");
    expect(oneLine(await carol.run(['autostop', 'bo-1', '-i', '5']))).toBe(`aloft: ${refused} change its autostop`);
    expect(oneLine(await carol.run(['start', 'bo-1']))).toBe(`aloft: ${refused} start it`);
    // main's newer verbs keep the rule: a launch request is its owner's to cancel, and buckets
    // (not recorded per user) an admin's to delete
    const boLaunch = json<Array<{ id: string; cluster: string; kind: string }>>(await carol.run(['requests', '-o', 'json'])).find((r) => r.cluster === 'bo-1' && r.kind === 'launch')!;
    expect(oneLine(await carol.run(['requests', 'cancel', boLaunch.id]))).toBe(`aloft: request ${boLaunch.id} belongs to bob: only bob or an admin may cancel it`);
    expect(oneLine(await carol.run(['storage', 'delete', 'some-bucket', '-y']))).toBe('aloft: only an admin can delete buckets');
    // -a is one's own clusters; everyone's (-u) is for admins
    const mine = await carol.run(['down', '-a', '-y']);
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stderr).toContain('No clusters to tear down.');
    expect(oneLine(await carol.run(['down', '-a', '-u', '-y']))).toBe("aloft: only an admin can tear down every user's clusters");
    expect(json<Array<{ name: string; status: string }>>(await carol.run(['status', 'bo-1', '-o', 'json']))[0]?.status).toBe('UP');
    // users, tokens and the audit log are the admins'
    expect(oneLine(await carol.run(['api', 'tokens', 'list']))).toBe('aloft: only an admin can list tokens');

    const alice = clients.alice;
    const c = await alice.run(['cancel', 'bo-1', '1']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain('Cancelled job(s) 1 on bo-1');
    const d = await alice.run(['down', 'bo-1', '-y']);
    expect(d.code, d.stderr).toBe(0);
    expect(json<unknown[]>(await carol.run(['status', 'bo-1', '-o', 'json']))).toEqual([]);

    const audit = json<Array<{ user: string; action: string; target: string; outcome: string; address?: string }>>(await alice.run(['api', 'audit', '-o', 'json', '-n', '200']));
    const row = (user: string, action: string, target: string) => audit.find((e) => e.user === user && e.action === action && e.target === target);
    expect(row('carol', 'down', 'bo-1')).toMatchObject({ outcome: 'refused', address: '127.0.0.1' });
    expect(row('alice', 'down', 'bo-1')).toMatchObject({ outcome: 'ok' });
    expect(row('alice', 'launch', 'al-1')).toMatchObject({ outcome: 'ok' });
    expect(row('bob', 'launch', 'bo-1')).toMatchObject({ outcome: 'ok' });
    expect(row('alice', 'cancel', 'bo-1 job 1')).toMatchObject({ outcome: 'ok' });
  });

  it('managed jobs show USER in `jobs queue`; only their owner or an admin cancels them', async () => {
    const l = await clients.bob.run(['jobs', 'launch', '-y', '-d', '-o', 'json', '--', 'sleep 300']);
    expect(l.code, l.stderr).toBe(0);
    const id = json<{ id: number; user: string }>(l);
    expect(id.user).toBe('bob');
    const q = (await clients.carol.run(['jobs', 'queue'])).stdout;
    // ID, TASK (a pipeline's), NAME, USER
    expect(q).toMatch(new RegExp(`^${id.id}\\s+-\\s+-\\s+bob\\s`, 'm'));
    expect(oneLine(await clients.carol.run(['jobs', 'cancel', String(id.id), '-y']))).toBe(`aloft: managed job ${id.id} belongs to bob: only bob or an admin may cancel it`);
    const mine = await clients.carol.run(['jobs', 'cancel', '-a', '-y']);
    expect(mine.stderr).toContain('No active managed job to cancel.');
    const c = await clients.bob.run(['jobs', 'cancel', String(id.id), '-y']);
    expect(c.code, c.stderr).toBe(0);
    await waitFor(async () => json<Array<{ id: number; status: string }>>(await clients.bob.run(['jobs', 'queue', '-o', 'json'])).find((j) => j.id === id.id)?.status === 'CANCELLED', 60_000, 'CANCELLED');
  });

  it("services have an owner too: USER in `serve status`; another user cannot update or tear down bob's", async () => {
    const wd = mkdtempSync(join(tmpdir(), 'aloft-team-svc-'));
    writeFileSync(join(wd, 'service.yaml'), ['service:', '  readiness_probe: /', '  replicas: 1', 'resources:', '  ports: 8080', '  cpus: 0.1', 'run: sleep 600', ''].join('\n'));
    const up = await clients.bob.run(['serve', 'up', '-y', '-n', 'bsvc', 'service.yaml'], { cwd: wd });
    expect(up.code, up.stderr).toBe(0);
    expect((await clients.carol.run(['serve', 'status', 'bsvc'])).stdout).toMatch(/^bsvc\s+bob\s/m);
    expect(oneLine(await clients.carol.run(['serve', 'down', '-y', 'bsvc']))).toBe("aloft: service 'bsvc' belongs to bob: only bob or an admin may tear it down");
    expect(oneLine(await clients.carol.run(['serve', 'update', '-y', 'bsvc', 'service.yaml'], { cwd: wd }))).toBe("aloft: service 'bsvc' belongs to bob: only bob or an admin may update it");
    // `serve down -a` of a user is theirs only: bob's service stays
    await clients.carol.run(['serve', 'down', '-y', '-a']);
    expect((await clients.bob.run(['serve', 'status', 'bsvc'])).stdout).not.toMatch(/SHUTTING_DOWN/);
    const down = await clients.bob.run(['serve', 'down', '-y', 'bsvc']);
    expect(down.code, down.stderr).toBe(0);
  });

  it('a revoked token is refused: one line, no detail; over HTTP and websocket alike', async () => {
    const t = await server.run(['api', 'tokens', 'create', '--user', 'carol', '--label', 'laptop']);
    expect(t.code, t.stderr).toBe(0);
    const token = t.stdout.trim();
    const env = { ALOFT_API_SERVER_ENDPOINT: url, ALOFT_API_TOKEN: token };
    expect((await clients.carol.run(['status'], { env })).code).toBe(0);
    const list = json<Array<{ id: string; user: string; label?: string; lastUsedAt?: number }>>(await server.run(['api', 'tokens', 'list', '-o', 'json']));
    const entry = list.find((x) => x.label === 'laptop')!;
    expect(entry).toMatchObject({ user: 'carol' });
    expect(JSON.stringify(list)).not.toContain(token);
    expect((await server.run(['api', 'tokens', 'revoke', entry.id])).code).toBe(0);

    expect(oneLine(await clients.carol.run(['status'], { env }))).toBe(
      `aloft: the API server at ${url} refused the token (unauthorized); log in with \`aloft api login URL --token TOKEN\``,
    );
    const raw = await new Promise<{ status: number; body: string }>((resolve) => {
      http
        .request(`${url}/v1/rpc/status`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .end('{}');
    });
    expect(raw).toEqual({ status: 401, body: '{"error":{"code":"UNAUTHORIZED","message":"unauthorized"}}' });
    const ws = await new Promise<number>((resolve) => {
      const w = new WebSocket(`ws://127.0.0.1:${port}/v1/events?since=0`, { headers: { authorization: `Bearer ${token}` } });
      w.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      w.on('open', () => resolve(101));
      w.on('error', () => undefined);
    });
    expect(ws).toBe(401);
    const badLogin = await makeHome('aloft-x-').run(['api', 'login', url, '--token', token]);
    expect(oneLine(badLogin)).toBe(`aloft: ${url} refused the token (unauthorized)`);
    // carol's own login still works
    expect((await clients.carol.run(['status'])).code).toBe(0);
  });

  it("`aloft top` over TCP shows another user's launch, live", async () => {
    const t = new Tmux('main', `aloft-team-${process.pid}`);
    try {
      const env = Object.entries({ ...clients.bob.env, TERM: 'xterm-256color', PS1: 'e2e$ ' })
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `${k}=${v}`);
      t.run('new-session', '-d', '-s', t.target, '-x', '160', '-y', '45', 'env', '-u', 'CI', ...env, 'bash', '--norc', '--noprofile');
      await t.waitFor('e2e$');
      t.line(`${process.execPath} ${BIN} top`);
      await t.waitFor(/al-1\s+local\s+.*\s+UP\s/);
      const launched = await clients.alice.run(['launch', '-y', '-d', '-c', 'live-1', '--', 'echo live']);
      expect(launched.code, launched.stderr).toBe(0);
      await t.waitFor(/live-1\s+local\s+.*\s+UP\s/);
      t.keys('q');
      await t.waitFor((x) => x.trimEnd().split('\n').pop() === 'e2e$');
    } finally {
      t.kill();
    }
    expect((await clients.alice.run(['down', 'live-1', '-y'])).code).toBe(0);
  });

  it('the server SIGKILLed mid-launch, with PostgreSQL state: started again, the launch is FAILED with its stage and leaves no node', async () => {
    expect((await server.run(['daemon', 'stop'])).code).toBe(0);
    const paused = await server.run(startArgs(), { env: { ALOFT_DEBUG_PAUSE_STAGE: 'START_AGENTS:8000' } });
    expect(paused.code, paused.stderr).toBe(0);
    const launch = clients.alice.run(['launch', '-y', '-c', 'midway', '--', 'sleep 100'], { timeoutMs: 120_000 });
    const nodes = join(server.home, 'local', 'midway');
    await waitFor(async () => {
      const reqs = json<Array<{ cluster: string; stage?: string }>>(await clients.alice.run(['requests', '-o', 'json']));
      return reqs.some((r) => r.cluster === 'midway' && r.stage === 'START_AGENTS') && existsSync(nodes);
    }, 30_000, 'the launch at START_AGENTS');
    process.kill(server.daemonPid()!, 'SIGKILL');
    const restarted = await server.run(startArgs());
    expect(restarted.code, restarted.stderr).toBe(0);
    await waitFor(async () => {
      const r = await clients.alice.run(['requests', '-o', 'json']);
      if (r.code !== 0) return false;
      const req = json<Array<{ cluster: string; status: string; error?: string }>>(r).find((x) => x.cluster === 'midway');
      return req?.status === 'FAILED' && /interrupted at stage START_AGENTS/.test(req.error ?? '');
    }, 60_000, 'the interrupted launch marked FAILED');
    await waitFor(async () => json<Array<{ name: string }>>(await clients.alice.run(['status', '-o', 'json'])).every((c) => c.name !== 'midway'), 60_000, 'midway removed');
    await waitFor(() => nodeProcessesUnder(nodes).length === 0 && !existsSync(nodes), 30_000, 'no node left');
    // The state came back from PostgreSQL: there never was a state file in the server's home.
    expect(existsSync(join(server.home, 'state.db'))).toBe(false);
    await launch;
  });

  it('the state moves with the database: another server on it knows the users, tokens, history and audit', async () => {
    expect((await clients.alice.run(['down', '-a', '-y'])).code).toBe(0);
    expect((await server.run(['api', 'stop'])).code).toBe(0);
    const moved = makeHome('aloft-srv2-');
    try {
      const port2 = await closedPort();
      const s = await moved.run(['api', 'start', '--host', '127.0.0.1', '--port', String(port2), '--db', db]);
      expect(s.code, s.stderr).toBe(0);
      const env = { ALOFT_API_SERVER_ENDPOINT: `http://127.0.0.1:${port2}` };
      const me = json<{ user: string; role: string }>(await clients.bob.run(['api', 'info', '-o', 'json'], { env }));
      expect(me).toMatchObject({ user: 'bob', role: 'user', state: { kind: 'postgresql' } });
      const reqs = json<Array<{ cluster: string; user: string }>>(await clients.bob.run(['requests', '-a', '-o', 'json'], { env }));
      expect(reqs.some((r) => r.cluster === 'al-1' && r.user === 'alice')).toBe(true);
      const audit = json<Array<{ user: string; action: string }>>(await clients.alice.run(['api', 'audit', '-o', 'json'], { env }));
      expect(audit.some((e) => e.user === 'alice' && e.action === 'launch')).toBe(true);
    } finally {
      await moved.run(['api', 'stop']);
      await moved.cleanup();
    }
  });
});
