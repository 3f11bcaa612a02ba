// The API server's team-mode boundary, over real TCP (and TLS): bearer tokens, one-line 401s that
// leak nothing, a per-token rate limit, body size limits, websocket upgrades checked the same way,
// X-Forwarded-For only when trusted, the audit log, and uploads that cannot escape their directory.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiCallError, postStream } from '../../src/client/http.js';
import { openDatabase } from '../../src/daemon/db.js';
import { createLogger } from '../../src/daemon/log.js';
import { packPath } from '../../src/daemon/pipeline/pack.js';
import { ApiServer, type RpcHandler, type ServerDeps } from '../../src/daemon/server.js';
import { Store } from '../../src/daemon/store.js';
import { AuditLog, READ_ONLY_METHODS, auditTarget } from '../../src/daemon/team/audit.js';
import type { Caller } from '../../src/daemon/team/caller.js';
import { localizeTask, receiveUpload, sameSource } from '../../src/daemon/team/uploads.js';
import { Users } from '../../src/daemon/team/users.js';

interface Harness {
  url: string;
  home: string;
  users: Users;
  audit: AuditLog;
  store: Store;
  alice: string;
  bob: string;
}

const servers: ApiServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function harness(over: Partial<ServerDeps> = {}, tls?: { cert: string; key: string }): Promise<Harness> {
  const home = mkdtempSync(join(tmpdir(), 'aloft-srv-'));
  const db = openDatabase(join(home, 'state.db'));
  const store = new Store(db);
  const users = new Users(db);
  const audit = new AuditLog(db);
  users.add('alice', 'admin');
  users.add('bob', 'user');
  const server = new ApiServer({
    store,
    log: createLogger(join(home, 'daemon.log')),
    rpc: new Map<string, RpcHandler>([
      ['whoami', (_p: unknown, c: Caller) => ({ user: c.user, role: c.role, remote: c.remote, address: c.address })],
      ['down', (p: { clusters: string[] }) => ({ requestIds: p.clusters.map((c) => `down-${c}`) })],
      ['echo', (p: unknown) => p],
    ]),
    streams: new Map(),
    authenticate: (t) => users.verify(t),
    rateLimit: { perSecond: 1000, burst: 1000 },
    maxBodyBytes: 64 * 1024,
    maxUploadBytes: 256 * 1024,
    upload: (body, caller, maxBytes) => receiveUpload(body, { home, caller, maxBytes }),
    onCalled: (caller, method, params, outcome) => {
      if (!READ_ONLY_METHODS.has(method)) audit.record(caller, method, auditTarget(params, outcome.result), outcome.error ? 'failed' : 'ok');
    },
    ...over,
  });
  servers.push(server);
  await server.listen(join(home, 'daemon.sock'));
  const url = await server.listenTcp({ host: '127.0.0.1', port: 0, ...(tls ? { tls } : {}) });
  return { url, home, users, audit, store, alice: users.createToken('alice').token, bob: users.createToken('bob').token };
}

