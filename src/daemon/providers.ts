// Provider registry: one instance per infra, created on first use (SDKs load lazily).
import type { Provider } from '../providers/types.js';
import { LocalProvider } from '../providers/local/provider.js';
import { homedir } from 'node:os';
import { homePaths } from '../util/paths.js';
import { UserError } from '../util/errors.js';

const cache = new Map<string, Promise<Provider>>();

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
    default:
      throw new UserError(`infra '${cloud}' cannot be provisioned by this aloft yet (supported: local, ssh)`);
  }
}

export function getProvider(cloud: string, home: string): Promise<Provider> {
  let p = cache.get(cloud);
  if (!p) {
    p = create(cloud, home);
    cache.set(cloud, p);
    p.catch(() => cache.delete(cloud));
  }
  return p;
}

export const PROVISIONABLE = ['local', 'ssh'];
