// Issue 17.1: a secret in the shell of the CLI call that starts the daemon must not reach any
// other job — not through the daemon's environment, not through the agents', not in archived logs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';

const HF = 'hf_secret_value_1234';
const AWS = 'aws_secret_value_5678';

function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
}

/** Live processes whose ALOFT_NODE_DIR is under `dir` (agents and jobs of local nodes). */
function nodeProcesses(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${e}/stat`, 'latin1'))) continue;
      if (environOf(Number(e)).some((kv) => kv.startsWith(`ALOFT_NODE_DIR=${dir}`))) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('environment isolation', () => {
  let a: AloftEnv;
  beforeAll(() => {
    a = makeHome();
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it("a secret in the first CLI call's shell reaches only the job that declared it", async () => {
    const shell = {
      HF_TOKEN: HF,
      AWS_SECRET_ACCESS_KEY: AWS,
      ALOFT_DEBUG_PAUSE_STAGE: 'NOPE:1',
      npm_config_user_agent: 'npm/11',
      INIT_CWD: '/somewhere',
      PATH: `/tmp/proj/node_modules/.bin:${process.env.PATH}`,
    };
    // The very first call starts the daemon with this shell.
    const first = await a.run(['launch', '-y', '-d', '-c', 'one', '--secret', 'HF_TOKEN', '--', 'echo "one sees [$HF_TOKEN] [$AWS_SECRET_ACCESS_KEY]"; sleep 30'], {
      env: shell,
    });
    expect(first.code, first.stderr).toBe(0);

    // The daemon keeps cloud credentials for its SDKs, but never a job's secret or npm's noise.
    const daemonEnv = environOf(a.daemonPid()!);
    expect(daemonEnv.some((kv) => kv.includes(HF))).toBe(false);
    expect(daemonEnv.some((kv) => kv.startsWith('npm_config_') || kv.startsWith('INIT_CWD='))).toBe(false);

    const second = await a.run(['launch', '-y', '-c', 'two', '--', 'env; echo "PATH=$PATH"']);
    expect(second.code, second.stderr).toBe(0);
    for (const leaked of [HF, AWS, 'ALOFT_DEBUG_PAUSE_STAGE', 'ALOFT_READY_FD', 'ALOFT_HOME=', 'npm_config_', 'INIT_CWD', 'node_modules/.bin']) {
      expect(second.stdout, `job environment contains ${leaked}`).not.toContain(leaked);
    }
    expect(second.stdout).toContain('SKYPILOT_NODE_RANK=0');

    await waitFor(async () => (await a.run(['logs', 'one', '1', '--no-follow'])).stdout.includes(`one sees [${HF}] []`), 20_000, 'the first job to print its secret');

    // No agent or job process of either cluster carries the credentials in its environment.
    const procs = nodeProcesses(join(a.home, 'local'));
    expect(procs.length).toBeGreaterThan(0);
    for (const pid of procs) {
      const env = environOf(pid);
      expect(env.some((kv) => kv.includes(AWS)), `pid ${pid} has AWS_SECRET_ACCESS_KEY`).toBe(false);
      expect(env.some((kv) => kv.startsWith('ALOFT_DEBUG_PAUSE_STAGE=')), `pid ${pid} has a test switch`).toBe(false);
    }

    // After down, the archived logs of the second job hold no secret either.
    expect((await a.run(['down', '-y', 'one', 'two'])).code).toBe(0);
    const archived = await a.run(['logs', 'two', '1', '--no-follow']);
    expect(archived.stdout).toContain('SKYPILOT_NODE_RANK=0');
    expect(archived.stdout).not.toContain(HF);
    expect(archived.stdout).not.toContain(AWS);
  });
});
