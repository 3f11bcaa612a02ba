// From a pod spec to what a container process gets: environment (spec env with $(VAR)
// references, envFrom, the downward API, secrets and config maps, the variables every container
// sees), argv (command/args over the image's ENTRYPOINT/CMD), working directory, and volumes
// prepared on the host (emptyDir shared by the pod's containers, hostPath, secret, configMap).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeContext, ImageConfig } from './context.js';
import type { Mount } from './sandbox.js';
import type { KObj } from './store.js';

/** Why a container cannot be created yet (the kubelet's CreateContainerConfigError / FailedMount). */
export class ConfigError extends Error {}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Kubernetes' $(VAR) expansion: defined names are replaced, `$$` escapes, the rest is kept. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : name !== undefined && name in env ? env[name]! : m));
}

function decodeData(o: KObj | undefined): Record<string, string> {
  if (!o) return {};
  if (o.kind === 'Secret') return Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]));
  return { ...(o.data ?? {}) };
}

function fieldRef(pod: KObj, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]!] ?? '';
  const table: Record<string, unknown> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.hostIP': pod.status?.hostIP,
    'status.hostIPs': pod.status?.hostIP,
    'status.podIP': pod.status?.podIP,
    'status.podIPs': pod.status?.podIP,
  };
  if (!(path in table)) throw new ConfigError(`unsupported fieldRef ${path}`);
  return String(table[path] ?? '');
}

export function containerEnv(ctx: FakeContext, pod: KObj, c: any, image: ImageConfig): Record<string, string> {
  const ns = pod.metadata.namespace!;
  const lookup = (kind: 'secrets' | 'configmaps', name: string, optional: boolean): Record<string, string> | undefined => {
    const o = ctx.store.get(kind, ns, name);
    if (!o && !optional) throw new ConfigError(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
    return o ? decodeData(o) : undefined;
  };
  const host = ctx.apiHost;
  const port = String(ctx.apiPort);
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
    HOME: '/root',
    ...(c.tty ? { TERM: 'xterm' } : {}),
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
    KUBERNETES_PORT: `tcp://${host}:${port}`,
    [`KUBERNETES_PORT_${port}_TCP`]: `tcp://${host}:${port}`,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: port,
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: host,
    ...(image.env ?? {}),
  };
  for (const src of c.envFrom ?? []) {
    const data = src.secretRef ? lookup('secrets', src.secretRef.name, !!src.secretRef.optional) : src.configMapRef ? lookup('configmaps', src.configMapRef.name, !!src.configMapRef.optional) : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[(src.prefix ?? '') + k] = v;
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) env[e.name] = fieldRef(pod, vf.fieldRef.fieldPath);
      else if (vf.secretKeyRef || vf.configMapKeyRef) {
        const ref = vf.secretKeyRef ?? vf.configMapKeyRef;
        const kind = vf.secretKeyRef ? 'secrets' : 'configmaps';
        const data = lookup(kind, ref.name, !!ref.optional);
        if (data && !(ref.key in data) && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in ${kind === 'secrets' ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`);
        if (data && ref.key in data) env[e.name] = data[ref.key]!;
      } else if (vf.resourceFieldRef) {
        const r = vf.resourceFieldRef;
        const [kind, res] = String(r.resource).split('.') as ['limits' | 'requests', string];
        env[e.name] = String(c.resources?.[kind]?.[res] ?? '0');
      }
    } else env[e.name] = expand(e.value ?? '', env);
  }
  return env;
}

export function containerArgv(c: any, image: ImageConfig, env: Record<string, string>): string[] {
  const command: string[] | undefined = c.command;
  const args: string[] | undefined = c.args;
  const argv = command ? [...command, ...(args ?? [])] : [...(image.entrypoint ?? []), ...(args ?? image.cmd ?? [])];
  // An image with neither ENTRYPOINT nor CMD in the fake behaves like a long-running server image.
  return (argv.length ? argv : ['sleep', 'infinity']).map((a) => expand(a, env));
}

/** Creates the pod's volumes under podDir/volumes; returns volume name → host path. */
export function prepareVolumes(ctx: FakeContext, pod: KObj, podDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(podDir, 'volumes', v.name);
    if (v.hostPath) {
      if (v.hostPath.type === 'DirectoryOrCreate' || !v.hostPath.type) mkdirSync(v.hostPath.path, { recursive: true });
      out.set(v.name, v.hostPath.path);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    const src = v.secret ? { kind: 'secrets' as const, name: v.secret.secretName, s: v.secret } : v.configMap ? { kind: 'configmaps' as const, name: v.configMap.name, s: v.configMap } : undefined;
    if (src) {
      const o = ctx.store.get(src.kind, pod.metadata.namespace!, src.name);
      if (!o && !src.s.optional)
        throw new ConfigError(`MountVolume.SetUp failed for volume "${v.name}" : ${src.kind === 'secrets' ? 'secret' : 'configmap'} "${src.name}" not found`);
      const data = decodeData(o);
      const items: { key: string; path: string; mode?: number }[] = src.s.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        const file = join(dir, it.path);
        mkdirSync(join(file, '..'), { recursive: true });
        writeFileSync(file, data[it.key] ?? '');
        chmodSync(file, it.mode ?? src.s.defaultMode ?? 0o644);
      }
    }
    // emptyDir and anything the fake does not model (PVCs, projected) are an empty directory.
    out.set(v.name, dir);
  }
  return out;
}

export function containerMounts(c: any, volumes: Map<string, string>): Mount[] {
  return (c.volumeMounts ?? []).map((m: any): Mount => {
    let source = volumes.get(m.name)!;
    if (m.subPath) {
      source = join(source, m.subPath);
      mkdirSync(source, { recursive: true });
    }
    return { source, target: m.mountPath, readOnly: !!m.readOnly };
  });
}

export function etcHosts(pod: KObj): string {
  const name = pod.spec.hostname ?? pod.metadata.name;
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${pod.status?.podIP}\t${name}`,
    '',
  ].join('\n');
}
