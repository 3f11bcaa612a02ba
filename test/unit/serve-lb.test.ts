// The load balancer's proxy (src/serve/lb/proxy.ts) over real sockets: real HTTP servers as
// replicas, a real client. Policies, passive ejection and retries, holding requests while no
// replica can take them, streaming (SSE) and websocket upgrades.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Balancer } from '../../src/serve/lb/proxy.js';
import { Picker } from '../../src/serve/lb/policy.js';
import type { LbConfig, LbEvent, LbReplica } from '../../src/serve/lb/protocol.js';
import { waitFor } from '../helpers/cli.js';

interface Replica {
  id: number;
  url: string;
  server: http.Server;
  hits: number;
  close(): Promise<void>;
}

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function replica(id: number, handler?: (req: http.IncomingMessage, res: http.ServerResponse, r: Replica) => void): Promise<Replica> {
  const r: Replica = { id, url: '', server: undefined as unknown as http.Server, hits: 0, close: async () => undefined };
  r.server = http.createServer((req, res) => {
    r.hits++;
    if (handler) return handler(req, res, r);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`replica ${id}`);
  });
  r.server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: x\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((res) => r.server.listen(0, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  const sockets = new Set<import('node:net').Socket>();
  r.server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  r.close = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      r.server.close(() => res());
    });
  open.push(r);
  return r;
}

async function balancer(replicas: Replica[], over: Partial<LbConfig> = {}) {
  const events: LbEvent[] = [];
  const cfg: LbConfig = {
    service: 'svc',
    replicas: replicas.map((r) => ({ id: r.id, url: r.url, version: 1 })),
    policy: 'least_load',
    streamTimeoutMs: 30_000,
    holdMs: 30_000,
    ...over,
  };
  const b = new Balancer(cfg, { log: () => undefined, emit: (e) => events.push(e) });
  const server = http.createServer((q, s) => b.handle(q, s));
  server.on('upgrade', (q, s, h) => b.upgrade(q, s, h));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  open.push({
    close: () =>
      new Promise<void>((res) => {
        b.close();
        server.closeAllConnections();
        server.close(() => res());
      }),
  });
  return { b, url, events, cfg };
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.text() };
}

describe('policies', () => {
  it('least_load spreads sequential requests over every replica (ties rotate) and prefers the idle one', () => {
    const inflight = new Map<string, number>();
    const p = new Picker((u) => inflight.get(u) ?? 0);
    const reps: LbReplica[] = [1, 2, 3].map((id) => ({ id, url: `u${id}`, version: 1 }));
    p.configure({ replicas: reps, policy: 'least_load' });
    expect([1, 2, 3, 4, 5, 6].map(() => p.pick(() => true)!.id)).toEqual([1, 2, 3, 1, 2, 3]);
    inflight.set('u1', 3);
    inflight.set('u3', 1);
    expect(p.pick(() => true)!.id).toBe(2);
    inflight.set('u2', 5);
    expect(p.pick(() => true)!.id).toBe(3);
    expect(p.pick((r) => r.id === 1)!.id).toBe(1);
    expect(p.pick(() => false)).toBeUndefined();
  });

  it('instance_aware_least_load weighs in-flight requests by each accelerator target', () => {
    const inflight = new Map<string, number>([
      ['a100', 2],
      ['h100', 3],
    ]);
    const p = new Picker((u) => inflight.get(u) ?? 0);
    p.configure({
      replicas: [
        { id: 1, url: 'a100', version: 1, accelerator: 'A100:1' },
        { id: 2, url: 'h100', version: 1, accelerator: 'H100:1' },
      ],
      policy: 'instance_aware_least_load',
      targetQps: { 'A100:1': 1, H100: 4 },
    });
    // 2/1 for the A100 against 3/4 for the H100
    expect(p.pick(() => true)!.id).toBe(2);
  });
});

