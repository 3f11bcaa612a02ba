// What several benches share: paths, percentiles, a fake started as its own process, the daemon
// API waits and the CLI's time to first output. Not a bench itself (run.mjs loads *.bench.mjs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(root, 'bin', 'aloft');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** A `KEY=value` file, as the fakes' --write-config leaves them, as an env object. */
export function readEnvFile(path) {
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * Starts test/fakes/main.ts KIND (through vite-node, a child of this process) writing its config
 * to `dir`, and resolves once it prints its ready line, with the env it wrote to `KIND.env`.
 */
export async function startFake(kind, dir, env = {}) {
  const child = spawn(process.execPath, [join(root, 'node_modules', 'vite-node', 'vite-node.mjs'), join(root, 'test', 'fakes', 'main.ts'), '--', kind, '--write-config', dir], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!/ready/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${kind} fake did not start: ${out}`);
    await sleep(100);
  }
  return { child, env: readEnvFile(join(dir, `${kind}.env`)), output: () => out };
}

/** Polls the daemon's queue until job `id` on `cluster` is in a state `pred` accepts; returns when. */
export async function waitJob(client, cluster, id, pred, { timeoutMs = 60_000, pollMs = 5 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { jobs } = await client.call('queue', { cluster });
    const j = jobs.find((x) => x.id === id);
    if (j && pred(j.status)) return Date.now();
    await sleep(pollMs);
  }
  throw new Error(`job ${id} on ${cluster} did not reach the state in time`);
}

/** Milliseconds from spawning `node argv` to its first byte of stdout. */
export function firstLine(argv, env) {
  return new Promise((resolve, reject) => {
    const s = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { env });
    let done = false;
    child.stdout.on('data', () => {
      if (!done) {
        done = true;
        resolve(Number(process.hrtime.bigint() - s) / 1e6);
      }
    });
    child.on('close', (code) => {
      if (!done) reject(new Error(`exit ${code} before any output`));
    });
  });
}
