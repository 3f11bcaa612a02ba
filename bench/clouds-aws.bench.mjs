// Issue 11 (AWS part of the `clouds` group): on the EC2 fake (`npm run fake -- aws`, real sshd
// VMs booting in ALOFT_FAKE_BOOT_MS = 200 ms), through the real CLI, daemon and @aws-sdk/client-ec2:
//   - launch → RUNNING overhead: wall time minus the fake's own boot (RunInstances → VM's sshd up);
//   - failover across 5 zones: the extra wall time of a launch whose first 5 zones are out of
//     capacity (InsufficientInstanceCapacity) over one that lands at once;
//   - `status -r` over 100 AWS clusters (10 with --quick), and the EC2 calls it makes.
// The procedure is bench/clouds.mjs's, shared with GCP.
import { cloudBench } from './clouds.mjs';

const BOOT_MS = 200;

export default function ({ quick }) {
  return cloudBench({
    cloud: 'aws',
    quick,
    fakeEnv: { ALOFT_FAKE_BOOT_MS: String(BOOT_MS) },
    controlUrl: (env) => `${env.AWS_ENDPOINT_URL_EC2}/_fake/`,
    region: 'us-east-1',
    statusRegion: 'us-east-2',
    bootMs: async (call, name) => Math.max(...(await call('instances')).filter((x) => x.tags['aloft-cluster'] === name && x.bootedAfterMs !== undefined).map((x) => x.bootedAfterMs)),
    setZoneFailure: (call, zone, failing) => call('zone-failure', failing ? { zone, code: 'InsufficientInstanceCapacity' } : { zone }),
    apiCalls: async (call) => (await call('calls')).count,
    stages: true,
    plainStatus: true,
    notes: {
      boot: 'RunInstances → sshd up',
      status: 'EC2 call(s) per refresh (one DescribeInstances per region), then each head agent',
    },
  });
}
