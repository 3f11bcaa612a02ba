// The agent bundle's command line: start (daemonize + ready handshake), pipe, version, failures.
import { execFile, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { AgentClient } from '../../src/agent/rpc.js';
import { agentBundle, alive, cleanupNode, startAgent, tempNodeDir } from '../helpers/agent-harness.js';

const execFileP = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await cleanupNode(d);
});

describe('agent CLI', () => {
  test('version', async () => {
    const { stdout } = await execFileP(process.execPath, [await agentBundle(), 'version']);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+ protocol 1\n$/);
  });

  test('start daemonizes, prints pid + socket; pipe bridges stdin/stdout to the socket', async () => {
    const dir = tempNodeDir();
    dirs.push(dir);
    const a = await startAgent(dir);
    expect(a.socket).toBe(`${dir}/agent/agent.sock`);
    expect(alive(a.pid)).toBe(true);
    const child = spawn(process.execPath, [await agentBundle(), 'pipe', '--socket', a.socket], { stdio: ['pipe', 'pipe', 'inherit'] });
    const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
    const c = await AgentClient.connect(duplex);
    expect(c.hello.pid).toBe(a.pid);
    const { jobId } = await c.call('submit', { run: 'echo via-pipe', envs: {}, secrets: {}, numNodes: 1, demand: { cpus: 0.5, gpus: 0 } });
    expect(jobId).toBe(1);
    const exited = new Promise((r) => child.once('exit', r));
    c.close();
    expect(await exited).toBe(0);
  });

  test('concurrent starts for one node end with one agent', async () => {
    const dir = tempNodeDir();
    dirs.push(dir);
    // Six at once: the losers read the pid and info files while the winner writes them (both are
    // now written aside and moved into place whole; half-written, they once made a loser retire it).
    const all = await Promise.all(Array.from({ length: 6 }, () => startAgent(dir)));
    expect(new Set(all.map((a) => a.pid)).size).toBe(1);
    expect(alive(all[0]!.pid)).toBe(true);
  });

  test('start fails with the log tail when the agent cannot come up', async () => {
    const dir = tempNodeDir();
    dirs.push(dir);
    const err = await execFileP(process.execPath, [await agentBundle(), 'start', '--dir', dir, '--listen-tcp', '127.0.0.1:0', '--token-file', `${dir}/missing-token`]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).not.toBe(0);
    expect((err as { stderr: string }).stderr).toMatch(/agent failed to start[\s\S]*missing-token/);
  });

  test('bad usage is one clear line', async () => {
    const err = await execFileP(process.execPath, [await agentBundle(), 'start']).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toBe('aloft-agent: --dir is required\n');
  });
});
