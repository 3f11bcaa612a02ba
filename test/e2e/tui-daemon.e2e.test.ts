// What `aloft top` needs from a real daemon (issue 16): describe (and the task as submitted, its
// secret never stored, logged or sent), the launch form's plan being exactly what
// `aloft launch --dryrun --explain` prints, and an event stream that starts a dead daemon again
// and resumes with every change exactly once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../src/client/client.js';
import type { Endpoint } from '../../src/client/http.js';
import { ensureDaemon, waitForServer } from '../../src/client/spawn.js';
import { subscribeEvents } from '../../src/client/events.js';
import { prepareLaunch } from '../../src/cli/top-deps.js';
import { TuiStore } from '../../src/tui/state/store.js';
import { pidAlive } from '../../src/util/process.js';
import { makeHome, REMOTE, ROOT, waitFor, type AloftEnv } from '../helpers/cli.js';
import { remoteApiOf } from '../helpers/remote.js';

const SECRET = 'hf_e2e_s3cret_value_91';
const EXAMPLE = join(ROOT, 'examples', 'env-and-secret.yaml');

/** Every byte aloft keeps under its home (state.db and its WAL, logs), as one latin1 string. */
function everythingStored(home: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(readFileSync(p, 'latin1'));
    }
  };
  walk(home);
  return out.join('\n');
}