function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}, ca?: string): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  const mod = url.startsWith('https') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, ...(ca ? { ca } : {}) }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function upgrade(url: string, headers: Record<string, string>): Promise<{ status?: number; first?: unknown }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/events?since=0`, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
    });
    ws.on('message', (d) => {
      resolve({ status: 101, first: JSON.parse(String(d)) });
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

describe('API server over TCP', () => {
  it('every request needs a token; missing, unknown and revoked ones get the same one-line 401', async () => {
    const h = await harness();
    const unauthorized = '{"error":{"code":"UNAUTHORIZED","message":"unauthorized"}}';
    for (const headers of [{}, bearer('aloft_not-a-token'), { authorization: `Basic ${Buffer.from('alice:x').toString('base64')}` }]) {
      const r = await post(h.url, '/v1/rpc/whoami', {}, headers);
      expect(r.status).toBe(401);
      expect(r.text).toBe(unauthorized);
    }
    const ok = await post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ user: 'bob', role: 'user', remote: true, address: '127.0.0.1' });
    const [tok] = h.users.listTokens().filter((t) => t.user === 'bob');
    h.users.revoke(tok!.id);
    const revoked = await post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob));
    expect([revoked.status, revoked.text]).toEqual([401, unauthorized]);
    // a removed user's tokens die with them
    h.users.remove('alice');
    expect((await post(h.url, '/v1/rpc/whoami', {}, bearer(h.alice))).status).toBe(401);
    // the unix socket is the daemon's own user, an admin, no token needed
    const local = await new Promise<string>((resolve) => {
      http.request({ socketPath: join(h.home, 'daemon.sock'), path: '/v1/rpc/whoami', method: 'POST' }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve(t));
      }).end('{}');
    });
    expect(JSON.parse(local)).toMatchObject({ role: 'admin', remote: false });
  });

  it('tokens are stored hashed: the database never holds one', async () => {
    const h = await harness();
    const raw = readFileSync(join(h.home, 'state.db')).toString('latin1') + (existsSync(join(h.home, 'state.db-wal')) ? readFileSync(join(h.home, 'state.db-wal')).toString('latin1') : '');
    expect(raw).toContain('alice');
    expect(raw).not.toContain(h.alice);
    expect(raw).not.toContain(h.bob);
  });

  it('rate-limits per token: over the rate, 429 with Retry-After; another token is not affected', async () => {
    const h = await harness({ rateLimit: { perSecond: 0.5, burst: 3 } });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob))).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const limited = await post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob));
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(limited.text).error.code).toBe('RATE_LIMITED');
    expect((await post(h.url, '/v1/rpc/whoami', {}, bearer(h.alice))).status).toBe(200);
    // websocket upgrades count too
    expect((await upgrade(h.url, bearer(h.bob))).status).toBe(429);
  });

  it('limits request bodies (413) and uploads', async () => {
    const h = await harness();
    const big = await post(h.url, '/v1/rpc/echo', { pad: 'x'.repeat(100 * 1024) }, bearer(h.bob));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text).error.message).toMatch(/larger than the server's limit/);
    const small = await post(h.url, '/v1/rpc/echo', { pad: 'x' }, bearer(h.bob));
    expect(small.status).toBe(200);
    // an upload over its own limit is refused, and nothing of it is kept
    const dir = mkdtempSync(join(tmpdir(), 'aloft-up-'));
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(400 * 1024, 1));
    const err = await postStream({ kind: 'tcp', url: h.url, token: h.bob }, '/v1/upload', packPath(dir).stream, 'application/x-tar').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).status).toBe(413);
    expect((err as ApiCallError).message).toBe("upload larger than the server's limit (256 KiB)");
    const left = join(h.home, 'uploads', 'bob');
    expect(existsSync(left) ? execFileSync('find', [left, '-type', 'f'], { encoding: 'utf8' }) : '').toBe('');
  });

  it('websocket upgrades: a token like any request, an Origin refused', async () => {
    const h = await harness();
    expect((await upgrade(h.url, {})).status).toBe(401);
    expect((await upgrade(h.url, bearer('aloft_nope'))).status).toBe(401);
    expect((await upgrade(h.url, { ...bearer(h.bob), origin: 'https://evil.example' })).status).toBe(403);
    const ok = await upgrade(h.url, bearer(h.bob));
    expect(ok.status).toBe(101);
    expect((ok.first as { type: string }).type).toBe('snapshot');
  });

  it('X-Forwarded-For is the client address only when the server is told to trust it', async () => {
    const plain = await harness();
    const spoof = { ...bearer(plain.bob), 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
    expect(JSON.parse((await post(plain.url, '/v1/rpc/whoami', {}, spoof)).text).address).toBe('127.0.0.1');
    const proxied = await harness({ trustForwarded: true });
    const r = await post(proxied.url, '/v1/rpc/whoami', {}, { ...bearer(proxied.bob), 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-forwarded-proto': 'https' });
    expect(JSON.parse(r.text).address).toBe('https://203.0.113.9');
  });

  it('the audit log says who did what from where; read-only calls are not in it', async () => {
    const h = await harness();
    await post(h.url, '/v1/rpc/down', { clusters: ['c1'] }, bearer(h.bob));
    await post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob));
    const entries = h.audit.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ user: 'bob', action: 'down', target: 'c1', outcome: 'ok', address: '127.0.0.1' });
  });

  it('serves HTTPS with a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const h = await harness({}, { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
    expect(h.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob), readFileSync(join(dir, 'cert.pem'), 'utf8'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).user).toBe('bob');
    // without the CA the client refuses the certificate
    await expect(post(h.url, '/v1/rpc/whoami', {}, bearer(h.bob))).rejects.toThrow(/self[- ]signed/);
  });
});

describe('uploads', () => {
  const caller: Caller = { user: 'bob', role: 'user', remote: true };

  function tarOf(entries: Array<{ name: string; type?: 'file' | 'symlink' | 'directory'; body?: string; linkname?: string }>) {
    const pack = tar.pack();
    for (const e of entries) {
      if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
      else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
      else pack.entry({ name: e.name }, e.body ?? '');
    }
    pack.finalize();
    return pack;
  }

  it('unpacks a workdir; the task names it upload://ID and the server resolves only its owner\'s', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aloft-uph-'));
    const src = mkdtempSync(join(tmpdir(), 'aloft-ups-'));
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'sub', 'a.py'), 'print(1)');
    const { id, files } = await receiveUpload(packPath(src).stream as never, { home, caller, maxBytes: 1e6 });
    expect(files).toBe(1);
    const task = { numNodes: 1, resources: { mode: 'single' as const, candidates: [] }, envs: {}, secrets: {}, fileMounts: [{ kind: 'local' as const, dest: '~/x', source: `upload://${id}/sub/a.py` }], workdir: `upload://${id}` };
    const t = localizeTask(task, caller, home);
    expect(readFileSync(join(t.workdir!, 'sub', 'a.py'), 'utf8')).toBe('print(1)');
    expect(t.fileMounts[0]!.source).toBe(join(home, 'uploads', 'bob', id, 'sub', 'a.py'));
    // another user cannot name bob's upload; a remote caller cannot name server paths
    expect(() => localizeTask(task, { ...caller, user: 'carol' }, home)).toThrow(/upload [0-9a-f]{16} is gone/);
    expect(() => localizeTask({ ...task, workdir: '/etc' }, caller, home)).toThrow(/'\/etc' is a path on the API server's machine/);
    expect(() => localizeTask({ ...task, workdir: `upload://${id}/../../alice` }, caller, home)).toThrow(/bad upload reference/);
    // the local user (unix socket) keeps naming this machine's paths
    expect(localizeTask({ ...task, workdir: '/tmp', fileMounts: [] }, { ...caller, remote: false }, home).workdir).toBe('/tmp');
  });

  it('two uploads of one source directory are two uploads, and the same source to a task comparison', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aloft-uph-'));
    const src = mkdtempSync(join(tmpdir(), 'aloft-ups-'));
    writeFileSync(join(src, 'a.py'), 'v1');
    const one = await receiveUpload(packPath(src).stream as never, { home, caller, maxBytes: 1e6, source: 'abcdef0123456789' });
    writeFileSync(join(src, 'b.py'), 'v2'); // the directory changed meanwhile, as a local workdir may
    const two = await receiveUpload(packPath(src).stream as never, { home, caller, maxBytes: 1e6, source: 'abcdef0123456789' });
    const other = await receiveUpload(packPath(src).stream as never, { home, caller, maxBytes: 1e6, source: '0123456789abcdef' });
    expect(new Set([one.id, two.id, other.id]).size).toBe(3);
    expect(existsSync(join(home, 'uploads', 'bob', one.id, 'b.py'))).toBe(false);
    const taskText = (id: string) => JSON.stringify({ workdir: join(home, 'uploads', 'bob', id), fileMounts: [{ source: join(home, 'uploads', 'bob', id, 'a.py') }] });
    expect(sameSource(taskText(one.id))).toBe(sameSource(taskText(two.id)));
    expect(sameSource(taskText(one.id))).not.toBe(sameSource(taskText(other.id)));
    // without a source (an older client), every upload is its own
    const bare = await receiveUpload(packPath(src).stream as never, { home, caller, maxBytes: 1e6 });
    expect(sameSource(taskText(bare.id))).not.toBe(sameSource(taskText(one.id)));
  });

  it('refuses entries that would land outside the upload: ../, absolute, through a symlink', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aloft-uph-'));
    await expect(receiveUpload(tarOf([{ name: '../escape.txt', body: 'x' }]) as never, { home, caller, maxBytes: 1e6 })).rejects.toThrow(/leaves the upload/);
    await expect(receiveUpload(tarOf([{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: 'link/owned.txt', body: 'x' }]) as never, { home, caller, maxBytes: 1e6 })).rejects.toThrow(
      /lies under a symlink/,
    );
    expect(existsSync('/tmp/owned.txt')).toBe(false);
    // a symlink alone is kept as a link, never followed
    const { id } = await receiveUpload(tarOf([{ name: 'dir', type: 'directory' }, { name: 'dir/l', type: 'symlink', linkname: '/etc/passwd' }]) as never, { home, caller, maxBytes: 1e6 });
    expect(lstatSync(join(home, 'uploads', 'bob', id, 'dir', 'l')).isSymbolicLink()).toBe(true);
    await expect(receiveUpload(Readable.from([Buffer.from('not a tar at all, just text long enough to be read as a header '.repeat(20))]), { home, caller, maxBytes: 1e6 })).rejects.toThrow(/upload/);
  });
});
