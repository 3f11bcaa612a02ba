// The kubernetes provider's lifecycle and transport through the real SDK against the fake (no
// daemon): pods created and found by label, exec over websocket v5 and v4 (stdin EOF framed on
// v4), one-way tar uploads, the agent socket through an exec'd pipe, and teardown that leaves
// nothing with aloft's labels.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPath } from '../../src/daemon/pipeline/pack.js';
import { KubernetesProvider } from '../../src/providers/kubernetes/provider.js';
import { KubernetesTransport } from '../../src/providers/kubernetes/transport.js';
import type { ClusterInfo } from '../../src/providers/types.js';
import { startFakeKube, type FakeKube } from '../fakes/kubernetes/index.js';

const isRoot = process.getuid?.() === 0;

// The fake runs pods in Linux namespaces and needs root (as here and in CI).
describe.skipIf(!isRoot && !process.env.CI)('kubernetes provider and transport against the fake', () => {
  let kube: FakeKube;
  let home: string;
  let provider: KubernetesProvider;
  let info: ClusterInfo;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    kube = await startFakeKube({ fixture: 'mixed' });
    home = mkdtempSync(join(tmpdir(), 'aloft-k8s-t-'));
    process.env.KUBECONFIG = kube.kubeconfigPath;
    provider = new KubernetesProvider({ home });
    info = await provider.runInstances({
      cluster: 'tt',
      clusterUid: 'abcdef012345',
      numNodes: 2,
      resources: { infra: { cloud: 'kubernetes', region: kube.context }, useSpot: false, ports: [], labels: {}, cpus: { value: 1, atLeast: false }, memory: { value: 1, atLeast: false } },
      region: kube.context,
    });
  }, 120_000);

  afterAll(async () => {
    provider?.close();
    await kube?.stop();
    rmSync(home, { recursive: true, force: true });
    process.env = savedEnv;
  });

  const ours = () => kube.list('pods').filter((p) => p.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft');

  it('creates one labelled pod per node, running, at the image user\'s $HOME', () => {
    expect(info.region).toBe(kube.context);
    expect(info.nodes.map((n) => [n.rank, n.instanceId, n.home])).toEqual([
      [0, 'tt-abcdef012345-head', '/root'],
      [1, 'tt-abcdef012345-worker1', '/root'],
    ]);
    const pods = ours();
    expect(pods.map((p) => (p as { status?: { podIP?: string } }).status?.podIP).sort()).toEqual(info.nodes.map((n) => n.ip).sort());
    expect(pods.every((p) => p.metadata?.labels?.['aloft.dev/cluster'] === 'tt')).toBe(true);
  });

  for (const protocol of ['v5.channel.k8s.io', 'v4.channel.k8s.io']) {
    it(`execs, feeds stdin to EOF, uploads a tar and bridges a socket over ${protocol}`, async () => {
      process.env.ALOFT_K8S_EXEC_PROTOCOLS = protocol;
      try {
        const t = provider.transport('tt', info.nodes[0]!) as KubernetesTransport;
        expect(await t.protocol()).toBe(protocol);
        const r = await t.exec('echo out; echo err >&2; pwd; exit 7');
        expect(r).toEqual({ code: 7, stdout: `out\n/root\n`, stderr: 'err\n' });
        // stdin reaches EOF (wc ends) and nothing is lost after it, on either protocol.
        const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
        const w = await t.exec('wc -c; echo after-eof', { stdin: big });
        expect(w.stdout.trim().split('\n')).toEqual([String(big.length), 'after-eof']);
        // An upload is one tar stream into `tar -x`, owned by the pod's user.
        const src = mkdtempSync(join(tmpdir(), 'aloft-k8s-up-'));
        writeFileSync(join(src, 'a.txt'), 'payload\n');
        await t.upload(packPath(src).stream, 'up-' + protocol.slice(0, 2));
        const c = await t.exec(`cat up-${protocol.slice(0, 2)}/a.txt; stat -c %U up-${protocol.slice(0, 2)}/a.txt`);
        expect(c.stdout).toBe('payload\nroot\n');
        rmSync(src, { recursive: true, force: true });
        // The agent socket path: a unix socket in the pod, reached through an exec'd pipe.
        await t.exec(`nohup /aloft/bin/node -e "require('net').createServer(s=>s.pipe(s)).listen('/tmp/echo-${protocol.slice(0, 2)}.sock')" >/dev/null 2>&1 &`);
        let sock;
        for (let i = 0; ; i++) {
          try {
            sock = await t.connect(`/tmp/echo-${protocol.slice(0, 2)}.sock`);
            const echoed = await new Promise<string>((resolve, reject) => {
              sock!.once('data', (d: Buffer) => resolve(d.toString()));
              sock!.once('error', reject);
              sock!.write('ping');
            });
            expect(echoed).toBe('ping');
            break;
          } catch (err) {
            sock?.destroy();
            if (i > 50) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        sock!.destroy();
      } finally {
        delete process.env.ALOFT_K8S_EXEC_PROTOCOLS;
      }
    });
  }

  it('502df1c: an exec returns when its command does, though a process it started runs on', async () => {
    const t = provider.transport('tt', info.nodes[1]!);
    const started = Date.now();
    const r = await t.exec('sleep 600 >/dev/null 2>&1 </dev/null & echo spawned', { timeoutMs: 30_000 });
    expect(r.stdout).toBe('spawned\n');
    expect(Date.now() - started).toBeLessThan(25_000);
    expect((await t.exec('pgrep -x sleep >/dev/null && echo still-running')).stdout).toBe('still-running\n');
  });

  it('the workers are reachable from the head at their pod IPs', async () => {
    const w = provider.transport('tt', info.nodes[1]!);
    await w.exec(`nohup /aloft/bin/node -e "require('net').createServer(s=>s.end('hi-from-worker')).listen(45123,'0.0.0.0')" >/dev/null 2>&1 &`);
    const head = provider.transport('tt', info.nodes[0]!);
    let out = '';
    for (let i = 0; i < 50 && out !== 'hi-from-worker'; i++) {
      out = (await head.exec(`/aloft/bin/node -e "const s=require('net').connect(45123,'${info.nodes[1]!.ip}');s.on('data',d=>process.stdout.write(d));s.on('error',()=>{})"`)).stdout;
      if (out !== 'hi-from-worker') await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toBe('hi-from-worker');
  });

  it('query reports a deleted pod as terminated; teardown deletes every object with our labels', async () => {
    await kube.deletePod('tt-abcdef012345-worker1', { gracePeriodSeconds: 0 });
    const q = await provider.queryInstances('tt');
    expect(q!.nodes.map((n) => n.status)).toEqual(['running', 'terminated']);
    await provider.terminateInstances('tt');
    expect(ours()).toEqual([]);
    expect(kube.list('services').filter((s) => s.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft')).toEqual([]);
    expect(await provider.queryInstances('tt')).toBeUndefined();
  });
});
