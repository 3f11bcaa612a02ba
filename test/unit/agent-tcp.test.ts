// Issue 17.9: the ssh-pool agent's TCP listener gives a stranger a short time and a short line to
// show the cluster token, and a flood of idle connections can neither pile up nor lock the head out.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AgentClient } from '../../src/agent/rpc.js';
import { cleanupNode, startAgent, tempNodeDir, waitFor, type StartedAgent } from '../helpers/agent-harness.js';

const TOKEN = 'b'.repeat(48);

function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.resume(); // read what the agent sends, so its end reaches us
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('agent TCP listener before authentication (issue 17.9)', () => {
  let dir: string;
  let a: StartedAgent;
  beforeAll(async () => {
    dir = tempNodeDir();
    writeFileSync(join(dir, 'token'), TOKEN, { mode: 0o600 });
    a = await startAgent(dir, {
      extraArgs: ['--listen-tcp', '127.0.0.1:0', '--token-file', join(dir, 'token')],
      env: { ALOFT_AGENT_AUTH_DEADLINE_MS: '1500' },
    });
  });
  afterAll(async () => {
    await cleanupNode(dir);
  });

  test('an idle connection is closed at the authentication deadline', async () => {
    const s = await open(a.tcp!.port);
    s.on('error', () => undefined);
    await closed(s); // (old: open for ever)
  });

  test('a stranger cannot make the agent buffer a long line', async () => {
    const s = await open(a.tcp!.port);
    s.on('error', () => undefined);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    // no newline: the line only grows; the agent cuts it off long before a MiB
    while (!s.destroyed && sent < 8 * 1024 * 1024) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r).once('close', r));
      sent += chunk.length;
    }
    await closed(s);
    expect(sent).toBeLessThan(8 * 1024 * 1024);
  });

  test('500 idle connections: at most a few stay open, and the head still gets in', async () => {
    const socks = await Promise.all(Array.from({ length: 500 }, () => open(a.tcp!.port).catch(() => undefined)));
    for (const s of socks) s?.on('error', () => undefined);
    const head = await AgentClient.connect(await open(a.tcp!.port), { token: TOKEN, timeoutMs: 5000 });
    expect(head.hello.pid).toBe(a.pid);
    head.close();
    await waitFor(() => socks.filter((s) => s && !s.destroyed).length <= 32, 5000, 'the flood trimmed');
    for (const s of socks) s?.destroy();
  });

  test('a wrong token, or anything but hello, ends the connection', async () => {
    await expect(AgentClient.connect(await open(a.tcp!.port), { token: 'x'.repeat(48), timeoutMs: 5000 })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const s = await open(a.tcp!.port);
    s.on('error', () => undefined);
    s.write('not json\n');
    await closed(s);
  });
});
