// How long the fake takes from pod creation to Running (the part of a launch on the fake that is
// the fake's own, not aloft's): `npx vite-node test/fakes/kubernetes/bench-pods.ts [N...]`.
// Each pod has an init container and a main container sharing an emptyDir, like aloft's pods.
import * as k8s from '@kubernetes/client-node';
import { startFakeKube } from './index.js';

const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
const kube = await startFakeKube({ fixture: 'cpu' });
try {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  const api = kc.makeApiClient(k8s.CoreV1Api);
  for (const n of counts.length ? counts : [1, 1, 1, 16]) {
    const t0 = Date.now();
    const names = Array.from({ length: n }, (_, i) => `b${t0}-${i}`);
    const watched = new Set<string>();
    const done = new Promise<void>((resolve) => {
      void new k8s.Watch(kc).watch('/api/v1/namespaces/default/pods', {}, (_t, p: k8s.V1Pod) => {
        if (p.status?.phase === 'Running' && names.includes(p.metadata!.name!)) watched.add(p.metadata!.name!);
        if (watched.size === n) resolve();
      }, () => {});
    });
    await Promise.all(
      names.map((name) =>
        api.createNamespacedPod({
          namespace: 'default',
          body: {
            metadata: { name },
            spec: {
              initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo ready > /shared/ready'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
              containers: [{ name: 'main', image: 'busybox', command: ['sleep', 'infinity'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
              volumes: [{ name: 'shared', emptyDir: {} }],
            },
          },
        }),
      ),
    );
    await done;
    process.stdout.write(`${n} pod(s) created → Running: ${Date.now() - t0} ms\n`);
  }
} finally {
  const t = Date.now();
  await kube.stop();
  process.stdout.write(`stop(): ${Date.now() - t} ms\n`);
  process.exit(0);
}
