// Store access (config.yaml `storage:` + environment), the rclone.conf aloft writes on nodes, and
// what a node lacking rclone gets: the package manager on ssh/cloud nodes, a clear refusal locally.
import { mkdtempSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureNodeTools } from '../../src/daemon/pipeline/storage.js';
import { LocalTransport } from '../../src/providers/local/transport.js';
import type { ExecOptions, Provider, Transport } from '../../src/providers/types.js';
import { parseConfig } from '../../src/spec/config.js';
import { resolveAccess, defaultStoreFor } from '../../src/storage/access.js';
import { rcloneSection } from '../../src/storage/rclone.js';

const dir = mkdtempSync(join(tmpdir(), 'aloft-sa-'));
const keys = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 's3cret/with+chars' };

describe('store access', () => {
  it('s3: keys from the environment, endpoint from AWS_ENDPOINT_URL_S3 or config.yaml', async () => {
    const a = await resolveAccess('s3', undefined, { ...keys, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000/', AWS_REGION: 'eu-west-1' });
    expect(a).toMatchObject({ endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', s3: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cret/with+chars' } });
    expect(a.secrets).toEqual(['s3cret/with+chars']);
    const cfg = parseConfig('storage:\n  s3:\n    endpoint: http://10.0.0.1:9000\n    region: us-west-2\n', 'config.yaml').storage;
    expect(await resolveAccess('s3', cfg, keys)).toMatchObject({ endpoint: 'http://10.0.0.1:9000', region: 'us-west-2' });
  });

  it('S3-compatible stores: an endpoint in config.yaml and keys from a credentials file profile', async () => {
    await expect(resolveAccess('nebius', undefined, keys)).rejects.toThrow('store nebius needs an endpoint: set storage.nebius.endpoint in config.yaml');
    const creds = join(dir, 'cw.credentials');
    writeFileSync(creds, '[default]\naws_access_key_id = X\naws_secret_access_key = Y\n[cw]\naws_access_key_id = CWKEY\naws_secret_access_key = CWSECRET # comment\n');
    const cfg = parseConfig(`storage:\n  coreweave:\n    endpoint: https://cwobject.com\n    credentials_file: ${creds}\n`, 'c.yaml').storage;
    expect(await resolveAccess('coreweave', cfg, {})).toMatchObject({ endpoint: 'https://cwobject.com', s3: { accessKeyId: 'CWKEY', secretAccessKey: 'CWSECRET' } });
    const r2 = parseConfig(`storage:\n  r2:\n    account_id: acct123\n    credentials_file: ${creds}\n    profile: default\n`, 'c.yaml').storage;
    expect(await resolveAccess('r2', r2, {})).toMatchObject({ endpoint: 'https://acct123.r2.cloudflarestorage.com', region: 'auto', s3: { accessKeyId: 'X' } });
  });

  it('gcs: an emulator endpoint needs no credentials; real GCS does', async () => {
    expect(await resolveAccess('gcs', undefined, { STORAGE_EMULATOR_HOST: '127.0.0.1:4443' })).toMatchObject({ endpoint: 'http://127.0.0.1:4443', secrets: [] });
    expect(await resolveAccess('gcs', undefined, { CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: 'http://h:1/storage/v1/' })).toMatchObject({ endpoint: 'http://h:1' });
    const sa = join(dir, 'sa.json');
    writeFileSync(sa, JSON.stringify({ type: 'service_account', project_id: 'proj', client_email: 'x@proj.iam', private_key: '-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n' }));
    const a = await resolveAccess('gcs', undefined, { GOOGLE_APPLICATION_CREDENTIALS: sa });
    expect(a).toMatchObject({ project: 'proj', gcs: { type: 'service_account' } });
    expect(a.secrets.some((s) => s.includes('BEGIN PRIVATE KEY'))).toBe(true);
  });

  it('picks a store for `name:` buckets: the cloud’s own, then config, then credentials', () => {
    expect(defaultStoreFor('aws', undefined, {})).toBe('s3');
    expect(defaultStoreFor('gcp', undefined, {})).toBe('gcs');
    expect(defaultStoreFor('local', parseConfig('storage:\n  default_store: r2\n', 'c').storage, {})).toBe('r2');
    expect(defaultStoreFor('ssh', undefined, { STORAGE_EMULATOR_HOST: 'x', HOME: dir })).toMatch(/^(s3|gcs)$/);
  });

  it('config.yaml storage: mistakes are positioned', () => {
    expect(() => parseConfig('storage:\n  s3:\n    endpont: http://x\n', 'config.yaml')).toThrow("config.yaml:3:5: unknown field 'endpont' in storage.s3; did you mean 'endpoint'?");
    expect(() => parseConfig('storage:\n  default_store: s4\n', 'config.yaml')).toThrow(/config\.yaml:2:18: storage\.default_store: expected one of s3, gcs/);
  });
});

describe('rclone.conf', () => {
  it('one section per store: s3 (AWS or an endpoint), r2, gcs anonymous / service account', async () => {
    const s3 = await resolveAccess('s3', undefined, keys);
    expect(rcloneSection(s3)).toBe('[aloft-s3]\ntype = s3\nprovider = AWS\naccess_key_id = AKIAEXAMPLE\nsecret_access_key = s3cret/with+chars\nregion = us-east-1\nno_check_bucket = true\n');
    expect(rcloneSection(s3, 'ap-south-1')).toContain('[aloft-s3-ap-south-1]');
    const local = await resolveAccess('s3', undefined, { ...keys, AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    expect(rcloneSection(local)).toContain('provider = Other\n');
    expect(rcloneSection(local)).toContain('endpoint = http://127.0.0.1:1\nforce_path_style = true\n');
    const gcs = await resolveAccess('gcs', undefined, { STORAGE_EMULATOR_HOST: 'http://127.0.0.1:2' });
    expect(rcloneSection(gcs)).toBe('[aloft-gcs]\ntype = google cloud storage\nanonymous = true\nendpoint = http://127.0.0.1:2/storage/v1/\nbucket_policy_only = true\n');
    const sa = join(dir, 'sa2.json');
    writeFileSync(sa, JSON.stringify({ type: 'service_account', private_key: 'K\nL' }, null, 2));
    const conf = rcloneSection(await resolveAccess('gcs', undefined, { GOOGLE_APPLICATION_CREDENTIALS: sa }));
    // the JSON on one line (rclone.conf is line-based); the key's own newlines stay escaped
    expect(conf).toContain('service_account_credentials = {"type":"service_account","private_key":"K\\nL"}\n');
  });
});

describe('tools on a node', () => {
  /** A node whose PATH has no rclone, and a package manager that installs it (links the real one). */
  function bareNode(): Transport {
    const bin = mkdtempSync(join(tmpdir(), 'aloft-bin-'));
    for (const tool of ['bash', 'id', 'env']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    const apt = join(bin, 'apt-get');
    writeFileSync(apt, `#!/bin/bash\necho "$*" >> ${bin}/apt.log\nif [ "$1" = install ]; then for p in "$@"; do [ "$p" = rclone ] && /usr/bin/ln -sf /usr/bin/rclone ${bin}/rclone; done; fi\nexit 0\n`);
    chmodSync(apt, 0o755);
    const inner = new LocalTransport(mkdtempSync(join(tmpdir(), 'aloft-bare-')));
    return { ...inner, exec: (cmd: string, o: ExecOptions = {}) => inner.exec(cmd, { ...o, env: { ...o.env, PATH: bin } }), upload: inner.upload.bind(inner), connect: inner.connect.bind(inner), close: () => undefined, bin } as Transport & { bin: string };
  }

  it.skipIf(process.getuid?.() !== 0)('installs what an ssh/cloud node lacks with its package manager, and says so', async () => {
    const t = bareNode() as Transport & { bin: string };
    const lines: string[] = [];
    await ensureNodeTools({ name: 'ssh' } as Provider, t, 3, { rclone: true, fuse: false, git: false }, (m) => lines.push(m));
    expect(lines).toEqual(['node 3: installing rclone (missing on the node)', 'node 3: installed rclone with apt-get']);
    expect(existsSync(join(t.bin, 'rclone'))).toBe(true);
  });

  it('never installs on the local infra (this machine): says what to install', async () => {
    const t = bareNode();
    await expect(ensureNodeTools({ name: 'local' } as Provider, t, 0, { rclone: true, fuse: false, git: false }, () => undefined)).rejects.toThrow(
      "this machine lacks rclone (the local infra's nodes are this machine): install with `sudo apt-get install rclone`",
    );
  });
});
