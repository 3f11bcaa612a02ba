// Provider registry: one instance per infra, created on first use (SDKs load lazily).
import type { Provider } from '../providers/types.js';
import { LocalProvider } from '../providers/local/provider.js';
import { homedir } from 'node:os';
import { homePaths } from '../util/paths.js';
import { UserError } from '../util/errors.js';

const cache = new Map<string, Promise<Provider>>();
const created: Array<(p: Provider) => void> = [];
const notified = new WeakMap<Provider, Set<(p: Provider) => void>>();

function notify(p: Provider): void {
  let done = notified.get(p);
  if (!done) notified.set(p, (done = new Set()));
  for (const h of created) {
    if (done.has(h)) continue;
    done.add(h);
    h(p);
  }
}

/** Runs `hook` once for every provider, created now or later (the daemon wires lost-node reports). */
export function onProviderCreated(hook: (p: Provider) => void): void {
  created.push(hook);
  for (const p of cache.values()) void p.then(notify, () => undefined);
}

async function create(cloud: string, home: string): Promise<Provider> {
  switch (cloud) {
    case 'local': {
      const config = homePaths(home).config;
      return new LocalProvider(homePaths(home).local, {
        // Read when a cluster is created, so an edit of config.yaml applies without a restart.
        namespaces: async () => {
          try {
            const { loadConfig } = await import('../spec/config.js');
            return loadConfig(config).localNamespaces !== false;
          } catch {
            return true; // a broken config.yaml is reported by every command that reads it
          }
        },
        userHome: homedir(),
      });
    }
    case 'ssh': {
      // ssh2 loads only when an ssh pool is used.
      const { SshProvider } = await import('../providers/ssh/provider.js');
      return new SshProvider({ home });
    }
    case 'aws': {
      // @aws-sdk/client-ec2 loads only when an AWS cluster is touched.
      const { createAwsProvider } = await import('../providers/aws/provider.js');
      return createAwsProvider({ home });
    }
    case 'gcp': {
      // @google-cloud/compute loads only when a GCP cluster is touched.
      const { createGcpProvider } = await import('../providers/gcp/provider.js');
      return createGcpProvider(home);
    }
    case 'kubernetes': {
      // @kubernetes/client-node (~1 s to import) loads only when kubernetes is used.
      const { KubernetesProvider } = await import('../providers/kubernetes/provider.js');
      return new KubernetesProvider({ home });
    }
    default:
      throw new UserError(`infra '${cloud}' cannot be provisioned by this aloft yet (supported: ${PROVISIONABLE.join(', ')})`);
  }
}

export function getProvider(cloud: string, home: string): Promise<Provider> {
  let p = cache.get(cloud);
  if (!p) {
    p = create(cloud, home);
    cache.set(cloud, p);
    p.then(notify, () => cache.delete(cloud));
  }
  return p;
}

export const PROVISIONABLE = ['local', 'ssh', 'kubernetes', 'aws', 'gcp'];
