import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalAccelerator,
  parseAcceleratorString,
  resolveAccelerator,
  suggestAccelerators,
  UnknownAcceleratorError,
  acceleratorMemoryGiB,
  listAccelerators,
} from '../../src/catalog/accelerators.js';
import { loadCatalog, offeringsFromCsv, catalogFiles, resetCatalogCache } from '../../src/catalog/catalog.js';
import { readCsv } from '../../src/catalog/csv.js';
import { detectInfra, usableInfra } from '../../src/catalog/detect.js';
import { listGpuOffers, summarizeGpus } from '../../src/catalog/gpus.js';
import { pullCatalog } from '../../src/catalog/pull.js';
import { UserError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/paths.js';

/** Rows of a shipped CSV as header → value records (independent of the loader under test). */
function csvRecords(cloud: string): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  let header: string[] = [];
  readCsv(
    readFileSync(join(packageRoot(), 'catalog', cloud, 'vms.csv'), 'utf8'),
    (h) => (header = h),
    (f) => rows.push(Object.fromEntries(header.map((h, i) => [h, f[i] ?? '']))),
  );
  return rows;
}

describe('accelerator registry', () => {
  it('maps aliases case-insensitively to one canonical name', () => {
    const cases: Array<[string, string]> = [
      ['a100', 'A100'],
      ['A100-80gb', 'A100-80GB'],
      ['nvidia-tesla-t4', 'T4'],
      ['NVIDIA Tesla V100', 'V100'],
      ['h100', 'H100'],
      ['H200', 'H200'],
      ['b200', 'B200'],
      ['l40s', 'L40S'],
      ['a10g', 'A10G'],
      ['mi300x', 'MI300X'],
      ['AMD Instinct MI325X', 'MI325X'],
      ['mi355x', 'MI355X'],
      ['MI250X', 'MI250X'],
      ['mi210', 'MI210'],
      ['Radeon Pro W7900', 'Radeon-Pro-W7900'],
      ['w7800', 'Radeon-Pro-W7800'],
      ['RX 7900 XTX', 'RX7900XTX'],
      ['rtx-a6000', 'RTXA6000'],
      ['tpu-v4-8', 'tpu-v4-8'],
    ];
    for (const [alias, want] of cases) expect(canonicalAccelerator(alias), alias).toBe(want);
    expect(canonicalAccelerator('A1000000')).toBeUndefined();
  });

  it('knows GPU memory', () => {
    expect(acceleratorMemoryGiB('A100')).toBe(40);
    expect(acceleratorMemoryGiB('a100-80gb')).toBe(80);
    expect(acceleratorMemoryGiB('MI300X')).toBe(192);
    expect(listAccelerators().length).toBeGreaterThan(40);
  });

  it('parses NAME, NAME:N, memory forms and fractions', () => {
    expect(parseAcceleratorString('A100')).toEqual({ name: 'A100', count: 1 });
    expect(parseAcceleratorString('A100:8')).toEqual({ name: 'A100', count: 8 });
    expect(parseAcceleratorString('80GB+:8')).toEqual({ name: '80GB+', count: 8 });
    expect(parseAcceleratorString('H100:0.5')).toEqual({ name: 'H100', count: 0.5 });
    expect(() => parseAcceleratorString('A100:x')).toThrow(UserError);
    expect(resolveAccelerator('80GB+', 8)).toEqual({ kind: 'memory', minGiB: 80, atLeast: true, count: 8 });
    expect(resolveAccelerator('48GB', 1)).toEqual({ kind: 'memory', minGiB: 48, atLeast: false, count: 1 });
    expect(resolveAccelerator('h100', 8)).toEqual({ kind: 'name', name: 'H100', count: 8 });
  });

  it('suggests the closest name for a typo', () => {
    expect(suggestAccelerators('A1OO')[0]).toBe('A100');
    expect(suggestAccelerators('H10O')[0]).toBe('H100');
    expect(suggestAccelerators('mi300')).toEqual(expect.arrayContaining(['MI300X', 'MI300A']));
    const err = (() => {
      try {
        resolveAccelerator('A1OO', 8);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(UnknownAcceleratorError);
    expect(err!.message).toMatch(/^unknown accelerator 'A1OO'; did you mean A100/);
    expect(err!.message).not.toContain('\n');
  });
});

describe('shipped catalog', () => {
  it('has aws and gcp with the GPU families of the issue', () => {
    const c = loadCatalog();
    expect(c.clouds).toEqual(expect.arrayContaining(['aws', 'gcp']));
    const awsTypes = new Set(c.offerings.filter((o) => o.cloud === 'aws').map((o) => o.instanceType!.split('.')[0]));
    for (const f of ['p4d', 'p4de', 'p5', 'p5e', 'g5', 'g6', 'g6e', 'g4dn', 'trn1', 'inf2', 'm6i', 'c6i', 'r6i']) expect(awsTypes, f).toContain(f);
    const gcpAcc = new Set(c.offerings.filter((o) => o.cloud === 'gcp').map((o) => o.accelerator));
    for (const a of ['A100', 'A100-80GB', 'H100', 'L4', 'T4', 'V100', 'P100']) expect(gcpAcc, a).toContain(a);
    // GPU hosts only ever appear with their GPUs
    expect(c.offerings.some((o) => o.instanceType?.startsWith('a2-') && !o.accelerator)).toBe(false);
    expect(c.offerings.every((o) => o.zone && o.region && o.zone.startsWith(o.region))).toBe(true);
  });

  it('prices GCP GPU offerings as host + accelerator, exactly the CSV figures', () => {
    const rows = csvRecords('gcp');
    const host = rows.find((r) => r.InstanceType === 'a2-highgpu-8g' && r.AvailabilityZone === 'us-central1-a')!;
    const gpu = rows.find((r) => r.InstanceType === '' && r.AcceleratorName === 'A100' && r.AcceleratorCount === '8' && r.AvailabilityZone === 'us-central1-a')!;
    const o = loadCatalog().offerings.find((x) => x.instanceType === 'a2-highgpu-8g' && x.zone === 'us-central1-a')!;
    const want = Math.round((Number(host.Price) + Number(gpu.Price)) * 1e6) / 1e6;
    expect(o.price).toBe(want);
    expect(o.hostPrice).toBe(Number(host.Price));
    expect(o.acceleratorPrice).toBe(Number(gpu.Price));
    expect(o.spotPrice).toBe(Math.round((Number(host.SpotPrice) + Number(gpu.SpotPrice)) * 1e6) / 1e6);
  });

  it('attaches T4 only to N1 hosts within GCP limits', () => {
    const c = loadCatalog();
    const v100 = c.offerings.filter((o) => o.cloud === 'gcp' && o.accelerator === 'V100' && o.acceleratorCount === 1);
    expect(v100.length).toBeGreaterThan(0);
    expect(v100.every((o) => o.instanceType!.startsWith('n1-') && o.cpus <= 12)).toBe(true);
    const l4 = c.offerings.filter((o) => o.cloud === 'gcp' && o.accelerator === 'L4' && o.acceleratorCount === 8);
    expect(new Set(l4.map((o) => o.instanceType))).toEqual(new Set(['g2-standard-96']));
  });

  it('reads AWS rows with quoted GpuInfo', () => {
    const rows = csvRecords('aws');
    const p4d = rows.find((r) => r.InstanceType === 'p4d.24xlarge' && r.AvailabilityZone === 'us-east-1a')!;
    expect(p4d.GpuInfo).toContain("'SizeInMiB': 40960");
    const o = loadCatalog().offerings.find((x) => x.instanceType === 'p4d.24xlarge' && x.zone === 'us-east-1a')!;
    expect(o).toMatchObject({ accelerator: 'A100', acceleratorCount: 8, cpus: 96, memoryGiB: 1152, acceleratorMemGiB: 40 });
    expect(o.price).toBe(Number(p4d.Price));
    expect(o.spotPrice).toBe(Number(p4d.SpotPrice));
  });

  it('reads CSV exactly as csv-parse does: the shipped catalogs and quoting corner cases', () => {
    const tricky =
      'a,b,c\r\n' + // CRLF
      'plain,,3\r\n' +
      '"x, with comma","say ""hi""",\n' +
      'p,"{\'Gpus\': [{\'Name\': \'T4\'}], \'n\': 1}",9\n' +
      '\n' + // blank line
      'last,row,1';
    const texts = [tricky, ...['aws', 'gcp'].map((c) => readFileSync(join(packageRoot(), 'catalog', c, 'vms.csv'), 'utf8'))];
    for (const text of texts) {
      const ours: string[][] = [];
      readCsv(text, (h) => ours.push(h), (f) => ours.push([...f]));
      const oracle = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as string[][];
      oracle[0] = oracle[0]!.map((h) => h.trim());
      expect(ours).toEqual(oracle);
    }
  });

  it('rejects a file that is not a catalog', () => {
    expect(() => offeringsFromCsv('x', 'a,b,c\n1,2,3\n', 'x.csv')).toThrow(/not a catalog in SkyPilot's format/);
  });
});

describe('gpus list', () => {
  it('summarizes names, counts, clouds and cheapest prices', () => {
    const rows = summarizeGpus();
    const a100 = rows.find((r) => r.accelerator === 'A100')!;
    expect(a100.clouds).toEqual(['aws', 'gcp']);
    expect(a100.counts).toEqual(expect.arrayContaining([1, 8, 16]));
    const all = loadCatalog().offerings.filter((o) => o.accelerator === 'A100').map((o) => o.price!);
    expect(a100.price).toBe(Math.min(...all));
    expect(summarizeGpus({ infra: 'aws' }).every((r) => r.clouds.join() === 'aws')).toBe(true);
  });

  it('lists offers per cloud, by memory form, and per region', () => {
    const big = listGpuOffers({ name: '80GB+' });
    const names = new Set(big.map((r) => r.accelerator));
    expect(names.has('H100') && names.has('A100-80GB')).toBe(true);
    expect(names.has('A100')).toBe(false);
    const cheap = listGpuOffers({ name: 'a100' }).filter((r) => r.count === 8 && r.cloud === 'gcp');
    expect(cheap).toHaveLength(1);
    const per = listGpuOffers({ name: 'a100', allRegions: true }).filter((r) => r.count === 8 && r.cloud === 'gcp');
    expect(per.length).toBeGreaterThan(3);
    expect(() => listGpuOffers({ name: 'A1OO' })).toThrow(/did you mean A100/);
  });
});

describe('catalog pull', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'aloft-cat-'));
  });
  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
    resetCatalogCache();
  });

  it('installs a catalog from a file URL and it takes precedence', async () => {
    const src = join(home, 'src.csv');
    writeFileSync(
      src,
      'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone\n' +
        'x1.big,,,4.0,16.0,,0.5,0.1,r1,r1a\n',
    );
    const r = await pullCatalog({ cloud: 'aws', url: src, home });
    expect(r).toMatchObject({ cloud: 'aws', rows: 1, offerings: 1 });
    expect(existsSync(join(home, 'catalog', 'aws', 'vms.csv'))).toBe(true);
    const files = catalogFiles([join(packageRoot(), 'catalog'), join(home, 'catalog')]);
    expect(files.aws).toBe(join(home, 'catalog', 'aws', 'vms.csv'));
    const c = loadCatalog([join(packageRoot(), 'catalog'), join(home, 'catalog')]);
    expect(c.offerings.filter((o) => o.cloud === 'aws').map((o) => o.instanceType)).toEqual(['x1.big']);
  });

  it('fails with one clear line when the URL cannot be reached', async () => {
    const err = await pullCatalog({ cloud: 'gcp', url: 'http://127.0.0.1:9/vms.csv', home, timeoutMs: 5000 }).catch((e) => e as Error);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^cannot download http:\/\/127\.0\.0\.1:9\/vms\.csv: .*offline/);
    expect(err.message).not.toContain('\n');
    expect(existsSync(join(home, 'catalog', 'gcp', 'vms.csv'))).toBe(false);
  });

  it('keeps the current catalog when the download is not a catalog', async () => {
    const src = join(home, 'bad.csv');
    writeFileSync(src, '<html>not found</html>\n');
    await expect(pullCatalog({ cloud: 'gcp', url: src, home })).rejects.toThrow(/not a catalog/);
    expect(existsSync(join(home, 'catalog', 'gcp', 'vms.csv'))).toBe(false);
  });
});

