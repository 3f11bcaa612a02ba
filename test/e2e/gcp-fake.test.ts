// The GCE fake checked with the real gcloud: what gcloud sends and expects back (operations,
// selfLinks, aggregated lists, errors) is what the fake must answer, so the SDK-based provider is
// tested against something a real client accepts.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServiceAccount } from '../fakes/gcp/auth.js';
import { startGceFake, type GceFake } from '../fakes/gcp/index.js';
import { closedPort, makeHome } from '../helpers/cli.js';
import { writeFileSync } from 'node:fs';

const GCLOUD = '/usr/bin/gcloud';

function gcloud(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(GCLOUD, [...args, '--quiet'], { env: { ...process.env, ...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' }, timeout: 240_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// gcloud comes from Google's apt repository, which this machine had when it was set up; a machine
// without it cannot run this check (Debian does not package gcloud), so it is skipped there.
describe.skipIf(!existsSync(GCLOUD))('GCE fake through the real gcloud', () => {
  let gce: GceFake;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    gce = await startGceFake();
    dir = mkdtempSync(join(tmpdir(), 'aloft-gcefake-'));
    env = gce.writeConfig(dir).env;
  });
  afterAll(async () => {
    await gce?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 600_000);

  it('instances create / list / describe / delete', async () => {
    const create = await gcloud(env, [
      'compute', 'instances', 'create', 'vm-a', 'vm-b', '--zone', 'us-central1-a', '--machine-type', 'n2-standard-2',
      '--image-family', 'ubuntu-2204-lts', '--image-project', 'ubuntu-os-cloud', '--labels', 'owner=me,team=ml',
      '--boot-disk-size', '50GB', '--boot-disk-type', 'pd-ssd', '--provisioning-model', 'SPOT',
    ]);
    expect(create.stderr + create.stdout).not.toMatch(/ERROR/);
    expect(create.code).toBe(0);
    expect(create.stdout).toMatch(/vm-a\s+us-central1-a\s+n2-standard-2\s+true\s+\S+\s+\S+\s+RUNNING/);
    expect(gce.list({ owner: 'me' }).map((i) => i.name).sort()).toEqual(['vm-a', 'vm-b']);
    const made = gce.model.instance('us-central1-a', 'vm-a');
    expect((made.disks as Array<{ diskSizeGb: string; _diskType: string }>)[0]).toMatchObject({ diskSizeGb: '50', _diskType: 'pd-ssd' });
    expect(made.scheduling).toMatchObject({ provisioningModel: 'SPOT' });

    const list = await gcloud(env, ['compute', 'instances', 'list', '--filter', 'labels.team=ml', '--format', 'value(name,zone.basename(),status)']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n').sort()).toEqual(['vm-a\tus-central1-a\tRUNNING', 'vm-b\tus-central1-a\tRUNNING']);

    const describeOut = await gcloud(env, ['compute', 'instances', 'describe', 'vm-a', '--zone', 'us-central1-a', '--format', 'json']);
    expect(describeOut.code, describeOut.stderr).toBe(0);
    expect(JSON.parse(describeOut.stdout)).toMatchObject({ name: 'vm-a', status: 'RUNNING', labels: { owner: 'me', team: 'ml' } });

    const stop = await gcloud(env, ['compute', 'instances', 'stop', 'vm-b', '--zone', 'us-central1-a']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(gce.model.instance('us-central1-a', 'vm-b').status).toBe('TERMINATED');

    const del = await gcloud(env, ['compute', 'instances', 'delete', 'vm-a', 'vm-b', '--zone', 'us-central1-a']);
    expect(del.code, del.stderr).toBe(0);
    expect(gce.list({ owner: 'me' })).toEqual([]);
    const after = await gcloud(env, ['compute', 'instances', 'list', '--format', 'value(name)']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout.trim()).toBe('');
  }, 600_000);

  it('reports a zone out of capacity and a region out of quota the way GCE does', async () => {
    gce.model.zoneFailures.set('us-east1-b', { code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
    const full = await gcloud(env, ['compute', 'instances', 'create', 'vm-c', '--zone', 'us-east1-b', '--machine-type', 'n2-standard-2', '--image-family', 'ubuntu-2204-lts', '--image-project', 'ubuntu-os-cloud']);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/ZONE_RESOURCE_POOL_EXHAUSTED|does not have enough resources/);
    gce.model.zoneFailures.delete('us-east1-b');

    gce.model.cpuQuota.set('us-west1', 2);
    const quota = await gcloud(env, ['compute', 'instances', 'create', 'vm-d', '--zone', 'us-west1-a', '--machine-type', 'n2-standard-4', '--image-family', 'ubuntu-2204-lts', '--image-project', 'ubuntu-os-cloud']);
    expect(quota.code).not.toBe(0);
    expect(quota.stderr).toMatch(/Quota 'CPUS' exceeded\.\s+Limit: 2\.0 in region us-west1/);
    expect(gce.list()).toEqual([]);

    const missing = await gcloud(env, ['compute', 'instances', 'describe', 'nope', '--zone', 'us-west1-a']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/was not found/);
  }, 600_000);

  it('firewall rules and a preempted SPOT instance', async () => {
    const fw = await gcloud(env, ['compute', 'firewall-rules', 'create', 'web', '--allow', 'tcp:8080,tcp:9000-9001', '--target-tags', 'web']);
    expect(fw.code, fw.stderr).toBe(0);
    const rules = await gcloud(env, ['compute', 'firewall-rules', 'list', '--format', 'value(name)']);
    expect(rules.stdout.trim().split('\n').sort()).toEqual(['default-allow-ssh', 'web']);

    const create = await gcloud(env, ['compute', 'instances', 'create', 'spot-1', '--zone', 'europe-west4-a', '--machine-type', 'n2-standard-2', '--image-family', 'ubuntu-2204-lts', '--image-project', 'ubuntu-os-cloud', '--provisioning-model', 'SPOT', '--tags', 'web']);
    expect(create.code, create.stderr).toBe(0);
    expect(gce.model.openPorts(gce.model.instance('europe-west4-a', 'spot-1'))).toEqual([22, 8080, 9000, 9001]);
    await gce.model.preempt('europe-west4-a', 'spot-1');
    const ops = await gcloud(env, ['compute', 'operations', 'list', '--zones', 'europe-west4-a', '--filter', 'operationType=compute.instances.preempted', '--format', 'value(targetLink.basename(),status)']);
    expect(ops.code, ops.stderr).toBe(0);
    expect(ops.stdout.trim()).toBe('spot-1\tDONE');
    const st = await gcloud(env, ['compute', 'instances', 'list', '--format', 'value(name,status)']);
    expect(st.stdout.trim()).toBe('spot-1\tTERMINATED');
    expect((await gcloud(env, ['compute', 'instances', 'delete', 'spot-1', '--zone', 'europe-west4-a'])).code).toBe(0);
    expect((await gcloud(env, ['compute', 'firewall-rules', 'delete', 'web'])).code).toBe(0);
    expect([...gce.model.firewalls.keys()]).toEqual(['default-allow-ssh']);
  }, 600_000);
});

describe('aloft check for gcp', () => {
  it('credentials, project, endpoint, and whether the API answers — or why not', async () => {
    const gce = await startGceFake();
    const dir = mkdtempSync(join(tmpdir(), 'aloft-gcecheck-'));
    const a = makeHome('aloft-gcheck-');
    try {
      const { env } = gce.writeConfig(dir);
      const gcp = async (extra: Record<string, string>) => {
        const r = await a.run(['check', '-o', 'json'], { env: { CLOUDSDK_CONFIG: join(dir, 'none'), ...extra } });
        expect(r.code, r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as Array<{ infra: string; ok: boolean; reason: string; reachable?: boolean }>).find((s) => s.infra === 'gcp')!;
      };
      const good = await gcp(env);
      expect(good).toMatchObject({ ok: true, reachable: true });
      expect(good.reason).toContain(`project aloft-fake (environment); endpoint ${gce.endpoint}`);
      expect(good.reason).toContain('Compute Engine API answered');

      // A key the API does not know: credentials exist, the API says why it refuses them.
      const other = join(dir, 'other.json');
      writeFileSync(other, JSON.stringify(makeServiceAccount('aloft-fake', 'http://127.0.0.1/token').json));
      const refused = await gcp({ ...env, GOOGLE_APPLICATION_CREDENTIALS: other });
      expect(refused).toMatchObject({ ok: true, reachable: false });
      expect(refused.reason).toMatch(/did not answer: .*Invalid JWT Signature/);

      const down = await gcp({ ...env, CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `http://127.0.0.1:${await closedPort()}/compute/v1/` });
      expect(down).toMatchObject({ ok: true, reachable: false });
      expect(down.reason).toMatch(/did not answer: .*ECONNREFUSED/);

      const noProject = await gcp({ GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'credentials.json'), GOOGLE_CLOUD_PROJECT: '' , CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: gce.endpoint });
      // (the service-account file names its project, as Google's keys do)
      expect(noProject).toMatchObject({ ok: true });
      expect(noProject.reason).toContain('project aloft-fake (credentials file)');

      const missing = await gcp({ GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'nope.json') });
      expect(missing).toMatchObject({ ok: false });
      expect(missing.reason).toContain('GOOGLE_APPLICATION_CREDENTIALS points to a missing file');

      writeFileSync(join(a.home, 'config.yaml'), 'gcp:\n  endpoint: ftp://nowhere\n');
      const bad = await a.run(['check', '-o', 'json'], { env });
      expect(JSON.parse(bad.stdout).find((s: { infra: string }) => s.infra === 'gcp').reason).toMatch(/config\.yaml:2:13: gcp\.endpoint: expected http\(s\):\/\/HOST\[:PORT\]\/compute\/v1\//);
    } finally {
      await a.cleanup();
      await gce.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