describe('the proxy', () => {
  it('round_robin alternates; a replica taken out of the config gets no more requests', async () => {
    const r1 = await replica(1);
    const r2 = await replica(2);
    const { b, url, cfg } = await balancer([r1, r2], { policy: 'round_robin' });
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await get(url)).body);
    expect(bodies).toEqual(['replica 1', 'replica 2', 'replica 1', 'replica 2']);
    b.configure({ ...cfg, replicas: [{ id: 2, url: r2.url, version: 1 }] });
    for (let i = 0; i < 3; i++) expect((await get(url)).body).toBe('replica 2');
    expect(b.stats.perSecond(60).reduce((a, c) => a + c, 0)).toBe(7);
  });

  it('a replica that dies is ejected on the first refused connection and the request goes to another one', async () => {
    const r1 = await replica(1);
    const r2 = await replica(2);
    const { b, url, events } = await balancer([r1, r2]);
    await r1.close();
    const results = await Promise.all(Array.from({ length: 10 }, () => get(url)));
    expect(results.every((r) => r.status === 200 && r.body === 'replica 2')).toBe(true);
    expect(events.some((e) => e.type === 'ejected' && e.url === r1.url)).toBe(true);
    expect(b.replicaStates().find((r) => r.id === 1)!.ejected).toBe(true);
  });

  it('a GET whose replica dies mid-request is retried on another; a POST that reached its replica is not', async () => {
    let killFirst = true;
    const dying = await replica(1, (_req, res) => {
      if (!killFirst) return void res.end('replica 1');
      // the app accepted the request and dies before answering
      res.socket?.destroy();
    });
    const r2 = await replica(2);
    const { b, url } = await balancer([dying, r2], { policy: 'round_robin' });
    expect(await get(url)).toEqual({ status: 200, body: 'replica 2' });
    expect(b.stats.retries).toBe(1);
    const post = await get(url, { method: 'POST', body: 'x' });
    // round robin: this one went to replica 1 first
    expect(post.status).toBe(502);
    expect(post.body).toMatch(/replica 1 failed/);
    killFirst = false;
  });

  it('a request body is sent again when the first replica refused the connection', async () => {
    const echo = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    };
    const r1 = await replica(1, echo);
    const r2 = await replica(2, echo);
    const { url } = await balancer([r1, r2], { policy: 'round_robin' });
    await r1.close();
    const body = 'x'.repeat(200_000);
    const r = await get(url, { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(r.body === body).toBe(true);
  });

  it('with no replica a request waits (and says so: demand) until one is configured', async () => {
    const { b, url, events, cfg } = await balancer([]);
    const pending = get(url + '/hello');
    await waitFor(() => events.some((e) => e.type === 'demand'), 10_000, 'demand event');
    expect(b.waiting).toBe(1);
    const r1 = await replica(1);
    b.configure({ ...cfg, replicas: [{ id: 1, url: r1.url, version: 1 }] });
    expect(await pending).toEqual({ status: 200, body: 'replica 1' });
  });

  it('gives up with a 503 after holdMs when no replica comes', async () => {
    const { url } = await balancer([], { holdMs: 200 });
    const r = await get(url);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/no ready replicas/);
  });

  it('streams server-sent events chunk by chunk (nothing held back until the end)', async () => {
    const sse = await replica(1, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const t = setInterval(() => {
        res.write(`data: ${i}\n\n`);
        if (++i === 3) {
          clearInterval(t);
          // the last event only after the client confirmed the first ones arrived
          sseGate.then(() => res.end('data: end\n\n'));
        }
      }, 30);
    });
    let open!: () => void;
    const sseGate = new Promise<void>((r) => (open = r));
    const { url } = await balancer([sse]);
    const res = await fetch(url + '/stream');
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    // the three first events arrive while the replica has not finished the response
    while (!text.includes('data: 2')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\n');
    open();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect(text.endsWith('data: end\n\n')).toBe(true);
  });

  it("a stream's headers reach the client before its first event; a short chunked answer comes whole", async () => {
    let release!: () => void;
    const firstToken = new Promise<void>((r) => (release = r));
    const slow = await replica(1, (req, res) => {
      if (req.url === '/short') {
        res.writeHead(200, { 'content-type': 'application/json' }); // no length: chunked
        return res.end('{"ok":true}');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      void firstToken.then(() => res.end('data: late\n\n'));
    });
    const { url } = await balancer([slow]);
    // fetch resolves on the response headers: they must not wait for the body
    const res = await Promise.race([fetch(url + '/stream'), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000))]);
    expect(res).not.toBe('timeout');
    release();
    expect(await (res as Response).text()).toBe('data: late\n\n');
    const short = await get(url + '/short');
    expect(short).toEqual({ status: 200, body: '{"ok":true}' });
  });

  it('upgrades websockets and pipes both ways', async () => {
    const ws1 = await replica(1);
    const { b, url } = await balancer([ws1]);
    const raw = await new Promise<string>((resolve, reject) => {
      const req = http.request(url + '/ws', { headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      req.on('upgrade', (res, socket) => {
        expect(res.statusCode).toBe(101);
        socket.write('ping');
        socket.once('data', (d: Buffer) => {
          socket.destroy();
          resolve(d.toString());
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw).toBe('ping');
    // the client went: the balancer closes both sides and counts nothing in flight
    await waitFor(() => b.totalInflight() === 0, 10_000, 'the websocket pair to close');
  });

  it('passes large bodies both ways intact, with and without a length, and keeps repeated headers', async () => {
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const r1 = await replica(1, (req, res) => {
      if (req.url === '/chunked') {
        // no content-length: Node sends it chunked, in pieces
        res.writeHead(200, [['set-cookie', 'a=1'], ['set-cookie', 'b=2']].flat());
        for (let o = 0; o < big.length; o += 100_000) res.write(big.subarray(o, o + 100_000));
        return void res.end();
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, { 'content-length': body.length, 'x-forwarded-for-seen': String(req.headers['x-forwarded-for']) });
        res.end(body);
      });
    });
    const { url } = await balancer([r1]);
    const chunked = await fetch(url + '/chunked');
    expect(chunked.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(Buffer.from(await chunked.arrayBuffer()).equals(big)).toBe(true);
    // a streamed request body (chunked: no content-length) comes back whole
    const stream = new ReadableStream({
      start(c) {
        for (let o = 0; o < big.length; o += 300_000) c.enqueue(big.subarray(o, o + 300_000));
        c.close();
      },
    });
    const echoed = await fetch(url + '/echo', { method: 'POST', body: stream, duplex: 'half', headers: { 'x-forwarded-for': '10.0.0.9' } } as RequestInit);
    expect(echoed.headers.get('x-forwarded-for-seen')).toBe('10.0.0.9, 127.0.0.1');
    const got = Buffer.from(await echoed.arrayBuffer());
    expect(got.length).toBe(big.length);
    expect(got.equals(big)).toBe(true);
  });

  it('a replica silent past stream_timeout gets a 504; a client that leaves cancels its request at the replica', async () => {
    let closedAtReplica = 0;
    const r1 = await replica(1, (req, res) => {
      res.on('close', () => closedAtReplica++);
      if (req.url === '/silent') return; // never answers
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n'); // then nothing until the client goes
    });
    const { b, url } = await balancer([r1], { streamTimeoutMs: 300 });
    const slow = await get(url + '/silent');
    expect(slow.status).toBe(504);
    expect(slow.body).toMatch(/sent nothing for 0.3s/);
    // (the timeout is the gap between chunks: set it long again for the streaming case)
    b.configure({ ...b.config, streamTimeoutMs: 30_000 });
    const ac = new AbortController();
    const res = await fetch(url + '/stream', { signal: ac.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    const before = closedAtReplica;
    ac.abort();
    await waitFor(() => closedAtReplica > before, 10_000, 'the replica to see the request cancelled');
    await waitFor(() => b.totalInflight() === 0, 10_000, 'nothing left in flight');
  });

  it('a PUT whose replica dies while its body is still coming is sent whole to another replica', async () => {
    const dying = await replica(1, (req) => {
      // the app reads the start of the body, then dies
      req.once('data', () => req.socket.destroy());
    });
    const echo = await replica(2, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    });
    const { b, url } = await balancer([dying, echo], { policy: 'round_robin' });
    const part = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const stream = new ReadableStream({
      async pull(c) {
        if (sent === 8) return c.close();
        sent++;
        await new Promise((r) => setTimeout(r, 20));
        c.enqueue(part);
      },
    });
    const r = await fetch(url + '/put', { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    expect(r.status).toBe(200);
    const got = Buffer.from(await r.arrayBuffer());
    expect(got.length).toBe(8 * part.length);
    expect(got.equals(Buffer.concat(Array(8).fill(part)))).toBe(true);
    expect(dying.hits).toBe(1);
    expect(b.stats.retries).toBe(1);
  });
});
