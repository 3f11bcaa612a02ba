// A broken ALOFT_HOME/config.yaml through the real CLI and daemon: one line naming the file,
// line and column, a non-zero exit, no stack trace — from the CLI and from a running daemon alike.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type AloftEnv } from '../helpers/cli.js';

describe('config.yaml errors', () => {
  let a: AloftEnv;
  let cfg: string;
  beforeAll(() => {
    a = makeHome('aloft-cfg-');
    cfg = join(a.home, 'config.yaml');
  });
  afterAll(async () => {
    await a.cleanup();
  });

  const oneLine = (r: { code: number; stderr: string }) => {
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    return lines[0]!;
  };

  it('commands that need the daemon refuse a broken file, in one line', async () => {
    writeFileSync(cfg, 'a: [\n');
    expect(oneLine(await a.run(['status']))).toMatch(new RegExp(`^aloft: ${cfg}:\\d+:\\d+: invalid YAML: `));
    writeFileSync(cfg, 'locl: {x: 1}\n');
    expect(oneLine(await a.run(['launch', '--dryrun', '--', 'echo', 'hi']))).toBe(`aloft: ${cfg}:1:1: unknown field 'locl' in config; did you mean 'local'?`);
    writeFileSync(cfg, 'local: {spot_mtbp_seconds: abc}\n');
    expect(oneLine(await a.run(['launch', '-y', '-c', 'c1', '--', 'echo', 'hi']))).toBe(`aloft: ${cfg}:1:28: local.spot_mtbp_seconds: expected a number of seconds, got "abc"`);
  });

  it('a file broken while the daemon runs: the launch fails at OPTIMIZE with the same line', async () => {
    writeFileSync(cfg, 'allowed_infra: [local]\n');
    const ok = await a.run(['status']);
    expect(ok.code, ok.stderr).toBe(0);
    // the CLI checks first; a daemon asked directly (another client) reports the same line
    writeFileSync(cfg, 'allowed_infra: local\n');
    const line = oneLine(await a.run(['launch', '--dryrun', '--', 'echo', 'hi']));
    expect(line).toBe(`aloft: ${cfg}:1:16: allowed_infra: expected a list of infra names, got "local"`);
    const { DaemonClient } = await import('../../src/client/client.js');
    const client = new DaemonClient({ home: a.home });
    await expect(client.call('plan', { tasks: [{ name: 'x', numNodes: 1, resources: { mode: 'single', candidates: [{ infra: {}, useSpot: false, ports: [], labels: {} }] }, envs: {}, secrets: {}, fileMounts: [], run: 'echo hi' } as never] })).rejects.toThrow(
      line.replace(/^aloft: /, ''),
    );
  });

  it('daemon stop still works with a broken file', async () => {
    writeFileSync(cfg, 'a: [\n');
    const r = await a.run(['daemon', 'stop']);
    expect(r.code, r.stderr).toBe(0);
  });
});
