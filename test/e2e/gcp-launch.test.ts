// Issue 11, GCP: the real CLI and daemon, the real @google-cloud/compute client, against the GCE
// fake whose instances are real sshd hosts (test/fakes/vms.ts). Everything is checked where a user
// would look — the CLI — and in the cloud itself, by label (nothing of ours left after down).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGceFake, type GceFake } from '../fakes/gcp/index.js';
import { gceVmHosts, type GceVmHosts } from '../fakes/gcp/vms.js';
import { sshdInstalled } from '../fakes/vms.js';
import { makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { resumedFrom, writeCheckpointJob } from '../helpers/checkpoint-job.js';

const ours = (gce: GceFake, cluster: string) => gce.list({ 'aloft-cluster': cluster });
const firewallsOf = (gce: GceFake, cluster: string) => [...gce.model.firewalls.keys()].filter((n) => n.startsWith(`aloft-${cluster}-`));
const natIp = (i: Record<string, unknown>) =>
  ((i.networkInterfaces as Array<{ accessConfigs: Array<{ natIP?: string }> }>)[0]!.accessConfigs[0]!.natIP)!;

function connects(host: string, port: number): Promise<string | false> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let data = '';
    s.setTimeout(3000, () => (s.destroy(), resolve(false)));
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (d) => (data += d));
    s.on('end', () => resolve(data || false));
    s.on('error', () => resolve(false));
  });
}

