// kubeconfig → contexts, as kubectl reads it: the files in KUBECONFIG (missing ones skipped, the
// first file's current-context wins) or ~/.kube/config. Each context gets its own KubeConfig from
// the real SDK, so its auth (bearer token, client certificate, exec plugin, insecure-skip-tls-verify)
// applies to REST, watch and exec alike. Reloaded when a file changes.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter } from 'node:path';
import { inCluster, kubeconfigFiles } from './files.js';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../../util/errors.js';
import type { KubernetesConfig } from '../../spec/kubernetes-config.js';

export interface KubeContext {
  name: string;
  /** the context's namespace in the kubeconfig, if it names one */
  namespace?: string;
  server: string;
  kc: KubeConfig;
}

export interface Kubeconfig {
  files: string[];
  current?: string;
  contexts: Map<string, KubeContext>;
}

let cache: { key: string; value: Kubeconfig } | undefined;

function stamp(files: string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}`;
      } catch {
        return `${f}:-`;
      }
    })
    .join('|');
}

/** The kubeconfig as it is now (cached until a file changes). */
export function loadKubeconfig(env: NodeJS.ProcessEnv = process.env, home = homedir()): Kubeconfig {
  const files = kubeconfigFiles(env, home);
  const key = stamp(files);
  if (cache && cache.key === key) return cache.value;
  const all = new KubeConfig();
  try {
    if (files.length === 0 && inCluster(env)) all.loadFromCluster();
    files.forEach((f, i) => {
      if (i === 0) all.loadFromFile(f);
      else {
        const more = new KubeConfig();
        more.loadFromFile(f);
        all.mergeConfig(more, true);
      }
    });
  } catch (err) {
    throw new UserError(`cannot read kubeconfig ${files.join(delimiter)}: ${(err as Error).message.split('\n')[0]}`);
  }
  const contexts = new Map<string, KubeContext>();
  for (const c of all.getContexts()) {
    const cluster = all.getCluster(c.cluster);
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: all.getClusters(), users: all.getUsers(), contexts: all.getContexts(), currentContext: c.name });
    contexts.set(c.name, { name: c.name, namespace: c.namespace || undefined, server: cluster?.server ?? '', kc });
  }
  const value: Kubeconfig = { files, current: all.getCurrentContext() || undefined, contexts };
  cache = { key, value };
  return value;
}

/**
 * Contexts plans may use, in failover order: `allowed_contexts`, else the current context
 * (SkyPilot's rule). Names not in the kubeconfig are reported, not dropped silently.
 */
export function usableContexts(k: Kubeconfig, cfg: KubernetesConfig | undefined): { contexts: string[]; missing: string[] } {
  const wanted = cfg?.allowedContexts ?? (k.current ? [k.current] : []);
  return { contexts: wanted.filter((c) => k.contexts.has(c)), missing: wanted.filter((c) => !k.contexts.has(c)) };
}

/** The namespace a context runs aloft's pods in: config (per context, then global), the kubeconfig's, else default. */
export function namespaceFor(ctx: KubeContext | undefined, effective: { namespace?: string }): string {
  return effective.namespace ?? ctx?.namespace ?? 'default';
}

export function requireContext(k: Kubeconfig, name: string): KubeContext {
  const c = k.contexts.get(name);
  if (!c) {
    throw new UserError(
      `kubernetes context '${name}' is not in ${k.files.join(delimiter) || 'any kubeconfig'} (contexts: ${[...k.contexts.keys()].join(', ') || 'none'})`,
    );
  }
  return c;
}
