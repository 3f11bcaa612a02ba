// RPC framing and semantics over real sockets (an in-process RpcConnection on a real unix socket).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AgentClient, AgentError, LineDecoder, RpcConnection, type Handler } from '../../src/agent/rpc.js';
import { connectUnix } from '../helpers/agent-harness.js';

describe('LineDecoder', () => {
  test('joins partial lines and splits many lines in one chunk', () => {
    const lines: string[] = [];
    const d = new LineDecoder((l) => lines.push(l));
    d.push(Buffer.from('{"a":'));
    d.push(Buffer.from('1}\n{"b":2}\n{"c"'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    d.push(Buffer.from(':3}\n'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  test('keeps multi-byte characters split across chunks intact', () => {
    const lines: string[] = [];
    const d = new LineDecoder((l) => lines.push(l));
    const b = Buffer.from('"héllo ✓"\n');
    for (let i = 0; i < b.length; i++) d.push(b.subarray(i, i + 1));
    expect(lines).toEqual(['"héllo ✓"']);
  });
});

describe('RPC over a unix socket', () => {
  let dir: string;
  let server: net.Server;
  let sock: string;
  const handlers: Record<string, Handler> = {
    hello: (p) => ({ protocol: 1, version: 't', pid: process.pid, nodeDir: '/', resources: { cpus: 1, memoryGiB: 1, accelerators: {} }, seq: 0, configured: false, echo: p }),
    echo: (p) => p,
    fail: () => {
      throw new AgentError('nope', 'NOT_FOUND');
    },
    slow: () => new Promise(() => undefined),
    watch: (_p, ctx) => {
      // items sent before the result must still arrive after it
      ctx.sink!.send({ n: 0 });
      let n = 1;
      const t = setInterval(() => {
        if (n > 3) {
          clearInterval(t);
          ctx.sink!.end();
          return;
        }
        ctx.sink!.send({ n: n++ });
      }, 5);
      ctx.sink!.onClose(() => clearInterval(t));
      return { seq: 42 };
    },
    logs: (_p, ctx) => {
      const t = setInterval(() => ctx.sink!.send({ text: 'x' }), 5);
      ctx.sink!.onClose(() => clearInterval(t));
      return { status: 'RUNNING' };
    },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aloft-rpc-'));
    sock = join(dir, 's.sock');
    server = net.createServer((s) => new RpcConnection(s, handlers, { streaming: new Set(['watch', 'logs']) }));
    await new Promise<void>((r) => server.listen(sock, r));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('call, errors with codes, large messages', async () => {
    const c = await AgentClient.connect(await connectUnix(sock));
    expect(c.hello.version).toBe('t');
    const big = 'y'.repeat(5 * 1024 * 1024) + '\n"quoted"';
    const r = (await c.call('echo' as never, { big } as never)) as { big: string };
    expect(r.big).toBe(big);
    await expect(c.call('fail' as never, {} as never)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'nope' });
    await expect(c.call('nosuch' as never, {} as never)).rejects.toMatchObject({ code: 'NO_METHOD' });
    await expect(c.call('slow' as never, {} as never, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    c.close();
  });

  test('streams: result first, items in order, done on end', async () => {
    const c = await AgentClient.connect(await connectUnix(sock));
    const items: number[] = [];
    const h = await c.stream('watch', { sinceSeq: 0 }, (d: { n: number }) => items.push(d.n));
    expect(h.result).toEqual({ seq: 42 });
    await h.done;
    expect(items).toEqual([0, 1, 2, 3]);
    c.close();
  });

  test('a stream can be cancelled; close rejects pending calls and emits close', async () => {
    const c = await AgentClient.connect(await connectUnix(sock));
    let got = 0;
    const h = await c.stream('logs', { jobId: 1, follow: true }, () => got++);
    await new Promise((r) => setTimeout(r, 30));
    h.cancel();
    await h.done;
    expect(got).toBeGreaterThan(0);
    const closed = new Promise<void>((r) => c.on('close', r));
    const p = c.call('slow' as never, {} as never, { timeoutMs: 0 });
    c.close();
    await expect(p).rejects.toMatchObject({ code: 'CLOSED' });
    await closed;
    await expect(c.call('echo' as never, {} as never)).rejects.toBeInstanceOf(AgentError);
  });

  test('token-protected connections refuse calls before hello', async () => {
    const tsock = join(dir, 't.sock');
    const srv = net.createServer((s) => new RpcConnection(s, handlers, { streaming: new Set(), token: 'sekrit' }));
    await new Promise<void>((r) => srv.listen(tsock, r));
    await expect(AgentClient.connect(await connectUnix(tsock), { token: 'wrong' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const ok = await AgentClient.connect(await connectUnix(tsock), { token: 'sekrit' });
    expect(await ok.call('echo' as never, { a: 1 } as never)).toEqual({ a: 1 });
    ok.close();
    srv.close();
  });
});