describe('aloft top against a real daemon', () => {
  let a: AloftEnv;
  let client: DaemonClient;
  let endpoint: Endpoint | undefined;
  /** what brings a lost daemon back: the local one started again, a remote server waited for (its supervisor restarts it) */
  const revive = () => (endpoint ? waitForServer(endpoint, 60_000) : ensureDaemon(a.home));
  beforeAll(async () => {
    a = makeHome('aloft-td-');
    if (REMOTE) {
      await a.run(['daemon', 'start']);
      const api = remoteApiOf(a.home)!;
      endpoint = { kind: 'tcp', url: api.url, token: api.token };
    } else {
      await ensureDaemon(a.home);
    }
    client = new DaemonClient({ home: a.home, ...(endpoint ? { endpoint } : {}) });
  });
  afterAll(async () => {
    await a?.cleanup();
  });

  it('describe: nodes, dirs, autostop, the task as submitted with its secret redacted, events; the secret is nowhere', async () => {
    const r = await a.run(['launch', '-y', '-c', 'desc', '-i', '30', '--env', 'MODEL=llama-e2e', '--secret', `HF_TOKEN=${SECRET}`, EXAMPLE], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('training llama-e2e (token is 22 characters long)');
    const c = await client.call('describe', { kind: 'cluster', cluster: 'desc' });
    expect(c.cluster?.status).toBe('UP');
    expect(c.cluster?.autostop).toEqual({ idleMinutes: 30, down: false });
    expect(c.nodes).toHaveLength(1);
    expect(c.nodes![0]!.nodeDir.startsWith(join(a.home, 'local', 'desc'))).toBe(true);
    expect(c.agentEndpoint).toMatch(/agent\.sock$/);
    expect(Array.isArray(c.task)).toBe(false);
    const task = c.task as { envs: Record<string, string>; secrets: Record<string, string>; run: string };
    expect(task.envs).toEqual({ MODEL: 'llama-e2e' });
    expect(task.secrets).toEqual({ HF_TOKEN: '<redacted>' });
    expect(c.jobs?.map((j) => j.id)).toEqual([1]);
    expect(c.events.some((e) => e.kind === 'cluster' && e.cluster?.status === 'UP')).toBe(true);
    expect(c.events.some((e) => e.kind === 'request' && e.request?.status === 'SUCCEEDED')).toBe(true);

    const j = await client.call('describe', { kind: 'job', cluster: 'desc', job: 1 });
    expect(j.job?.status).toBe('SUCCEEDED');
    expect(j.job?.secretNames).toEqual(['HF_TOKEN']);
    expect((j.task as { secrets: Record<string, string> }).secrets).toEqual({ HF_TOKEN: '<redacted>' });
    expect(j.events.map((e) => e.job?.status).filter(Boolean)).toContain('SUCCEEDED');
    const reqId = c.events.find((e) => e.kind === 'request')!.request!.id;
    const q = await client.call('describe', { kind: 'request', id: reqId });
    expect(q.request?.kind).toBe('launch');
    expect(q.task).toBeDefined();
    await expect(client.call('describe', { kind: 'cluster', cluster: 'nope' })).rejects.toThrow("cluster 'nope' does not exist");
    await expect(client.call('describe', { kind: 'job', cluster: 'desc', job: 99 })).rejects.toThrow("job 99 not found on cluster 'desc'");

    // The secret's value: in none of the answers, and nowhere under ALOFT_HOME but the job's own
    // 0600 secrets file on the node (removed when the job ended).
    for (const d of [c, j, q]) expect(JSON.stringify(d)).not.toContain(SECRET);
    expect(JSON.stringify(await client.call('snapshot', {}))).not.toContain(SECRET);
    expect(everythingStored(a.home)).not.toContain(SECRET);
    expect(a.stateText()).not.toContain(SECRET); // the server's PostgreSQL state, in the remote run
  });

  it('the launch form plans exactly what `aloft launch --dryrun --explain` prints for its command line', async () => {
    const form = { path: EXAMPLE, cluster: 'planned', infra: 'local', useSpot: false, envs: { MODEL: 'm1' }, secrets: { HF_TOKEN: 'x' } };
    const task = await prepareLaunch(form);
    const plan = await client.call('plan', { tasks: [task], explain: true });
    const cli = await a.run(['launch', '--dryrun', '--explain', '-c', 'planned', '--infra', 'local', '--env', 'MODEL=m1', '--secret', 'HF_TOKEN=x', EXAMPLE]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(plan.text + '\n').toBe(cli.stdout);
    expect(plan.text.length).toBeGreaterThan(0);
    // a secret left to the shell: taken from the environment, as --secret K does
    process.env.HF_TOKEN = 'from-the-shell';
    try {
      const fromShell = await prepareLaunch({ ...form, secrets: { HF_TOKEN: undefined } });
      expect(fromShell.secrets).toEqual({ HF_TOKEN: 'from-the-shell' });
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  it('a dead daemon is started again by the event stream, which resumes with every change once', async () => {
    const store = new TuiStore(0);
    let revived = 0;
    store.connect((o) => subscribeEvents({ ...o, home: a.home, ...(endpoint ? { endpoint } : {}), revive: () => (revived++, revive()) }));
    try {
      await waitFor(() => store.getSnapshot().clusters.has('desc'), 20_000, 'the snapshot');
      const before = a.daemonPid()!;
      process.kill(before, 'SIGKILL');
      await waitFor(() => !pidAlive(before), 10_000, 'the daemon to die');
      // no CLI command runs here: the subscription itself brings a daemon back (remote: waits for
      // the server its supervisor restarts)
      const after = await waitFor(() => {
        const p = a.daemonPid();
        return p && p !== before && pidAlive(p) && store.getSnapshot().connection === 'connected' ? p : undefined;
      }, 60_000, 'a new daemon and the stream back');
      expect(after).not.toBe(before);
      // (remote: the server's supervisor restarts it, often before the stream would need to wait)
      if (!REMOTE) expect(revived).toBeGreaterThanOrEqual(1);
      const seqBefore = store.getSnapshot().seq;
      const r = await a.run(['launch', '-y', '-d', '-c', 'after', '--', 'echo after'], { timeoutMs: 90_000 });
      expect(r.code, r.stderr).toBe(0);
      await waitFor(() => store.getSnapshot().clusters.get('after')?.status === 'UP', 30_000, 'the new cluster through the resumed stream');
      const s = store.getSnapshot();
      expect(s.seq).toBeGreaterThan(seqBefore);
      expect([...s.clusters.keys()].sort()).toEqual(['after', 'desc']);
      // every change once: the timeline holds no seq twice, and none after the stream's own
      const seqs = s.timeline.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      const snap = await client.call('snapshot', {});
      await waitFor(() => store.getSnapshot().seq >= snap.seq, 10_000, 'the store to catch up');
    } finally {
      store.close();
    }
  });
});
