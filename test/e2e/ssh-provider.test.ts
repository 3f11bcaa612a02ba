// The ssh provider against real OpenSSH servers on loopback: two pool entries that are the same
// machine (and the same $HOME), a dead host, a host without Node.js, a changed host key.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesWithEnv } from '../../src/providers/local/processes.js';
import { SshProvider } from '../../src/providers/ssh/provider.js';
import type { SshTransport } from '../../src/providers/ssh/transport.js';
import type { ClusterInfo, ProvisionRequest } from '../../src/providers/types.js';
import { freePort, pathWithoutNode, removeSshTemp, sshTempDir, sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';

const ROOT = resolve(__dirname, '..', '..');

/** The agent bundle, built if its build script exists; undefined while the agent is not written. */
function agentBundle(): string | undefined {
  const bundle = join(ROOT, 'dist', 'agent', 'agent.cjs');
  const script = join(ROOT, 'scripts', 'bundle-agent.mjs');
  if (!existsSync(bundle) && existsSync(script)) spawnSync(process.execPath, [script], { cwd: ROOT, stdio: 'ignore' });
  return existsSync(bundle) ? bundle : undefined;
}

const resources = { infra: { cloud: 'ssh' }, useSpot: false, ports: [], labels: {} } as unknown as ProvisionRequest['resources'];

// Needs OpenSSH's sshd (.ci/run installs it). Skipped only on a dev machine without it; in CI a
// missing sshd fails instead of silently skipping.
describe.skipIf(!sshdAvailable() && !process.env.CI)('ssh provider', () => {
  let a: Sshd;
  let b: Sshd;
  let nonode: Sshd;
  let oldnode: Sshd;
  let home: string;
  let remoteHome: string;
  let provider: SshProvider;
  let deadPort: number;
  const progress: string[] = [];
  const req = (cluster: string, pool: string, numNodes: number): ProvisionRequest => ({
    cluster,
    clusterUid: `uid${cluster.length}abc`,
    numNodes,
    resources,
    region: pool,
    onProgress: (m) => progress.push(m),
  });

  beforeAll(async () => {
    home = sshTempDir('sshp-');
    remoteHome = sshTempDir('rhome-');
    a = await startSshd({ home: remoteHome });
    b = await startSshd({ home: remoteHome, clientKeyDir: a.dir });
    nonode = await startSshd({ home: remoteHome, clientKeyDir: a.dir, path: pathWithoutNode() });
    oldnode = await startSshd({
      home: remoteHome,
      clientKeyDir: a.dir,
      path: pathWithoutNode({ node: '#!/bin/sh\necho v18.19.0\n' }),
    });
    deadPort = await freePort();
    const key = a.identityFile;
    writeFileSync(
      join(home, 'ssh_node_pools.yaml'),
      `# two entries, one machine
duo:
  user: ${a.user}
  identity_file: ${key}
  hosts:
    - 127.0.0.1:${deadPort}
    - ip: 127.0.0.1
      port: ${a.port}
    - 127.0.0.1:${b.port}
shared:
  shared: true
  identity_file: ${key}
  hosts: ["127.0.0.1:${a.port}"]
nonode:
  identity_file: ${key}
  hosts: ["127.0.0.1:${nonode.port}"]
oldnode:
  identity_file: ${key}
  hosts: ["127.0.0.1:${oldnode.port}"]
`,
    );
    provider = new SshProvider({ home, connectTimeoutMs: 5000 });
  });

  afterAll(async () => {
    for (const c of ['duo', 'again', 'sh1', 'sh2']) await provider?.terminateInstances(c).catch(() => undefined);
    provider?.closeAll();
    for (const s of [a, b, nonode, oldnode]) await s?.stop();
    rmSync(remoteHome, { recursive: true, force: true });
    removeSshTemp();
  });

  let info: ClusterInfo;

  it('reserves two hosts that are one machine, skipping a dead host with its reason', async () => {
    info = await provider.runInstances(req('duo', 'duo', 2));
    expect(info.region).toBe('duo');
    expect(info.nodes.map((n) => n.instanceId)).toEqual([`ssh:${a.user}@127.0.0.1:${a.port}`, `ssh:${a.user}@127.0.0.1:${b.port}`]);
    expect(info.nodes.map((n) => n.ip)).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(info.nodes.map((n) => n.home)).toEqual([
      `${remoteHome}/.aloft-runtime/duo-uid3abc/node-0`,
      `${remoteHome}/.aloft-runtime/duo-uid3abc/node-1`,
    ]);
    expect(progress.join('\n')).toContain(`skipping ssh host ${a.user}@127.0.0.1:${deadPort}: cannot reach ${a.user}@127.0.0.1:${deadPort}: connection refused`);
    // The host keys were trusted on first use.
    const kh = readFileSync(join(home, 'ssh', 'known_hosts'), 'utf8');
    expect(kh).toContain(`[127.0.0.1]:${a.port} ssh-ed25519 `);
    expect(kh).toContain(`[127.0.0.1]:${b.port} ssh-ed25519 `);
    // ...and `ssh duo` / `ssh duo-worker1` work through the generated config.
    const cfg = readFileSync(join(home, 'ssh', 'config'), 'utf8');
    expect(cfg).toMatch(new RegExp(`Host duo\\n  HostName 127.0.0.1\\n  Port ${a.port}\\n`));
    expect(cfg).toMatch(new RegExp(`Host duo-worker1\\n  HostName 127.0.0.1\\n  Port ${b.port}\\n`));
    const viaConfig = execFileSync('ssh', ['-F', join(home, 'ssh', 'config'), '-o', 'BatchMode=yes', 'duo-worker1', 'echo ok'], {
      encoding: 'utf8',
    });
    expect(viaConfig.trim()).toBe('ok');
  });

  it('inspects pools: reachability with reasons, resources, holders', async () => {
    const rows = await provider.inspectPools({ timeoutMs: 5000 });
    const duo = rows.filter((r) => r.pool === 'duo');
    expect(duo.map((r) => [r.host.split(':').pop(), r.reachable, r.clusters])).toEqual(
      expect.arrayContaining([
        [String(deadPort), false, []],
        [String(a.port), true, ['duo']],
        [String(b.port), true, ['duo']],
      ]),
    );
    expect(duo.find((r) => !r.reachable)!.reason).toMatch(/connection refused/);
    expect(duo.find((r) => r.reachable)!.resources!.cpus).toBeGreaterThan(0);
    expect(rows.find((r) => r.pool === 'nonode')!.reason).toMatch(/Node\.js is not installed/);
    const offers = await provider.liveOfferings();
    expect(offers.find((o) => o.region === 'duo')).toMatchObject({ cloud: 'ssh', available: 0 });
    expect(offers.find((o) => o.region === 'shared')).toMatchObject({ available: 1 });
    expect(offers.find((o) => o.region === 'nonode')).toBeUndefined();
    expect(await provider.poolProblems('nonode')).toMatch(/^ssh pool 'nonode': .*Node\.js is not installed/);
  });

  it('is idempotent for the same cluster and refuses hosts held by another cluster', async () => {
    const again = await provider.runInstances(req('duo', 'duo', 2));
    expect(again.nodes).toEqual(info.nodes);
    await expect(provider.runInstances(req('again', 'duo', 1))).rejects.toThrow(
      /ssh pool 'duo' has 0 usable host\(s\) for 1 node\(s\): .*:\d+: cannot reach .*connection refused; .*: in use by cluster duo; .*: in use by cluster duo/,
    );
  });

  it('gives each node its own home and detects resources', async () => {
    const [t0, t1] = info.nodes.map((n) => provider.transport('duo', n) as SshTransport);
    const r0 = await t0!.exec('pwd; echo "$ALOFT_NODE_DIR"; echo rank0 > mine');
    const r1 = await t1!.exec('pwd; cat mine 2>/dev/null || echo none');
    expect(r0.stdout.trim().split('\n')).toEqual([info.nodes[0]!.home, info.nodes[0]!.home]);
    expect(r1.stdout.trim().split('\n')).toEqual([info.nodes[1]!.home, 'none']);
    const res = await provider.detectResources(t0!, info.nodes[0]!);
    expect(res.cpus).toBeGreaterThan(0);
    expect(res.memoryGiB).toBeGreaterThan(0);
  });

  it('uploads the agent bundle once per host, checked by hash', async () => {
    const bundle = agentBundle() ?? join(home, 'fake-agent.cjs');
    if (!existsSync(bundle)) writeFileSync(bundle, 'console.log("fake agent")\n');
    const [t0, t1] = info.nodes.map((n) => provider.transport('duo', n));
    const [p0, p1] = await Promise.all([provider.ensureAgent(t0!, info.nodes[0]!, bundle), provider.ensureAgent(t1!, info.nodes[1]!, bundle)]);
    expect(p0).toBe(p1);
    expect(p0).toMatch(new RegExp(`^${remoteHome}/\\.aloft-agent/agent-[0-9a-f]{16}\\.cjs$`));
    expect(readFileSync(p0)).toEqual(readFileSync(bundle));
    const before = readdirSync(join(remoteHome, '.aloft-agent')).sort();
    await provider.ensureAgent(t0!, info.nodes[0]!, bundle);
    expect(readdirSync(join(remoteHome, '.aloft-agent')).sort()).toEqual(before);
  });

  it('stop kills the nodes\' processes (daemonized ones too) and keeps the hosts; terminate releases them', async () => {
    const clusterDir = `${remoteHome}/.aloft-runtime/duo-uid3abc`;
    for (const n of info.nodes) {
      const t = provider.transport('duo', n);
      // A job that double-forks into its own session, as an agent does.
      const r = await t.exec('setsid bash -c "sleep 300 & sleep 300" </dev/null >/dev/null 2>&1 & echo started', { timeoutMs: 10_000 });
      expect(r.stdout).toContain('started');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(processesWithEnv(['ALOFT_NODE_DIR'], clusterDir).length).toBeGreaterThanOrEqual(4);
    await provider.stopInstances('duo');
    expect(processesWithEnv(['ALOFT_NODE_DIR'], clusterDir)).toEqual([]);
    expect(existsSync(join(clusterDir, 'node-0', 'mine'))).toBe(true);
    expect((await provider.queryInstances('duo'))?.nodes.map((n) => n.status)).toEqual(['stopped', 'stopped']);

    // start: the same hosts again
    const restarted = await provider.runInstances(req('duo', 'duo', 2));
    expect(restarted.nodes.map((n) => n.home)).toEqual(info.nodes.map((n) => n.home));
    expect(restarted.nodes[0]!.status).toBe('running');

    await provider.terminateInstances('duo');
    expect(existsSync(clusterDir)).toBe(false);
    expect(await provider.queryInstances('duo')).toBeUndefined();
    expect(readFileSync(join(home, 'ssh', 'config'), 'utf8')).not.toContain('Host duo');
    // The hosts are free again.
    const again = await provider.runInstances(req('again', 'duo', 1));
    expect(again.nodes[0]!.instanceId).toBe(`ssh:${a.user}@127.0.0.1:${a.port}`);
    await provider.terminateInstances('again');
  });

  it('lets several clusters use a host of a shared pool', async () => {
    const c1 = await provider.runInstances(req('sh1', 'shared', 1));
    const c2 = await provider.runInstances(req('sh2', 'shared', 1));
    expect(c1.nodes[0]!.instanceId).toBe(c2.nodes[0]!.instanceId);
    expect(c1.nodes[0]!.home).not.toBe(c2.nodes[0]!.home);
    await provider.transport('sh2', c2.nodes[0]!).exec('echo keep > f');
    await provider.terminateInstances('sh1');
    expect(existsSync(c2.nodes[0]!.home.replace(/\/node-0$/, ''))).toBe(true);
    await provider.terminateInstances('sh2');
  });

  it('says clearly when Node.js is missing or too old on a host', async () => {
    const e1 = (await provider.runInstances(req('nn', 'nonode', 1)).catch((e: Error) => e)) as Error;
    expect(e1.message).toMatch(/Node\.js is not installed on .*:\d+ \(no `node` on PATH=.*nonode-.*\); install Node\.js 20 or newer/);
    expect(e1.message).not.toContain('\n');
    const e2 = (await provider.runInstances(req('on', 'oldnode', 1)).catch((e: Error) => e)) as Error;
    expect(e2.message).toMatch(/Node\.js v18\.19\.0 at .*\/node on .* is too old: aloft's agent needs Node\.js >= 20/);
  });

  it('refuses a host whose key changed', async () => {
    const p2 = new SshProvider({ home, connectTimeoutMs: 5000 });
    // A fresh server on the port of a known one: same address, different host key.
    const port = b.port;
    await b.stop();
    b = await startSshd({ home: remoteHome, clientKeyDir: a.dir, port });
    const e = (await p2.runInstances(req('again', 'duo', 2)).catch((err: Error) => err)) as Error;
    expect(e.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}: host key of 127\\.0\\.0\\.1:${port} has changed .*refusing to connect`));
    p2.closeAll();
  });

  it('runs the real agent on both nodes and terminate leaves no agent process', async (ctx) => {
    const bundle = agentBundle();
    // The bundle comes from `npm run build` (npm test builds first); without it there is nothing to run.
    if (!bundle && !process.env.CI) ctx.skip();
    expect(bundle, 'dist/agent/agent.cjs (run npm run build)').toBeTruthy();
    const p = new SshProvider({ home, connectTimeoutMs: 5000 });
    // b was restarted with a new key; forget the old one for this test.
    const kh = join(home, 'ssh', 'known_hosts');
    writeFileSync(kh, readFileSync(kh, 'utf8').split('\n').filter((l) => !l.startsWith(`[127.0.0.1]:${b.port} `)).join('\n'));
    const c = await p.runInstances(req('duo', 'duo', 2));
    const clusterDir = `${remoteHome}/.aloft-runtime/duo-uid3abc`;
    try {
      for (const n of c.nodes) {
        const t = p.transport('duo', n);
        const agent = await p.ensureAgent(t, n, bundle!);
        mkdirSync(n.home, { recursive: true });
        writeFileSync(join(n.home, 'agent-token'), 'secret-token', { mode: 0o600 });
        const r = await t.exec(`node ${agent} start --dir ${n.home} --listen-tcp 127.0.0.1:0 --token-file ${n.home}/agent-token`, {
          timeoutMs: 60_000,
        });
        expect(r.code, r.stderr).toBe(0);
        const started = JSON.parse(r.stdout.trim().split('\n').pop()!) as { pid: number; socket: string };
        const stream = await t.connect(started.socket);
        const line = new Promise<string>((resolve) => {
          let buf = '';
          stream.on('data', (d: Buffer) => {
            buf += d.toString();
            if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
          });
        });
        stream.write(JSON.stringify({ id: 1, method: 'hello', params: {} }) + '\n');
        const hello = JSON.parse(await line) as { id: number; result: { pid: number; nodeDir: string } };
        expect(hello.result.pid).toBe(started.pid);
        expect(hello.result.nodeDir).toBe(n.home);
        stream.end();
      }
      expect(processesWithEnv(['ALOFT_NODE_DIR'], clusterDir).length).toBeGreaterThanOrEqual(2);
    } finally {
      await p.terminateInstances('duo');
      p.closeAll();
    }
    expect(processesWithEnv(['ALOFT_NODE_DIR'], clusterDir)).toEqual([]);
    expect(existsSync(clusterDir)).toBe(false);
  });
});
