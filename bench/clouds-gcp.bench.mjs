// Issue 11 (GCP part of the `clouds` group): on the GCE fake (`npm run fake -- gcp`, real sshd VMs),
// through the real CLI, daemon and @google-cloud/compute:
//   - launch → RUNNING overhead: wall time minus the fake's own boot (insert → VM's sshd up);
//   - failover across 5 zones: the extra wall time of a launch whose first 5 zones are out of
//     resources (ZONE_RESOURCE_POOL_EXHAUSTED) over one that lands at once;
//   - `status -r` over 100 GCP clusters (10 with --quick), and the API calls it makes.
// The procedure is bench/clouds.mjs's, shared with AWS.
import { userInfo } from 'node:os';
import { cloudBench } from './clouds.mjs';

export default function ({ quick }) {
  return cloudBench({
    cloud: 'gcp',
    quick,
    controlUrl: (env) => env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE.replace('/compute/v1/', '/_fake/'),
    cliEnv: () => ({ ALOFT_GCP_SSH_USER: userInfo().username }),
    region: 'us-central1',
    statusRegion: 'us-east1',
    bootMs: async (call, name) => Math.max(...(await call('attempts', undefined, 'GET')).filter((a) => a.name.startsWith(`${name}-`) && a.bootMs !== undefined).map((a) => a.bootMs)),
    setZoneFailure: (call, zone, failing) => (failing ? call(`zones/${zone}/fail`, { code: 'ZONE_RESOURCE_POOL_EXHAUSTED' }) : call(`zones/${zone}/fail`, undefined, 'DELETE')),
    apiCalls: async (call) => (await call('calls', undefined, 'GET')).count,
    notes: {
      boot: 'insert → sshd up',
      status: 'Compute API calls per refresh (one aggregatedList + one operations list), then each head agent',
    },
  });
}