// Fake VMs are real sshd servers (.ci/install-ssh.sh installs OpenSSH in CI).
describe.skipIf(!sshdInstalled())('GCP through the real SDK against the GCE fake', () => {
  let gce: GceFake;
  let vms: GceVmHosts;
  let a: AloftEnv;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    vms = await gceVmHosts();
    gce = await startGceFake({ vms });
    dir = mkdtempSync(join(tmpdir(), 'aloft-gcp-'));
    env = { ...gce.writeConfig(dir).env, ALOFT_GCP_SSH_USER: vms.host.user };
    a = makeHome('aloft-gcp-');
    Object.assign(a.env, env);
  });
  afterAll(async () => {
    await a?.cleanup();
    await gce?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = async (name: string) => {
    const r = await a.run(['status', '-o', 'json']);
    return (JSON.parse(r.stdout) as Array<Record<string, unknown>>).find((c) => c.name === name);
  };

  it('launch, exec, logs, stop, start, down; cost-report keeps the torn-down cluster', async () => {
    const r = await a.run(['launch', '-y', '-c', 'g1', '--infra', 'gcp/us-central1', '--cpus', '2', '--', 'echo hello-$SKYPILOT_NODE_RANK from $SKYPILOT_NODE_IPS'], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [inst] = ours(gce, 'g1');
    expect(inst).toBeDefined();
    const ip = (inst!.networkInterfaces as Array<{ networkIP: string }>)[0]!.networkIP;
    expect(r.stdout).toContain(`hello-0 from ${ip}`);
    expect(inst!.status).toBe('RUNNING');
    expect(inst!.labels).toMatchObject({ 'aloft-cluster': 'g1', 'aloft-rank': '0' });
    const st = await statusOf('g1');
    expect(st).toMatchObject({ status: 'UP', cloud: 'gcp', region: 'us-central1', uid: inst!.labels['aloft-cluster-uid'] });
    expect(inst!.zone).toBe(st!.zone);
    expect(firewallsOf(gce, 'g1')).toEqual([`aloft-g1-${st!.uid}`]);
    // The disk: SkyPilot's default size, the default tier.
    expect((inst!.disks as Array<{ diskSizeGb: string; _diskType: string }>)[0]).toMatchObject({ diskSizeGb: '256', _diskType: 'pd-balanced' });

    const ex = await a.run(['exec', 'g1', '--', 'echo exec-ok; hostname -I']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toContain('exec-ok');
    const logs = await a.run(['logs', 'g1', '1', '--no-follow']);
    expect(logs.stdout).toContain('hello-0');

    const stop = await a.run(['stop', '-y', 'g1'], { timeoutMs: 60_000 });
    expect(stop.code, stop.stderr).toBe(0);
    expect(ours(gce, 'g1').map((i) => i.status)).toEqual(['TERMINATED']);
    expect((await statusOf('g1'))!.status).toBe('STOPPED');
    expect(vms.vm(inst!.id)!.processes()).toEqual([]);

    const start = await a.run(['start', 'g1'], { timeoutMs: 120_000 });
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(ours(gce, 'g1').map((i) => [i.id, i.status])).toEqual([[inst!.id, 'RUNNING']]);
    const again = await a.run(['exec', 'g1', '--', 'echo after-start']);
    expect(again.stdout).toContain('after-start');
    const price = (await statusOf('g1'))!.hourlyPrice as number;
    expect(price).toBeGreaterThan(0);

    const down = await a.run(['down', '-y', 'g1'], { timeoutMs: 120_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(ours(gce, 'g1')).toEqual([]);
    expect(firewallsOf(gce, 'g1')).toEqual([]);
    expect(vms.vm(inst!.id)).toBeUndefined();

    const cost = JSON.parse((await a.run(['cost-report', '-o', 'json'])).stdout) as { clusters: Array<Record<string, number | string>>; total: number };
    const row = cost.clusters.find((c) => c.name === 'g1' && c.uid === st!.uid)!;
    expect(row).toMatchObject({ status: 'TERMINATED', cloud: 'gcp', hourlyPrice: price });
    expect(row.hours as number).toBeGreaterThan(0);
    expect(row.cost).toBeCloseTo((row.hours as number) * price, 6);
    expect(cost.total).toBeGreaterThanOrEqual(row.cost as number);
  }, 300_000);

  it('a T4 on an N1 VM is attached as a guest accelerator (GCE sells N1 GPUs apart from the host)', async () => {
    // no command: provision only (the fake's VMs have no GPU for a job to claim)
    const r = await a.run(['launch', '-y', '-c', 'gt4', '--infra', 'gcp/us-central1', '--gpus', 'T4:1'], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [inst] = ours(gce, 'gt4');
    expect(String(inst!.machineType)).toMatch(/\/n1-/);
    expect(inst!.guestAccelerators).toEqual([{ acceleratorType: expect.stringMatching(/\/acceleratorTypes\/nvidia-tesla-t4$/), acceleratorCount: 1 }]);
    expect((await a.run(['down', '-y', 'gt4'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(ours(gce, 'gt4')).toEqual([]);
  }, 300_000);

  it('two nodes in one zone; the task ports open through the firewall, closed after down', async () => {
    const yaml = join(dir, 'serve.yaml');
    const server = `const http = require('http'); const ip = process.env.SKYPILOT_NODE_IPS.split('\\n')[0];
for (const port of [8080, 8081]) http.createServer((q, s) => s.end('port ' + port + ' rank ' + process.env.SKYPILOT_NODE_RANK)).listen(port, ip);`;
    writeFileSync(join(dir, 'server.js'), server);
    writeFileSync(
      yaml,
      `resources:
  infra: gcp/us-east1
  cpus: 2
  ports: 8080
num_nodes: 2
file_mounts:
  ~/server.js: ${join(dir, 'server.js')}
run: |
  echo "rank $SKYPILOT_NODE_RANK of $SKYPILOT_NUM_NODES: $(echo $SKYPILOT_NODE_IPS | tr '\\n' ' ')"
  if [ "$SKYPILOT_NODE_RANK" = 0 ]; then exec node ~/server.js; else sleep 600; fi
`,
    );
    const r = await a.run(['launch', '-y', '-d', '-c', 'g2', yaml], { timeoutMs: 150_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const nodes = ours(gce, 'g2').sort((x, y) => Number(x.labels['aloft-rank']) - Number(y.labels['aloft-rank']));
    expect(nodes.map((n) => n.labels['aloft-rank'])).toEqual(['0', '1']);
    expect(new Set(nodes.map((n) => n.zone)).size).toBe(1);
    const head = natIp(nodes[0]!);
    const served = await waitFor(() => connects(head, 8080), 30_000, 'the task port through the firewall');
    expect(served).toContain('port 8080 rank 0');
    // 8081 listens on the VM too, but the firewall does not open it.
    expect(await connects(head, 8081)).toBe(false);
    const logs = await a.run(['logs', 'g2', '1', '--no-follow']);
    const ips = nodes.map((n) => (n.networkInterfaces as Array<{ networkIP: string }>)[0]!.networkIP);
    expect(logs.stdout).toContain(`rank 0 of 2: ${ips.join(' ')}`);
    expect(logs.stdout).toContain(`rank 1 of 2: ${ips.join(' ')}`);

    const down = await a.run(['down', '-y', 'g2'], { timeoutMs: 120_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(await connects(head, 8080)).toBe(false);
    expect(ours(gce, 'g2')).toEqual([]);
    expect(firewallsOf(gce, 'g2')).toEqual([]);
  }, 300_000);

  it('a zone out of resources → the next zone, a whole region out → the next region; each attempt is a progress line', async () => {
    const plan = JSON.parse((await a.run(['launch', '--dryrun', '-o', 'json', '--infra', 'gcp', '--cpus', '2', '--', 'true'])).stdout) as {
      chosen: { region: string; zone: string };
      alternatives?: Array<{ region: string; zone: string }>;
    };
    const order = [plan.chosen, ...(plan.alternatives ?? [])];
    const first = order[0]!.region;
    const firstZones = order.filter((p) => p.region === first).map((p) => p.zone);
    const next = order.find((p) => p.region !== first)!;
    expect(firstZones.length).toBeGreaterThan(1);
    for (const z of firstZones) gce.model.zoneFailures.set(z, { code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
    try {
      const r = await a.run(['launch', '-y', '-c', 'g3', '--infra', 'gcp', '--cpus', '2', '--', 'echo landed'], { timeoutMs: 150_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const z of firstZones) {
        expect(r.stderr).toMatch(new RegExp(`gcp/${first}/${z}: capacity error \\(ZONE_RESOURCE_POOL_EXHAUSTED: The zone 'projects/aloft-fake/zones/${z}' does not have enough resources.*blocked gcp/${first}/${z}`));
      }
      expect(ours(gce, 'g3').map((i) => i.zone)).toEqual([next.zone]);
      expect((await statusOf('g3'))!.infra).toBe(`gcp/${next.region}/${next.zone}`);
      // The same attempts, in `aloft requests`.
      const reqs = JSON.parse((await a.run(['requests', '-a', '-o', 'json'])).stdout) as Array<{ cluster: string; kind: string; attempts?: string[] }>;
      const launch = reqs.find((q) => q.cluster === 'g3' && q.kind === 'launch')!;
      expect(launch.attempts!.map((l) => l.split(':')[0])).toEqual(firstZones.map((z) => `gcp/${first}/${z}`));
      expect((await a.run(['requests', '-a'])).stdout).toContain(`failed over ${firstZones.length} time(s)`);
      expect(gce.model.attempts.filter((x) => x.name.startsWith('g3-')).map((x) => x.error)).toEqual([...firstZones.map(() => 'ZONE_RESOURCE_POOL_EXHAUSTED'), undefined]);
    } finally {
      for (const z of firstZones) gce.model.zoneFailures.delete(z);
    }
    expect((await a.run(['down', '-y', 'g3'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(ours(gce, 'g3')).toEqual([]);
  }, 300_000);

  it('QUOTA_EXCEEDED blocks the whole region after one attempt', async () => {
    const plan = JSON.parse((await a.run(['launch', '--dryrun', '-o', 'json', '--infra', 'gcp', '--cpus', '2', '--', 'true'])).stdout) as {
      chosen: { region: string; zone: string };
      alternatives?: Array<{ region: string; zone: string }>;
    };
    const order = [plan.chosen, ...(plan.alternatives ?? [])];
    const first = order[0]!.region;
    const next = order.find((p) => p.region !== first)!;
    const before = gce.model.attempts.length;
    // (the fake's VMs are this 2-CPU machine: tasks ask for 2 CPUs at most)
    gce.model.cpuQuota.set(first, 1);
    try {
      const r = await a.run(['launch', '-y', '-c', 'g4', '--infra', 'gcp', '--cpus', '2', '--', 'echo landed'], { timeoutMs: 150_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`quota error \\(QUOTA_EXCEEDED: Quota 'CPUS' exceeded\\.\\s+Limit: 1\\.0 in region ${first}\\.\\); blocked gcp/${first},`));
      const tried = gce.model.attempts.slice(before);
      expect(tried.filter((x) => x.zone.startsWith(`${first}-`)).map((x) => x.error)).toEqual(['QUOTA_EXCEEDED']);
      expect(ours(gce, 'g4').map((i) => i.zone)).toEqual([next.zone]);
    } finally {
      gce.model.cpuQuota.delete(first);
    }
    expect((await a.run(['down', '-y', 'g4'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 300_000);

  it('a SPOT instance preempted under a managed job: recovered in another region, SUCCEEDED from its checkpoint', async () => {
    const train = writeCheckpointJob(dir, { infra: 'gcp', cpus: 2, steps: 30, stepSeconds: 0.2, tag: " in $(hostname -I | cut -d' ' -f1)" });
    const r = await a.run(['jobs', 'launch', '-y', '-d', train.yaml], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const job = async () => (JSON.parse((await a.run(['jobs', 'queue', '-o', 'json'])).stdout) as Array<Record<string, unknown>>)[0]!;
    const id = (await job()).id as number;
    const cluster = `mj-${id}`;
    await waitFor(async () => (await job()).status === 'RUNNING' && train.step() >= 5, 120_000, 'running with a checkpoint');
    const [victim] = ours(gce, cluster);
    expect(victim!.scheduling).toMatchObject({ provisioningModel: 'SPOT' });
    const lostRegion = victim!.zone.replace(/-[a-z]$/, '');
    await gce.model.preempt(victim!.zone, victim!.name);
    const done = await waitFor(async () => {
      const j = await job();
      return j.status === 'SUCCEEDED' ? j : undefined;
    }, 180_000, 'SUCCEEDED after the preemption').catch(async (err) => {
      const ctl = (await a.run(['jobs', 'logs', String(id), '--controller', '--no-follow'])).stdout;
      throw new Error(`${String(err)}\njob: ${JSON.stringify(await job())}\ncontroller:\n${ctl}`);
    });
    expect(done.recoveries).toBe(1);
    const logs = (await a.run(['jobs', 'logs', String(id), '--no-follow'])).stdout;
    // The reclaimed VM took its disk (and the first attempt's log on it) along; the run after the
    // recovery resumed from the checkpoint.
    expect(resumedFrom(logs).at(-1)).toBeGreaterThanOrEqual(5);
    expect(logs).toContain('finished at 30');
    // EAGER_NEXT_REGION: the recovery went to another region; the controller saw GCE's reason.
    const regions = gce.model.attempts.filter((x) => x.name.startsWith(`${cluster}-`) && !x.error).map((x) => x.zone.replace(/-[a-z]$/, ''));
    expect(regions[0]).toBe(lostRegion);
    expect(regions.at(-1)).not.toBe(lostRegion);
    await waitFor(() => ours(gce, cluster).length === 0, 60_000, 'the managed job cluster torn down');
  }, 300_000);

  it('autostop powers the head off: GCE stops it (cluster STOPPED); with --down the instances are deleted', async () => {
    const fast = { ALOFT_AUTOSTOP_SECONDS_PER_MINUTE: '1' };
    const r = await a.run(['launch', '-y', '-c', 'g6', '--infra', 'gcp/us-west1', '--cpus', '2', '-i', '1', '--', 'echo idle-soon'], { timeoutMs: 120_000, env: fast });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [inst] = ours(gce, 'g6');
    expect(inst!.labels['aloft-shutdown']).toBe('stop');
    await waitFor(async () => (await statusOf('g6'))?.status === 'STOPPED', 90_000, 'autostopped');
    expect(ours(gce, 'g6').map((i) => i.status)).toEqual(['TERMINATED']);
    expect((await statusOf('g6'))!.statusReason).toBe('autostopped');

    const start = await a.run(['start', 'g6'], { timeoutMs: 120_000, env: fast });
    expect(start.code, start.stdout + start.stderr).toBe(0);
    const down = await a.run(['autostop', 'g6', '-i', '1', '--down'], { env: fast });
    expect(down.code, down.stderr).toBe(0);
    expect(ours(gce, 'g6')[0]!.labels['aloft-shutdown']).toBe('delete');
    await waitFor(async () => (await statusOf('g6')) === undefined && ours(gce, 'g6').length === 0, 90_000, 'autostop --down: cluster and instance gone');
    expect(firewallsOf(gce, 'g6')).toEqual([]);
  }, 300_000);

  it('a daemon SIGKILLed mid-provision leaves no instance after the next start', async () => {
    gce.model.timing.bootMs = 4000;
    try {
      const launch = a.run(['launch', '-y', '-c', 'g5', '--infra', 'gcp/europe-west4', '--cpus', '2', '--num-nodes', '2', '--', 'true'], { timeoutMs: 120_000 });
      await waitFor(() => ours(gce, 'g5').length > 0, 60_000, 'instances being created');
      const pid = a.daemonPid()!;
      process.kill(pid, 'SIGKILL');
      await launch;
      expect(firewallsOf(gce, 'g5').length).toBe(1);
      const st = await a.run(['status'], { timeoutMs: 60_000 });
      expect(st.code, st.stderr).toBe(0);
      await waitFor(() => ours(gce, 'g5').length === 0 && firewallsOf(gce, 'g5').length === 0, 90_000, 'the interrupted launch cleaned up');
      // No VM outlives its instance (a VM booting when its instance was deleted goes too).
      const live = [...gce.model.instances.values()].map((i) => vms.vm(i.id));
      const orphans = vms.host.list().filter((v) => v.state !== 'terminated' && !live.includes(v));
      expect(orphans.map((v) => `${v.id} ${v.state}`)).toEqual([]);
    } finally {
      gce.model.timing.bootMs = 0;
    }
  }, 300_000);
});
