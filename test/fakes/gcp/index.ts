// The GCE fake: a project whose Compute Engine API (REST v1, plain http) the real
// @google-cloud/compute client and the real gcloud talk to. Start it in a test with startGceFake(),
// or by hand with `npm run fake -- gcp --write-config DIR`.
//
//   const gce = await startGceFake({ vms });          // vms: GceVms (test/fakes/vms.ts hosts), or none
//   gce.writeConfig(dir)  → { env, envFile }           // credentials.json, gcloud/, gcp.env
//   gce.model.zoneFailures.set('us-central1-a', { code: 'ZONE_RESOURCE_POOL_EXHAUSTED' })
//   gce.model.cpuQuota.set('us-central1', 4)          // QUOTA_EXCEEDED past 4 vCPUs in the region
//   await gce.model.preempt(zone, name)                // SPOT reclaim
//   gce.list({ 'aloft-cluster': 'c1' })                // instances carrying these labels
//   await gce.stop()
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeServiceAccount, type ServiceAccount } from './auth.js';
import { catalogZones, GceModel, NO_VMS, type GceVms, type Instance } from './model.js';
import { serveGce, type GceServer } from './server.js';

export { NO_VMS, type GceVms, type GceModel };

const ROOT = resolve(__dirname, '..', '..', '..');

export interface GceFake {
  model: GceModel;
  server: GceServer;
  project: string;
  endpoint: string;
  sa: ServiceAccount;
  /** writes credentials.json, a gcloud config dir and gcp.env into dir; returns the variables */
  writeConfig(dir: string): { env: Record<string, string>; envFile: string };
  list(labels?: Record<string, string>): Instance[];
  stop(): Promise<void>;
}

export async function startGceFake(opts: { vms?: GceVms; project?: string; bootMs?: number; opMs?: number; waitMaxMs?: number } = {}): Promise<GceFake> {
  const project = opts.project ?? 'aloft-fake';
  let base = '';
  const sa = makeServiceAccount(project, 'http://127.0.0.1/token');
  const model = new GceModel(project, catalogZones(ROOT), opts.vms ?? NO_VMS, () => base, { bootMs: opts.bootMs ?? 0, opMs: opts.opMs ?? 5 });
  const server = await serveGce(model, sa, { waitMaxMs: opts.waitMaxMs });
  base = server.endpoint;
  sa.json.token_uri = `http://127.0.0.1:${server.port}/token`;
  return {
    model,
    server,
    project,
    endpoint: server.endpoint,
    sa,
    writeConfig(dir) {
      mkdirSync(dir, { recursive: true });
      const creds = join(dir, 'credentials.json');
      writeFileSync(creds, JSON.stringify(sa.json, null, 2) + '\n', { mode: 0o600 });
      chmodSync(creds, 0o600);
      const gcloud = join(dir, 'gcloud');
      mkdirSync(join(gcloud, 'configurations'), { recursive: true });
      writeFileSync(join(gcloud, 'active_config'), 'default');
      writeFileSync(
        join(gcloud, 'configurations', 'config_default'),
        `[core]\nproject = ${project}\ndisable_usage_reporting = True\n\n[auth]\ndisable_credentials = True\n\n[api_endpoint_overrides]\ncompute = ${server.endpoint}\n\n[component_manager]\ndisable_update_check = True\n`,
      );
      const env = {
        GOOGLE_APPLICATION_CREDENTIALS: creds,
        GOOGLE_CLOUD_PROJECT: project,
        CLOUDSDK_CONFIG: gcloud,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: server.endpoint,
      };
      const envFile = join(dir, 'gcp.env');
      writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
      return { env, envFile };
    },
    list(labels = {}) {
      return [...model.instances.values()].filter((i) => Object.entries(labels).every(([k, v]) => i.labels[k] === v));
    },
    async stop() {
      await server.close();
      await Promise.all([...model.instances.values()].map((i) => model.vms.destroy(i.id).catch(() => undefined)));
      model.instances.clear();
      await model.vms.close?.();
    },
  };
}

/** `npm run fake -- gcp [--write-config DIR]` (test/fakes/main.ts). */
export async function serveForeground(o: { fixture?: string; configDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }> {
  let vms: GceVms | undefined;
  if (o.fixture !== 'api-only') {
    const { gceVmHosts } = await import('./vms.js');
    vms = await gceVmHosts();
  }
  const gce = await startGceFake({ vms, bootMs: 200 });
  const { envFile } = gce.writeConfig(o.configDir);
  return {
    lines: [
      `GCE API on ${gce.endpoint} (project ${gce.project})`,
      `use it: set -a; . ${envFile}; set +a   (aloft and gcloud both read these)`,
      `inject: curl -XPOST ${gce.endpoint.replace('/compute/v1/', '')}/_fake/zones/us-central1-a/fail -d '{"code":"ZONE_RESOURCE_POOL_EXHAUSTED"}'`,
    ],
    stop: () => gce.stop(),
  };
}