describe('detectInfra', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aloft-detect-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds nothing but local in an empty home', async () => {
    const s = await detectInfra({ env: {}, home: dir, aloftHome: join(dir, '.aloft') });
    expect(s.map((x) => x.infra)).toEqual(['local', 'ssh', 'kubernetes', 'aws', 'gcp']);
    expect(usableInfra(s)).toEqual(['local']);
    for (const x of s.filter((y) => !y.ok)) expect(x.reason.length).toBeGreaterThan(10);
  });

  it('finds credentials files, kubeconfig contexts and ssh pools', async () => {
    mkdirSync(join(dir, '.aws'));
    writeFileSync(join(dir, '.aws', 'credentials'), '[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = abc\n');
    mkdirSync(join(dir, '.config', 'gcloud'), { recursive: true });
    writeFileSync(join(dir, '.config', 'gcloud', 'application_default_credentials.json'), '{"type": "authorized_user", "quota_project_id": "proj-1"}');
    mkdirSync(join(dir, '.kube'));
    writeFileSync(
      join(dir, '.kube', 'config'),
      'apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:6443"}\ncontexts:\n- name: kind-a\n  context: {cluster: c}\n- name: kind-b\n  context: {cluster: c}\ncurrent-context: kind-a\n',
    );
    mkdirSync(join(dir, '.aloft'));
    writeFileSync(join(dir, '.aloft', 'ssh_node_pools.yaml'), 'gpus:\n  hosts: [10.0.0.1, 10.0.0.2]\ncpus:\n  hosts: [10.0.0.3]\n');
    const s = await detectInfra({ env: {}, home: dir, aloftHome: join(dir, '.aloft') });
    expect(usableInfra(s).sort()).toEqual(['aws', 'gcp', 'kubernetes', 'local', 'ssh']);
    expect(s.find((x) => x.infra === 'kubernetes')!.targets).toEqual(['kind-a', 'kind-b']);
    expect(s.find((x) => x.infra === 'ssh')!.targets).toEqual(['gpus', 'cpus']);
    // the provider's parser: a pool with no hosts is an error with its position, as at launch
    writeFileSync(join(dir, '.aloft', 'ssh_node_pools.yaml'), 'gpus:\n  hosts: [10.0.0.1]\nempty:\n  hosts: []\n');
    const broken = (await detectInfra({ env: {}, home: dir, aloftHome: join(dir, '.aloft') })).find((x) => x.infra === 'ssh')!;
    expect(broken.ok).toBe(false);
    expect(broken.reason).toMatch(/ssh_node_pools\.yaml:4:10: a pool needs at least one host \(empty\.hosts\)$/);
    const env = { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'missing.json') };
    const s2 = await detectInfra({ env, home: join(dir, 'none'), aloftHome: join(dir, 'none') });
    expect(s2.find((x) => x.infra === 'aws')!.ok).toBe(true);
    expect(s2.find((x) => x.infra === 'gcp')).toMatchObject({ ok: false, reason: expect.stringContaining('missing file') });
  });

  it('probes the API and reports an unreachable one', async () => {
    mkdirSync(join(dir, '.kube'));
    writeFileSync(join(dir, '.kube', 'config'), 'clusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:9"}\ncontexts:\n- name: x\n');
    const s = await detectInfra({ env: {}, home: dir, aloftHome: dir, probe: true, probeTimeoutMs: 2000 });
    const k = s.find((x) => x.infra === 'kubernetes')!;
    expect(k).toMatchObject({ ok: true, reachable: false });
    expect(k.reason).toContain('unreachable');
  });
});
