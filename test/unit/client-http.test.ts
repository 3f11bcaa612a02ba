// Issue 17.11 and 17.3 on the client side: a daemon that goes away mid-call is "unreachable" (the
// CLI restarts it and retries), never a raw `write EPIPE`; one that takes the connection and says
// nothing is "busy", which the CLI waits for instead of replacing it.
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonBusy, DaemonUnreachable, postJson } from '../../src/client/http.js';

function server(onConn: (s: net.Socket) => void): Promise<{ path: string; close(): void }> {
  const path = join(mkdtempSync(join(tmpdir(), 'aloft-http-')), 's.sock');
  const srv = net.createServer(onConn);
  return new Promise((resolve) => srv.listen(path, () => resolve({ path, close: () => srv.close() })));
}

describe('daemon HTTP client errors', () => {
  it('a daemon that drops the connection while the body is sent: DaemonUnreachable, not EPIPE', async () => {
    const s = await server((sock) => sock.destroy());
    try {
      const big = { x: 'a'.repeat(4 * 1024 * 1024) };
      for (let i = 0; i < 10; i++) {
        const err = await postJson(s.path, '/v1/rpc/exec', big).catch((e: unknown) => e);
        expect(err, String(err)).toBeInstanceOf(DaemonUnreachable);
        expect(err).not.toBeInstanceOf(DaemonBusy);
      }
    } finally {
      s.close();
    }
  });

  it('a daemon that takes the connection and says nothing: DaemonBusy', async () => {
    const held: net.Socket[] = [];
    const s = await server((sock) => held.push(sock));
    try {
      const err = await postJson(s.path, '/v1/rpc/info', {}, 300).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DaemonBusy);
    } finally {
      for (const h of held) h.destroy();
      s.close();
    }
  });
});
