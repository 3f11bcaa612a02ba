// A service whose replicas are Kubernetes pods (the fake, through the real SDK): the load
// balancer runs on this machine, outside the cluster, where pod IPs are not reachable on a real
// cluster — so replicas are reached through their port's Service (a NodePort on a node's
// address), which the controller asks the provider for. The service names its port only in
// `service.ports`: the replica still gets it exposed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { get, ready, waitService } from '../helpers/serve.js';
import { startFakeKube, type FakeKube, type KObj } from '../fakes/kubernetes/index.js';

const isRoot = process.getuid?.() === 0;

// The fake runs pods in Linux namespaces and needs root (as here and in CI).
describe.skipIf(!isRoot && !process.env.CI)('aloft serve with replicas on kubernetes', () => {
  let kube: FakeKube;
  let a: AloftEnv;
  let dir: string;

  beforeAll(async () => {
    kube = await startFakeKube({ fixture: 'cpu' });
    a = makeHome('aloft-k8sv-');
    a.env.KUBECONFIG = kube.kubeconfigPath;
    dir = mkdtempSync(join(tmpdir(), 'aloft-k8sv-y-'));
  }, 60_000);

  afterAll(async () => {
    await a?.cleanup();
    await kube?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a replica pod is reached through its NodePort Service, and serve down removes pod and Service', async () => {
    const yaml = join(dir, 'svc.yaml');
    // Pods of the fake share this machine's network: the server binds its pod's own IP.
    writeFileSync(
      yaml,
      [
        'service:',
        '  readiness_probe: /',
        '  replicas: 1',
        '  ports: 8080',
        'resources:',
        '  infra: kubernetes',
        '  cpus: 1',
        'run: exec python3 -m http.server 8080 --bind "$(echo "$SKYPILOT_NODE_IPS" | head -1)"',
      ].join('\n') + '\n',
    );
    const up = await a.run(['serve', 'up', '-y', '-n', 'kv', yaml], { timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    const s = await waitService(a, 'kv', (x) => ready(x).length === 1, 'the pod replica to be READY');
    const pods = kube.list('pods').filter((p) => p.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft') as Array<KObj & { status?: { podIP?: string } }>;
    expect(pods).toHaveLength(1);
    const [svc] = kube.list('services').filter((o) => o.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft') as Array<KObj & { spec: { type: string; ports: Array<{ port: number; nodePort: number }> } }>;
    expect(svc?.spec.type).toBe('NodePort');
    const nodePort = svc!.spec.ports.find((p) => p.port === 8080)!.nodePort;
    const url = ready(s)[0]!.url!;
    expect(url).toMatch(new RegExp(`^http://127\\.[0-9.]+:${nodePort}$`));
    expect(url).not.toContain(pods[0]!.status!.podIP!);
    const r = await get(`${s.endpoint}/`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('Directory listing');
    const down = await a.run(['serve', 'down', '-y', 'kv'], { timeoutMs: 120_000 });
    expect(down.code, down.stderr).toBe(0);
    const gone = async () => kube.list('pods').concat(kube.list('services')).filter((o) => o.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'aloft').length === 0;
    await waitFor(gone, 60_000, 'the replica pod and its Service to be deleted');
  });
});
