import { test } from 'vitest';
import { cleanupNode, client, startAgent, tempNodeDir } from '../helpers/agent-harness.js';
test('bench 1000', async () => {
  const dir = tempNodeDir();
  const a = await startAgent(dir);
  const c = await client(a);
  const n = 1000;
  let done = 0;
  let resolve!: () => void;
  const all = new Promise<void>((r) => (resolve = r));
  await c.stream('watch', { sinceSeq: c.hello.seq }, (d: { job?: { status: string } }) => {
    if (d.job?.status === 'SUCCEEDED' && ++done === n) resolve();
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => c.call('submit', { run: 'true', envs: {}, secrets: {}, numNodes: 1, demand: { cpus: 0.5, gpus: 0 } })));
  const tSub = performance.now() - t0;
  await all;
  const secs = (performance.now() - t0) / 1000;
  console.log(`submitted in ${tSub.toFixed(0)} ms; ${n} jobs in ${secs.toFixed(2)} s = ${(n / secs).toFixed(0)} jobs/s`);
  c.close();
  await cleanupNode(dir);
}, 120_000);
