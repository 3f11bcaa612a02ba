// Issue 11 on AWS, end to end: the real CLI and daemon, the real @aws-sdk/client-ec2 against the
// EC2 fake, and instances that are real sshd hosts (test/fakes/vms.ts), so everything after
// "running" goes through aloft's ssh transport. Each test lists what is left by tag.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsFake, type AwsFake } from '../fakes/aws/index.js';
import { sshdInstalled, VmHost } from '../fakes/vms.js';
import { makeHome, REMOTE, waitFor, type AloftEnv } from '../helpers/cli.js';
import { resumedFrom, writeCheckpointJob } from '../helpers/checkpoint-job.js';

interface Cluster {
  name: string;
  status: string;
  infra: string;
  zone?: string;
  region?: string;
  uid: string;
  statusReason?: string | null;
}

function httpGet(host: string, port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
  });
}

// Needs OpenSSH's sshd for the VMs (CI installs it); skipped only on a dev machine without it.
describe.skipIf(!sshdInstalled() && !process.env.CI)('AWS through the EC2 fake', { timeout: 240_000 }, () => {
  let vms: VmHost;
  let fake: AwsFake;
  let a: AloftEnv;
  let dir: string;

  const status = async (): Promise<Cluster[]> => JSON.parse((await a.run(['status', '-o', 'json'])).stdout) as Cluster[];
  const cluster = async (name: string) => (await status()).find((c) => c.name === name);
  const live = (name: string) => fake.list({ 'aloft-cluster': name }).filter((i) => i.state !== 'terminated');
  const groupsOf = (name: string) => [...fake.model.groups.values()].filter((g) => g.tags.get('aloft-cluster') === name);
  const launch = async (args: string[], timeoutMs = 120_000) => {
    const r = await a.run(['launch', '-y', ...args], { timeoutMs });
    if (r.code !== 0) throw new Error(`launch ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}\n${(await a.run(['daemon', 'logs'])).stdout.split('\n').slice(-30).join('\n')}`);
    return r;
  };

  beforeAll(async () => {
    vms = new VmHost();
    fake = await startAwsFake({ vms });
    a = makeHome('aloft-aws-');
    dir = mkdtempSync(join(tmpdir(), 'aloft-awsl-'));
    Object.assign(a.env, fake.writeConfig(join(dir, 'aws')).env, { ALOFT_AUTOSTOP_SECONDS_PER_MINUTE: '1' });
  });

  afterAll(async () => {
    await a?.cleanup();
    await fake?.stop();
    await vms?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('aloft check: credentials found and the EC2 API answers; a wrong secret is named', async () => {
    const r = await a.run(['check', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const aws = (JSON.parse(r.stdout) as Array<{ infra: string; ok: boolean; reachable?: boolean; reason: string }>).find((s) => s.infra === 'aws')!;
    expect(aws).toMatchObject({ ok: true, reachable: true });
    expect(aws.reason).toContain(`EC2 API answered (9 regions at ${fake.endpoint})`);
    const bad = join(dir, 'bad-credentials');
    writeFileSync(bad, `[default]\naws_access_key_id = ${fake.accessKeyId}\naws_secret_access_key = wrong\n`);
    const b = await a.run(['check', '-o', 'json'], { env: { AWS_SHARED_CREDENTIALS_FILE: bad } });
    const awsBad = (JSON.parse(b.stdout) as Array<{ infra: string; ok: boolean; reachable?: boolean; reason: string }>).find((s) => s.infra === 'aws')!;
    expect(awsBad).toMatchObject({ ok: true, reachable: false });
    expect(awsBad.reason).toContain('AuthFailure');
  });

  it('launches a tagged instance with its disk and ports, then exec, logs, stop, start and down', async () => {
    const task = join(dir, 'web.yaml');
    // The fake VMs share this machine's network: a service binds its node's own address (the
    // first of SKYPILOT_NODE_IPS) and is reached from outside only through the security group.
    writeFileSync(
      task,
      `resources:
  infra: aws/us-east-1
  cpus: 1+
  disk_size: 64
  disk_tier: high
  ports: 18080
  labels: {team: ml}
run: |
  echo serving
  exec python3 -m http.server 18080 --bind "$(echo "$SKYPILOT_NODE_IPS" | head -1)"
`,
    );
    await launch(['-d', '-c', 'solo', task]);
    const c = (await cluster('solo'))!;
    expect(c).toMatchObject({ status: 'UP', region: 'us-east-1', zone: 'us-east-1a' });
    const [inst, ...more] = live('solo');
    expect(more).toEqual([]);
    expect(Object.fromEntries(inst!.tags)).toMatchObject({ 'aloft-cluster': 'solo', 'aloft-cluster-uid': c.uid, 'aloft-rank': '0', Name: 'solo-head', team: 'ml' });
    expect(inst!.volume).toMatchObject({ sizeGb: 64, type: 'gp3', iops: 7000 });
    expect(inst!.shutdownBehavior).toBe('stop');
    const sg = groupsOf('solo');
    expect(sg.map((g) => g.name)).toEqual([`aloft-solo-${c.uid}`]);
    expect(sg[0]!.rules.map((r) => `${r.protocol}:${r.from}`).sort()).toEqual(['-1:-1', 'tcp:18080', 'tcp:22']);
    // The task's port is open on the instance's public address once the service is up.
    await waitFor(async () => (await httpGet(inst!.publicIp!, 18080)) === 200, 30_000, 'port 18080 reachable');

    // `aloft ssh` logs in with the system ssh, the cluster's key and its own host-key record.
    const sh = await a.run(['ssh', 'solo', '-c', 'echo "in $PWD as rank $SKYPILOT_NODE_RANK"']);
    if (REMOTE) {
      // an API server refuses `aloft ssh` by design: nodes are reached from the server's machine
      expect(sh.code).not.toBe(0);
      expect(sh.stderr).toContain('`aloft ssh` reaches nodes from the machine that runs the server');
    } else {
      expect(sh.code, sh.stderr).toBe(0);
      expect(sh.stdout).toMatch(new RegExp(`in \\S+/\\.aloft-runtime/solo-${c.uid}/node-0 as rank 0`));
    }
    const ex = await a.run(['exec', 'solo', '--', 'echo hello from $SKYPILOT_NODE_RANK; echo kept > ~/kept.txt']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toContain('hello from 0');
    const logs = await a.run(['logs', 'solo', '2', '--no-follow']);
    expect(logs.stdout).toContain('hello from 0');
    expect((await a.run(['logs', 'solo', '1', '--no-follow', '--tail', '50'])).stdout).toContain('serving');

    const st = await a.run(['stop', 'solo', '-y']);
    expect(st.code, st.stderr).toBe(0);
    expect((await cluster('solo'))!.status).toBe('STOPPED');
    expect(fake.model.instances.get(inst!.id)!.state).toBe('stopped');
    expect(vms.vm(inst!.vm!.id)!.processes()).toEqual([]);
    expect(await httpGet(inst!.publicIp ?? inst!.vm!.publicIp, 18080)).toBe(0);

    const sr = await a.run(['start', 'solo', '-y'], { timeoutMs: 120_000 });
    expect(sr.code, sr.stderr).toBe(0);
    expect((await cluster('solo'))!.status).toBe('UP');
    expect(live('solo').map((i) => i.id)).toEqual([inst!.id]); // the same instance, its disk kept
    expect((await a.run(['exec', 'solo', '--', 'cat ~/kept.txt'])).stdout).toContain('kept');
  });

  it('runs a 2-node job in one zone with the workdir on both nodes', async () => {
    const wd = join(dir, 'wd');
    mkdirSync(wd, { recursive: true });
    writeFileSync(join(wd, 'data.txt'), 'synced\n');
    const r = await launch(['-c', 'duo', '--infra', 'aws/us-east-1', '--num-nodes', '2', '--cpus', '2', '--workdir', wd, '--', 'echo "rank $SKYPILOT_NODE_RANK ips $(echo $SKYPILOT_NODE_IPS) $(cat data.txt)"']);
    const insts = live('duo').sort((x, y) => Number(x.tags.get('aloft-rank')) - Number(y.tags.get('aloft-rank')));
    expect(insts).toHaveLength(2);
    expect(new Set(insts.map((i) => i.zone)).size).toBe(1);
    const ips = insts.map((i) => i.privateIp).join(' ');
    for (const rank of [0, 1]) expect(r.stdout).toContain(`rank ${rank} ips ${ips} synced`);
  });

  it('status -r looks at every cluster with one DescribeInstances per region', async () => {
    expect((await status()).filter((c) => c.status === 'UP').map((c) => c.name).sort()).toEqual(['duo', 'solo']);
    const before = fake.server.calls.get('DescribeInstances') ?? 0;
    const r = await a.run(['status', '-r', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Cluster[]).map((c) => c.status)).toEqual(['UP', 'UP']);
    expect((fake.server.calls.get('DescribeInstances') ?? 0) - before).toBe(1);
  });

  it('down terminates and waits, leaving no instance, security group or open port', async () => {
    const solo = live('solo')[0]!;
    const r = await a.run(['down', 'solo', 'duo', '-y'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await status()).toEqual([]);
    for (const name of ['solo', 'duo']) {
      expect(live(name)).toEqual([]);
      expect(groupsOf(name)).toEqual([]);
    }
    expect(await httpGet(solo.vm!.publicIp, 18080)).toBe(0);
    expect(vms.list().filter((v) => v.state !== 'terminated')).toEqual([]);
  });

  it('fails over: zones out of capacity, then a region over its vCPU quota, each attempt with its reason', async () => {
    for (const z of fake.model.regions.get('us-east-1')!) fake.model.zoneFailures.set(z, { code: 'InsufficientInstanceCapacity' });
    fake.model.vcpuLimits.set('us-east-2', 0);
    const logFrom = fake.model.runLog.length;
    try {
      const r = await launch(['-c', 'fo', '--infra', 'aws', '--cpus', '2', '--', 'echo landed']);
      expect(r.stdout).toContain('landed');
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/aws\/us-east-1\/us-east-1a: capacity error \(InsufficientInstanceCapacity: We currently do not have sufficient/);
      expect(out).toMatch(/aws\/us-east-2\/us-east-2a: quota error \(VcpuLimitExceeded: You have requested more vCPU capacity/);
      expect((await cluster('fo'))!.infra).toBe('aws/us-west-2/us-west-2a');
      // The region over its quota was tried once, not zone by zone.
      const tried = fake.model.runLog.slice(logFrom).map((x) => `${x.zone}:${x.error ?? 'ok'}`);
      expect(tried.filter((t) => t.startsWith('us-east-2'))).toEqual(['us-east-2a:VcpuLimitExceeded']);
      expect(tried.filter((t) => t.startsWith('us-east-1')).every((t) => t.endsWith(':InsufficientInstanceCapacity'))).toBe(true);
      // Every failed attempt is kept on the request.
      const reqs = JSON.parse((await a.run(['requests', '-o', 'json'])).stdout) as Array<{ cluster: string; kind: string; attempts?: string[] }>;
      const attempts = reqs.find((q) => q.cluster === 'fo' && q.kind === 'launch')!.attempts!;
      expect(attempts.map((l) => l.split(':')[0])).toEqual([
        ...fake.model.regions.get('us-east-1')!.map((z) => `aws/us-east-1/${z}`),
        'aws/us-east-2/us-east-2a',
      ]);
      expect((await a.run(['requests'])).stdout).toContain('failed over 6 time(s)');
    } finally {
      fake.model.zoneFailures.clear();
      fake.model.vcpuLimits.clear();
      await a.run(['down', 'fo', '-y'], { timeoutMs: 120_000 });
    }
    expect(live('fo')).toEqual([]);
    for (const r of ['us-east-1', 'us-east-2', 'us-west-2']) expect([...fake.model.groups.values()].filter((g) => g.region === r && g.name.startsWith('aloft-fo-'))).toEqual([]);
  });

  it('removes a partial launch before trying the next zone', async () => {
    // us-east-1a takes back the first spot instance of each launch as soon as it runs.
    fake.model.reclaimAtBoot.add('us-east-1a');
    try {
      const r = await launch(['-c', 'part', '--infra', 'aws/us-east-1', '--use-spot', '--num-nodes', '2', '--cpus', '2', '--', 'echo both up']);
      expect(r.stdout + r.stderr).toMatch(/aws\/us-east-1\/us-east-1a: capacity error \(instance i-\w+ \(rank 0\) (terminated|shutting-down) while starting: Server\.SpotInstanceTermination/);
      const inA = fake.list({ 'aloft-cluster': 'part' }).filter((i) => i.zone === 'us-east-1a');
      expect(inA).toHaveLength(2);
      expect(inA.every((i) => i.state === 'terminated')).toBe(true);
      expect(live('part').every((i) => i.zone === 'us-east-1b')).toBe(true);
    } finally {
      fake.model.reclaimAtBoot.clear();
      await a.run(['down', 'part', '-y'], { timeoutMs: 120_000 });
    }
  });

  it('a reclaimed spot node makes the cluster INIT with EC2 reason; start brings the node back', async () => {
    await launch(['-c', 'sp', '--infra', 'aws/us-east-1', '--use-spot', '--cpus', '2', '--', 'echo up']);
    const [inst] = live('sp');
    expect(inst!.spot).toBe(true);
    expect(inst!.shutdownBehavior).toBe('terminate');
    const stop = await a.run(['stop', 'sp', '-y']);
    expect(stop.code).not.toBe(0);
    expect(stop.stderr).toContain('spot instances cannot be stopped');
    await fake.model.reclaim(inst!.id);
    const c = await waitFor(async () => {
      const x = await cluster('sp');
      return x?.status === 'INIT' ? x : undefined;
    }, 30_000, 'cluster INIT');
    expect(c.statusReason).toContain(`node 0 (${inst!.id}) terminated: Server.SpotInstanceTermination: Spot instance termination`);
    const sr = await a.run(['start', 'sp', '-y'], { timeoutMs: 120_000 });
    expect(sr.code, sr.stderr).toBe(0);
    expect((await cluster('sp'))!.status).toBe('UP');
    const now = live('sp');
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(inst!.id);
    expect((await a.run(['exec', 'sp', '--', 'echo again'])).stdout).toContain('again');
    expect((await a.run(['down', 'sp', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(live('sp')).toEqual([]);
  });

  it('a managed spot job whose node is reclaimed recovers in another region and succeeds from its checkpoint', async () => {
    const train = writeCheckpointJob(dir, { infra: 'aws', cpus: 2, steps: 30, stepSeconds: 0.2 });
    const r = await a.run(['jobs', 'launch', '-y', '-d', train.yaml], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    type MJ = { id: number; status: string; recoveries: number; cluster?: string; attempts: Array<{ region?: string; outcome?: string }> };
    const jobs = async () => JSON.parse((await a.run(['jobs', 'queue', '-o', 'json'])).stdout) as MJ[];
    const id = (await jobs())[0]!.id;
    await waitFor(async () => (await jobs())[0]!.status === 'RUNNING' && train.step() >= 5, 120_000, 'running past step 5');
    const [inst] = live(`mj-${id}`);
    const firstZone = inst!.zone;
    await fake.model.reclaim(inst!.id);
    const done = await waitFor(async () => {
      const j = (await jobs()).find((x) => x.id === id)!;
      return j.status === 'SUCCEEDED' || j.status.startsWith('FAILED') ? j : undefined;
    }, 180_000, 'managed job finished');
    expect(done.status).toBe('SUCCEEDED');
    expect(done.recoveries).toBe(1);
    expect(done.attempts[0]!.outcome).toBe('preempted');
    // EAGER_NEXT_REGION: the recovery went to another region (and so another zone).
    expect(done.attempts[1]!.region).not.toBe(done.attempts[0]!.region);
    const second = fake.list({ 'aloft-cluster': `mj-${id}` }).find((i) => i.id !== inst!.id)!;
    expect(second.zone).not.toBe(firstZone);
    const logs = (await a.run(['jobs', 'logs', String(id), '--no-follow'])).stdout;
    // The reclaimed attempt's output went with its VM's disk; the recovery resumed from the checkpoint.
    expect(resumedFrom(logs).at(-1)).toBeGreaterThanOrEqual(5);
    expect(logs).toContain('finished at 30');
    await waitFor(() => live(`mj-${id}`).length === 0, 60_000, 'managed cluster torn down');
  });

  it('autostop with the daemon away: the head powers the VM off, and the daemon finds it stopped', async () => {
    await launch(['-d', '-c', 'idle', '--infra', 'aws/us-east-1', '--cpus', '2', '-i', '1', '--', 'sleep 4']);
    const [inst] = live('idle');
    // The daemon goes away before the job ends; autostop fires 1 "minute" (1 s here) later.
    expect((await a.run(['daemon', 'stop'])).code).toBe(0);
    await waitFor(() => fake.model.instances.get(inst!.id)!.state === 'stopped', 60_000, 'instance stopped by its own power-off');
    expect(fake.model.instances.get(inst!.id)!.stateReason?.code).toBe('Client.InstanceInitiatedShutdown');
    const c = await waitFor(async () => {
      const r = JSON.parse((await a.run(['status', '-r', '-o', 'json'])).stdout) as Cluster[];
      const x = r.find((y) => y.name === 'idle');
      return x?.status === 'STOPPED' ? x : undefined;
    }, 30_000, 'STOPPED in aloft');
    expect(c.statusReason).toBe('autostopped');
    expect((await a.run(['down', 'idle', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
  });

  it('autostop --down with the daemon away: the VM terminates itself and the cluster is removed', async () => {
    await launch(['-d', '-c', 'gone', '--infra', 'aws/us-east-1', '--cpus', '2', '-i', '1', '--down', '--', 'sleep 4']);
    const [inst] = live('gone');
    expect(fake.model.instances.get(inst!.id)!.shutdownBehavior).toBe('terminate');
    expect((await a.run(['daemon', 'stop'])).code).toBe(0);
    await waitFor(() => fake.model.instances.get(inst!.id)!.state === 'terminated', 60_000, 'instance terminated by its own power-off');
    await waitFor(async () => !(await status()).some((c) => c.name === 'gone'), 30_000, 'cluster removed');
    expect(groupsOf('gone')).toEqual([]);
  });

  it('down fails while EC2 cannot be reached; down --purge forgets the cluster anyway', async () => {
    await launch(['-c', 'lone', '--infra', 'aws/us-east-1', '--cpus', '2', '--', 'true']);
    const [inst] = live('lone');
    // A daemon whose EC2 endpoint does not answer (started with a dead one).
    expect((await a.run(['daemon', 'stop'])).code).toBe(0);
    const dead = { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' };
    const d = await a.run(['down', 'lone', '-y'], { env: dead, timeoutMs: 120_000 });
    expect(d.code).not.toBe(0);
    expect(d.stderr).toMatch(/ECONNREFUSED|connect/);
    expect((await status()).map((c) => c.name)).toContain('lone');
    const p = await a.run(['down', 'lone', '-y', '--purge'], { env: dead, timeoutMs: 120_000 });
    expect(p.code, p.stderr).toBe(0);
    expect((await status()).map((c) => c.name)).not.toContain('lone');
    // What --purge left behind is the user's to remove, as the warning says.
    expect(fake.model.instances.get(inst!.id)!.state).toBe('running');
    await a.run(['daemon', 'stop']);
    fake.model.terminate('us-east-1', [inst!.id]);
    await waitFor(() => fake.model.instances.get(inst!.id)!.state === 'terminated', 30_000, 'terminated by hand');
    for (const g of groupsOf('lone')) fake.model.deleteGroup('us-east-1', g.id);
  });

  it('a daemon SIGKILLed mid-provision leaves no instance after the next start', async () => {
    // Slow boots keep the launch in PROVISION long enough to kill the daemon there.
    (vms.opts as { bootMs?: number }).bootMs = 4000;
    try {
      const launching = a.run(['launch', '-y', '-d', '-c', 'crash', '--infra', 'aws/us-east-1', '--num-nodes', '2', '--cpus', '2', '--', 'echo never']);
      await waitFor(() => live('crash').length === 2, 30_000, 'instances created');
      process.kill(a.daemonPid()!, 'SIGKILL');
      // The CLI that followed the launch says how it ended.
      const r = await launching;
      expect(r.code).not.toBe(0);
    } finally {
      (vms.opts as { bootMs?: number }).bootMs = 0;
    }
    // The next command starts a daemon, which removes what the interrupted launch created.
    await a.run(['status']);
    await waitFor(() => live('crash').length === 0, 60_000, 'instances terminated').catch(async (err) => {
      throw new Error(`${String(err)}\n${(await a.run(['daemon', 'logs'])).stdout.split('\n').slice(-15).join('\n')}\n${JSON.stringify(live('crash').map((i) => [i.id, i.state]))}\n${(await a.run(['requests', '-o', 'json'])).stdout}\n${(await a.run(['status', '-o', 'json'])).stdout}`);
    });
    await waitFor(async () => !(await status()).some((c) => c.name === 'crash'), 30_000, 'cluster removed');
    await waitFor(() => groupsOf('crash').length === 0, 30_000, 'security group removed');
    const req = (JSON.parse((await a.run(['requests', '-o', 'json'])).stdout) as Array<{ cluster: string; status: string; error?: string }>).find((q) => q.cluster === 'crash')!;
    expect(req.status).toBe('FAILED');
    expect(req.error).toContain('interrupted at stage PROVISION');
  });
});
