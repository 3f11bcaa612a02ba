// Issue 12's dashboard item in a real terminal (tmux 160x45): `aloft top`, `:services` shows a
// live service — endpoint, version, replicas by state, QPS and p50 measured by its load balancer —
// with its replica beneath; `l` on the replica shows its program's output; ctrl-d on the service
// asks first, then takes it down (for the CLI too).
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, ROOT, waitFor, type AloftEnv } from '../helpers/cli.js';
import { hammer, ready, SERVE_FIXTURES, services, waitService } from '../helpers/serve.js';
import { Tmux } from '../helpers/tmux.js';

describe('the Services view of aloft top in a real terminal', () => {
  let a: AloftEnv;
  let dir: string;
  const t = new Tmux('main', `aloft-tuis-${process.pid}`);

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
    a = makeHome('aloft-tuis-');
    a.env.ALOFT_SERVE_STATS_INTERVAL_MS = '300';
    dir = mkdtempSync(join(tmpdir(), 'aloft-tuis-w-'));
    copyFileSync(join(SERVE_FIXTURES, 'server.mjs'), join(dir, 'server.mjs'));
    writeFileSync(join(dir, 'one.yaml'), readFileSync(join(SERVE_FIXTURES, 'service.yaml'), 'utf8').replace('replicas: 2', 'replicas: 1'));
  });
  afterAll(async () => {
    t.kill();
    await a?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it(':services → the service and its replica live, with QPS → l the replica output → ctrl-d asks, then downs it', async () => {
    const up = await a.run(['serve', 'up', '-y', '-n', 'tuisvc', 'one.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    const svc = await waitService(a, 'tuisvc', (x) => x.status === 'READY' && ready(x).length === 1, 'a READY replica');
    const client = hammer(svc.endpoint!, 2);

    try {
      const env = Object.entries({ ...a.env, TERM: 'xterm-256color', PS1: 'e2e$ ' })
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `${k}=${v}`);
      t.run('new-session', '-d', '-s', t.target, '-x', '160', '-y', '45', 'env', '-u', 'CI', ...env, 'bash', '--norc', '--noprofile');
      await t.waitFor('e2e$');
      t.line(`${process.execPath} ${BIN} top`);
      await t.waitFor('LAST JOB');
      t.keys(':');
      t.run('send-keys', '-t', t.target, '-l', 'services');
      t.keys('Enter');

      // the service row (READY, one replica READY, a QPS and a p50 from the balancer under traffic)
      const port = new URL(svc.endpoint!).port;
      const serviceRow = new RegExp(`tuisvc\\s+http://127\\.0\\.0\\.1:${port}\\s+1\\s+READY\\s+1 READY\\s+\\d+\\.\\d\\s+[\\d.]+ms\\s`);
      let s = await t.waitFor(serviceRow, 30_000);
      expect(s).toMatch(/NAME\S*\s+ENDPOINT\s+VERSION\s+STATUS\s+REPLICAS\s+QPS\s+P50\s+AGE/);
      // its replica beneath, at its node's own address
      expect(s).toMatch(new RegExp(`↳ replica 1\\s+${ready(svc)[0]!.url!.replace(/\./g, '\\.')}\\s+1\\s+READY\\s+local`));

      // l on the replica: its program's output
      t.keys('j');
      await t.waitFor(/▸\s+↳ replica 1/);
      t.keys('l');
      s = await t.waitFor('replica 1 (version 1) listening on 8080');
      t.keys('Escape');
      await t.waitFor(serviceRow);

      // ctrl-d on the service: asks first (focus on Cancel), then → Down takes it down
      t.keys('k');
      await t.waitFor(/▸\s+tuisvc/);
      t.keys('C-d');
      s = await t.waitFor('Tear down service tuisvc?');
      expect(s).toContain(`${svc.endpoint} goes away`);
      expect(s).toContain('[ Cancel ]');
      t.keys('Enter');
      await t.waitFor((x) => !x.includes('Tear down service') && serviceRow.test(x));
      expect((await services(a)).map((x) => x.name)).toEqual(['tuisvc']);
      await client.stop();
      t.keys('C-d');
      await t.waitFor('Tear down service tuisvc?');
      t.keys('Right', 'Enter');
      await waitFor(async () => (await services(a)).length === 0, 90_000, 'the service to be gone for the CLI');
      await t.waitFor('no services;', 30_000);
      t.keys('q');
      await t.waitFor((x) => t.show('#{alternate_on}') === '0' && x.trimEnd().split('\n').pop() === 'e2e$');
    } finally {
      await client.stop();
    }
  });
});
