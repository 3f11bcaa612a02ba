// Provider registry: one instance per infra, created on first use (SDKs load lazily).
import type { Provider } from '../providers/types.js';
import { LocalProvider } from '../providers/local/provider.js';
import { homePaths } from '../util/paths.js';
import { UserError } from '../util/errors.js';

const cache = new Map<string, Promise<Provider>>();

async function create(cloud: string, home: string): Promise<Provider> {
  switch (cloud) {
    case 'local':
      return new LocalProvider(homePaths(home).local);
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
    default:
      throw new UserError(`infra '${cloud}' cannot be provisioned by this aloft yet (supported: ${PROVISIONABLE.join(', ')})`);
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

export const PROVISIONABLE = ['local', 'ssh', 'aws', 'gcp'];
