// `infra: kubernetes` end to end: the real CLI and daemon, the real @kubernetes/client-node, the
// Kubernetes fake with the `mixed` fixture (NVIDIA A100 with GFD labels, AMD MI300X with the node
// labeller's label, a GKE L4 node, a CPU node; GPU nodes tainted). Pods are real processes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, REMOTE, waitFor, type AloftEnv } from '../helpers/cli.js';
import { startFakeKube, type FakeKube, type KObj } from '../fakes/kubernetes/index.js';

const isRoot = process.getuid?.() === 0;

type Pod = KObj & {
  spec: { nodeName?: string; containers: Array<{ image: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; env?: Array<{ name: string; value: string }> }> };
  status?: { podIP?: string; phase?: string };
};

// The fake runs pods in Linux namespaces and needs root (as here and in CI).
describe.skipIf(!isRoot && !process.env.CI)('kubernetes: launch, exec, logs, ssh, down through the real SDK', () => {
  let kube: FakeKube;
  let a: AloftEnv;
  let dir: string;

  beforeAll(async () => {
    // The default task image has no Node.js (as python:3.11-slim has none); only the runtime image
    // the init container copies `node` from has one.
    kube = await startFakeKube({
      fixture: 'mixed',
      images: {
        'python:3.11-slim-bookworm': { hide: ['/usr/bin/node', '/usr/local/bin/node'] },
        'node:20-bookworm-slim': { files: { '/usr/local/bin/node': process.execPath } },
      },
    });
    a = makeHome('aloft-k8s-');
    a.env.KUBECONFIG = kube.kubeconfigPath;
    dir = mkdtempSync(join(tmpdir(), 'aloft-k8s-y-'));
  }, 60_000);

  afterAll(async () => {
    await a?.cleanup();
    await kube?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ours = (resource = 'pods') => kube.list(resource).filter((o) => o.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft');
  const podsOf = (cluster: string) => ours().filter((p) => p.metadata?.labels?.['aloft.dev/cluster'] === cluster) as Pod[];
  const yaml = (name: string, lines: string[]) => {
    const p = join(dir, name);
    writeFileSync(p, lines.join('\n') + '\n');
    return p;
  };

  it('launch, exec, logs, ssh and down on a CPU pod; stop is refused in one line', async () => {
    const r = await a.run(['launch', '-y', '-c', 'cpu1', '--infra', 'k8s', '--', 'echo hello-$SKYPILOT_NODE_RANK; echo HOME=$HOME; pwd; command -v node || echo no-node-in-image'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    // The job runs in the image as it is (no node on its PATH); aloft's agent ran on the copied one.
    expect(r.stdout).toContain('hello-0\nHOME=/root\n/root/sky_workdir\nno-node-in-image\n');
    const [pod] = podsOf('cpu1');
    expect(pod!.metadata!.name).toMatch(/^cpu1-[0-9a-f]{12}-head$/);
    // CPU pods prefer nodes without GPUs, and request no GPU resource.
    expect(pod!.spec.nodeName).toBe('cpu-0');
    expect(pod!.spec.containers[0]!.resources).toEqual({ requests: { cpu: '2', memory: '2048Mi' } });

    const st = await a.run(['status', '-o', 'json']);
    expect(JSON.parse(st.stdout)[0]).toMatchObject({ name: 'cpu1', status: 'UP', cloud: 'kubernetes', region: kube.context, infra: `kubernetes/${kube.context}` });

    const e = await a.run(['exec', 'cpu1', '--', 'echo from-exec; hostname']);
    expect(e.stdout).toBe(`from-exec\n${pod!.metadata!.name}\n`);
    const l = await a.run(['logs', 'cpu1', '1', '--no-follow']);
    expect(l.stdout).toContain('hello-0');
    const s = await a.run(['ssh', 'cpu1', '-c', 'echo in-pod $(hostname) $PWD; exit 3']);
    if (REMOTE) {
      // an API server refuses `aloft ssh` by design: nodes are reached from the server's machine
      expect(s.code).not.toBe(0);
      expect(s.stderr).toContain('`aloft ssh` reaches nodes from the machine that runs the server');
    } else {
      expect(s.code).toBe(3);
      expect(s.stdout).toBe(`in-pod ${pod!.metadata!.name} /root\n`);
    }

    const stop = await a.run(['stop', 'cpu1', '-y']);
    expect(stop.code).not.toBe(0);
    expect(stop.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^aloft: cluster 'cpu1' runs on kubernetes\/fake-mixed: kubernetes clusters cannot be stopped; use `aloft down cpu1`/)]);

    const d = await a.run(['down', 'cpu1', '-y'], { timeoutMs: 120_000 });
    expect(d.code, d.stderr).toBe(0);
    for (const res of ['pods', 'services', 'secrets', 'configmaps']) expect(ours(res)).toEqual([]);
  }, 240_000);

  it('A100 lands on the NVIDIA node with nvidia.com/gpu, MI300X on the AMD node with amd.com/gpu', async () => {
    // The fixture's A100 is an 80 GB one (GFD: NVIDIA-A100-SXM4-80GB); SkyPilot names it A100-80GB too.
    const [nv, amd] = await Promise.all([
      a.run(['launch', '-y', '-c', 'nv', '--gpus', 'A100-80GB:1', '--', 'echo gpus=$SKYPILOT_NUM_GPUS_PER_NODE'], { timeoutMs: 120_000 }),
      a.run(['launch', '-y', '-c', 'amd', '--gpus', 'MI300X:1', '--', 'echo gpus=$SKYPILOT_NUM_GPUS_PER_NODE'], { timeoutMs: 120_000 }),
    ]);
    expect(nv.code, nv.stderr).toBe(0);
    expect(amd.code, amd.stderr).toBe(0);
    expect(nv.stdout).toContain('gpus=1');
    const [nvPod] = podsOf('nv');
    const [amdPod] = podsOf('amd');
    expect(nvPod!.spec.nodeName).toBe('gpu-a100-0');
    expect(nvPod!.spec.containers[0]!.resources!.limits).toEqual({ 'nvidia.com/gpu': '1' });
    expect(amdPod!.spec.nodeName).toBe('gpu-mi300x-0');
    expect(amdPod!.spec.containers[0]!.resources!.limits).toEqual({ 'amd.com/gpu': '1' });
    expect(JSON.stringify(amdPod)).not.toContain('nvidia.com/gpu"');
    // The free GPUs the planner and `gpus list` see come from each vendor's own key.
    const g = await a.run(['gpus', 'list', '--infra', 'kubernetes', '-o', 'json']);
    const byGpu = Object.fromEntries((JSON.parse(g.stdout).gpus as Array<{ gpu: string; free: number; total: number }>).map((x) => [x.gpu, [x.free, x.total]]));
    expect(byGpu).toEqual({ 'A100-80GB': [7, 8], L4: [1, 1], MI300X: [7, 8] });
    const st = JSON.parse((await a.run(['status', '-o', 'json'])).stdout) as Array<{ name: string; resources: string }>;
    expect(st.find((c) => c.name === 'amd')!.resources).toContain('MI300X:1');
    expect((await a.run(['down', 'nv', 'amd', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 240_000);

  it('a 2-node gang job runs across pods with SKYPILOT_NODE_IPS = the pod IPs', async () => {
    const r = await a.run(['launch', '-y', '-c', 'gang', '--num-nodes', '2', '--cpus', '1', '--infra', `k8s/${kube.context}`, '--', 'echo rank=$SKYPILOT_NODE_RANK ips=$(echo $SKYPILOT_NODE_IPS)'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const pods = podsOf('gang').sort((x, y) => x.metadata!.name!.localeCompare(y.metadata!.name!));
    expect(pods.map((p) => p.metadata!.name!.replace(/-[0-9a-f]{12}-/, '-UID-'))).toEqual(['gang-UID-head', 'gang-UID-worker1']);
    const ips = pods.map((p) => p.status!.podIP!);
    expect(r.stdout).toContain(`rank=0 ips=${ips.join(' ')}`);
    expect(r.stdout).toContain(`rank=1 ips=${ips.join(' ')}`);
    expect((await a.run(['status', '--all-ips', 'gang'])).stdout).toBe(ips.join('\n') + '\n');
    expect((await a.run(['down', 'gang', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 240_000);

  it('image_id: docker:IMAGE, labels and config pod_config reach the pod; ports become a NodePort service', async () => {
    writeFileSync(
      join(a.home, 'config.yaml'),
      ['kubernetes:', '  pod_config:', '    metadata: {annotations: {team.example/owner: ml-infra}}', '    spec:', '      containers:', '        - env: [{name: FROM_POD_CONFIG, value: "yes"}]'].join('\n') + '\n',
    );
    try {
      const task = yaml('img.yaml', [
        'resources:',
        '  infra: kubernetes',
        '  image_id: docker:python:3.12-slim',
        '  labels: {project: aloft-test}',
        '  ports: [8888, 9000-9001]',
        // pods of the fake share this machine's network: bind the pod's own IP (the same test may run
        // beside it in the team-server project)
        'run: echo pod-config=$FROM_POD_CONFIG; exec python3 -m http.server 8888 --bind "$(echo "$SKYPILOT_NODE_IPS" | head -1)"',
      ]);
      const r = await a.run(['launch', '-y', '-d', '-c', 'img', task], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      await waitFor(async () => (await a.run(['logs', 'img', '1', '--no-follow'])).stdout.includes('pod-config=yes'), 30_000, 'the job to start');
      const [pod] = podsOf('img');
      expect(pod!.spec.containers[0]!.image).toBe('python:3.12-slim');
      expect(pod!.metadata!.labels!.project).toBe('aloft-test');
      expect(pod!.metadata!.annotations!['team.example/owner']).toBe('ml-infra');
      const [svc] = ours('services') as Array<KObj & { spec: { type: string; ports: Array<{ port: number; nodePort: number }> } }>;
      expect(svc!.spec.type).toBe('NodePort');
      const ep = await a.run(['status', '--endpoints', 'img']);
      const nodePort = (p: number) => svc!.spec.ports.find((x) => x.port === p)!.nodePort;
      expect(ep.stdout).toMatch(new RegExp(`^8888: 127\\.[0-9.]+:${nodePort(8888)}\\n9000: [0-9.]+:${nodePort(9000)}\\n9001: [0-9.]+:${nodePort(9001)}\\n$`));
      const one = await a.run(['status', '--endpoint', '9001', 'img']);
      expect(one.stdout).toMatch(new RegExp(`^127\\.[0-9.]+:${nodePort(9001)}\\n$`));
      // The NodePort reaches the job's server in the head pod.
      const url = `http://${(await a.run(['status', '--endpoint', '8888', 'img'])).stdout.trim()}/`;
      const res = await waitFor(async () => {
        const x = await fetch(url).catch(() => undefined);
        return x?.status === 200 ? x : undefined;
      }, 30_000, `${url} to answer`);
      expect(await res.text()).toContain('Directory listing');
      const bad = await a.run(['status', '--endpoint', '1234', 'img']);
      expect(bad.stderr).toBe("aloft: port 1234 is not exposed by cluster 'img' (ports: 8888, 9000, 9001)\n");
      expect((await a.run(['down', 'img', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
      expect(ours('services')).toEqual([]);
    } finally {
      rmSync(join(a.home, 'config.yaml'), { force: true });
    }
  }, 240_000);

  it('an image that cannot be pulled fails the launch at once, naming the image, and leaves nothing', async () => {
    const task = yaml('bad.yaml', ['resources:', '  infra: k8s', '  image_id: docker:registry.example/team/does-not-exist:1.0', 'run: echo never']);
    const started = Date.now();
    const r = await a.run(['launch', '-y', '-c', 'badimg', task], { timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('aloft: '));
    expect(lines[lines.length - 1]).toMatch(/image 'registry\.example\/team\/does-not-exist:1\.0' cannot be pulled in context fake-mixed \((ErrImagePull|ImagePullBackOff)/);
    // Well inside the provision timeout's scale: no waiting for a back-off to end.
    expect(Date.now() - started).toBeLessThan(60_000);
    await waitFor(() => podsOf('badimg').length === 0, 30_000, 'the failed launch to remove its pod');
    expect(JSON.parse((await a.run(['status', '-o', 'json'])).stdout)).toEqual([]);
  }, 180_000);

  it('a deleted pod makes the cluster INIT with the reason; gpus list and check show every context and node', async () => {
    const r = await a.run(['launch', '-y', '-d', '-c', 'lost', '--infra', 'k8s', '--', 'sleep 600'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const [pod] = podsOf('lost');
    await kube.deletePod(pod!.metadata!.name!, { gracePeriodSeconds: 0 });
    const rec = await waitFor(async () => {
      const c = (JSON.parse((await a.run(['status', '-o', 'json'])).stdout) as Array<{ status: string; statusReason?: string }>)[0];
      return c?.status === 'INIT' ? c : undefined;
    }, 30_000, 'the cluster to go INIT');
    expect(rec.statusReason).toMatch(new RegExp(`^pod ${pod!.metadata!.name} (was|is being) deleted; run \`aloft start lost\` to repair$`));
    const ex = await a.run(['exec', 'lost', '--', 'true']);
    expect(ex.stderr).toMatch(/^aloft: cluster 'lost' is INIT \(pod .* deleted; run `aloft start lost` to repair\)\n$/);

    // `aloft start` repairs it: the lost pod is recreated, agents start again.
    const st = await a.run(['start', 'lost'], { timeoutMs: 120_000 });
    expect(st.code, st.stderr).toBe(0);
    expect((await a.run(['exec', 'lost', '--', 'echo repaired-$(hostname)'])).stdout).toBe(`repaired-${pod!.metadata!.name}\n`);
    // An evicted pod (node pressure) is lost the same way, with the kubelet's reason.
    await kube.evictPod(pod!.metadata!.name!, { message: 'The node was low on resource: memory.' });
    const evicted = await waitFor(async () => {
      const c = (JSON.parse((await a.run(['status', '-o', 'json'])).stdout) as Array<{ status: string; statusReason?: string }>)[0];
      return c?.status === 'INIT' ? c : undefined;
    }, 30_000, 'the cluster to go INIT after the eviction');
    expect(evicted.statusReason).toBe(`pod ${pod!.metadata!.name} was evicted: The node was low on resource: memory.; run \`aloft start lost\` to repair`);
    const again = await a.run(['start', 'lost'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect((await a.run(['exec', 'lost', '--', 'echo back'])).stdout).toBe('back\n');

    const g = await a.run(['gpus', 'list', '--infra', 'k8s']);
    expect(g.stdout).toMatch(/fake-mixed\s+gpu-mi300x-0\s+MI300X\s+amd\s+8\s+8\s+amd\.com\/gpu\.product-name/);
    expect(g.stdout).toMatch(/fake-mixed\s+gpu-a100-0\s+A100-80GB\s+nvidia\s+8\s+8\s+nvidia\.com\/gpu\.product/);
    expect(g.stdout).toMatch(/fake-mixed\s+gke-l4-pool-0\s+L4\s+nvidia\s+1\s+1\s+cloud\.google\.com\/gke-accelerator/);
    const c = await a.run(['check']);
    expect(c.stdout).toMatch(/fake-mixed \*\s+enabled\s+default\s+4\s+nvidia \(A100-80GB, L4\), amd \(MI300X\)/);
    expect((await a.run(['down', 'lost', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(ours()).toEqual([]);
  }, 240_000);

  it('kubectl sees what aloft made, by its labels', async () => {
    const r = await a.run(['launch', '-y', '-d', '-c', 'kctl', '--infra', 'k8s', '--', 'sleep 60'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    // Asynchronously: the fake serves from this very process.
    const { stdout: out } = await promisify(execFile)('kubectl', ['--kubeconfig', kube.kubeconfigPath, 'get', 'pods', '-l', 'aloft.dev/cluster=kctl', '-o', 'jsonpath={.items[*].metadata.name} {.items[*].status.phase}']);
    expect(out).toMatch(/^kctl-[0-9a-f]{12}-head Running$/);
    expect((await a.run(['down', 'kctl', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 180_000);
});
