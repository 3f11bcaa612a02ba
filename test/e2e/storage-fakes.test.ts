// The loopback storage servers answer what the real services would: checked with the real clients
// installed here — aws-cli against the S3 server, gsutil and `gcloud storage` against the GCS fake,
// and rclone (what aloft runs on nodes) against both. Also: `npm run fake -- s3|gcs` by hand.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsFake, type GcsFake } from '../fakes/gcs/server.js';
import { startS3Fake, type S3Fake } from '../fakes/s3/server.js';
import { ROOT, waitFor } from '../helpers/cli.js';

// Never execFileSync here: the fakes run in this process, a blocked event loop cannot answer.
const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'aloft-sf-'));

async function run(cmd: string, args: string[], env: Record<string, string | undefined>): Promise<string> {
  const e = { ...process.env, ...env } as Record<string, string>;
  // this machine points AWS_CA_BUNDLE at a proxy CA; rclone 1.60 refuses any custom bundle on http
  delete e.AWS_CA_BUNDLE;
  try {
    return (await exec(cmd, args, { env: e, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const x = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(x.stderr ?? x.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

function files(dir: string, n: number, size: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${String(i).padStart(4, '0')}.bin`), Buffer.alloc(size, i % 251));
}

const big = join(work, 'big.bin');

beforeAll(() => {
  // 12 MiB of varied bytes: over aws-cli's multipart threshold (8 MiB) and several gsutil chunks
  const buf = Buffer.alloc(12 << 20);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(big, buf);
  files(join(work, 'many'), 1100, 16); // over GCS's 1,000-per-page listing
  files(join(work, 'some'), 600, 16);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('S3 server (s3rver) with aws-cli and rclone', () => {
  let s3: S3Fake;
  beforeAll(async () => {
    s3 = await startS3Fake();
  });
  afterAll(() => s3.stop());

  it('creates, lists (v2, paged), uploads multipart, downloads and deletes like S3', async () => {
    const env = s3.env;
    await run('aws', ['s3', 'mb', 's3://fk-bucket'], env);
    expect(await run('aws', ['s3', 'ls'], env)).toContain('fk-bucket');
    await run('aws', ['s3', 'cp', '--only-show-errors', big, 's3://fk-bucket/dir/big.bin'], env);
    const head = JSON.parse(await run('aws', ['s3api', 'head-object', '--bucket', 'fk-bucket', '--key', 'dir/big.bin'], env));
    expect(head.ContentLength).toBe(12 << 20);
    await run('aws', ['s3', 'cp', '--only-show-errors', 's3://fk-bucket/dir/big.bin', join(work, 'big-s3.bin')], env);
    expect(readFileSync(join(work, 'big-s3.bin')).equals(readFileSync(big))).toBe(true);
    await run('aws', ['s3', 'sync', '--only-show-errors', join(work, 'some'), 's3://fk-bucket/many'], env);
    // ListObjectsV2 with continuation tokens: 600 keys in pages of 250
    const listed = JSON.parse(await run('aws', ['s3api', 'list-objects-v2', '--bucket', 'fk-bucket', '--prefix', 'many/', '--page-size', '250'], env));
    expect(listed.Contents).toHaveLength(600);
    const dirs = JSON.parse(await run('aws', ['s3api', 'list-objects-v2', '--bucket', 'fk-bucket', '--delimiter', '/'], env));
    expect(dirs.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix)).toEqual(['dir/', 'many/']);
    await run('aws', ['s3', 'rm', '--only-show-errors', '--recursive', 's3://fk-bucket/many'], env);
    expect(await run('aws', ['s3', 'ls', 's3://fk-bucket/many/'], env).catch(() => '')).toBe('');
  }, 300_000);

  it('refuses unsigned requests and wrong secrets, as AWS does for a private bucket', async () => {
    await run('aws', ['s3', 'mb', 's3://fk-private'], s3.env);
    await expect(run('aws', ['s3', 'ls', 's3://fk-private', '--no-sign-request'], s3.env)).rejects.toThrow(/AccessDenied/);
    await expect(run('aws', ['s3', 'ls', 's3://fk-private'], { ...s3.env, AWS_SECRET_ACCESS_KEY: 'wrong' })).rejects.toThrow(/SignatureDoesNotMatch/);
  }, 300_000);

  it('serves rclone (what nodes run): copy both ways, multipart, check', async () => {
    const conf = join(work, 'rclone-s3.conf');
    writeFileSync(conf, `[s]\ntype = s3\nprovider = Other\naccess_key_id = ${s3.accessKeyId}\nsecret_access_key = ${s3.secretAccessKey}\nendpoint = ${s3.endpoint}\nregion = us-east-1\nforce_path_style = true\n`);
    const env = { RCLONE_CONFIG: conf };
    await run('rclone', ['mkdir', 's:fk-rclone'], env);
    await run('rclone', ['copy', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', big, 's:fk-rclone/x'], env);
    await run('rclone', ['copy', '--transfers', '16', join(work, 'many'), 's:fk-rclone/many'], env);
    expect((await run('rclone', ['lsf', 's:fk-rclone/many'], env)).trim().split('\n')).toHaveLength(1100);
    await run('rclone', ['check', join(work, 'many'), 's:fk-rclone/many'], env);
    await run('rclone', ['copy', 's:fk-rclone/x', join(work, 'rclone-down')], env);
    expect(readFileSync(join(work, 'rclone-down', 'big.bin')).equals(readFileSync(big))).toBe(true);
  }, 300_000);
});

describe('GCS JSON-API fake with gsutil, gcloud storage and rclone', () => {
  let gcs: GcsFake;
  let env: Record<string, string>;
  beforeAll(async () => {
    gcs = await startGcsFake();
    env = { ...gcs.env, CLOUDSDK_CONFIG: mkdtempSync(join(work, 'gcloud-')) };
  });
  afterAll(() => gcs.stop());

  it('gsutil: mb, cp (multipart and resumable), ls, cat, cp down, rm', async () => {
    await run('gsutil', ['mb', 'gs://fk-gsutil'], env);
    expect(await run('gsutil', ['ls'], env)).toContain('gs://fk-gsutil/');
    writeFileSync(join(work, 'small.txt'), 'hello gcs\n');
    await run('gsutil', ['-q', 'cp', join(work, 'small.txt'), 'gs://fk-gsutil/d/small.txt'], env);
    // over the threshold gsutil uploads resumably, in chunks
    await run('gsutil', ['-q', '-o', 'GSUtil:resumable_threshold=1048576', '-o', 'GSUtil:json_resumable_chunk_size=4194304', 'cp', big, 'gs://fk-gsutil/d/big.bin'], env);
    const ls = await run('gsutil', ['ls', '-l', 'gs://fk-gsutil/d/'], env);
    expect(ls).toMatch(/12582912 .*gs:\/\/fk-gsutil\/d\/big\.bin/);
    expect(await run('gsutil', ['cat', 'gs://fk-gsutil/d/small.txt'], env)).toBe('hello gcs\n');
    await run('gsutil', ['-q', 'cp', 'gs://fk-gsutil/d/big.bin', join(work, 'big-gsutil.bin')], env);
    expect(readFileSync(join(work, 'big-gsutil.bin')).equals(readFileSync(big))).toBe(true);
    await run('gsutil', ['-q', 'rm', 'gs://fk-gsutil/d/small.txt'], env);
    expect(await run('gsutil', ['ls', 'gs://fk-gsutil/d/'], env)).toBe('gs://fk-gsutil/d/big.bin\n');
  }, 300_000);

  it('gcloud storage: buckets create, cp, ls, cat, rm', async () => {
    await run('gcloud', ['storage', 'buckets', 'create', 'gs://fk-gcloud'], env);
    await run('gcloud', ['storage', 'cp', big, 'gs://fk-gcloud/a/big.bin'], env);
    await run('gcloud', ['storage', 'cp', join(work, 'small.txt'), 'gs://fk-gcloud/a/small.txt'], env);
    expect(await run('gcloud', ['storage', 'ls', 'gs://fk-gcloud/a/'], env)).toBe('gs://fk-gcloud/a/big.bin\ngs://fk-gcloud/a/small.txt\n');
    expect(await run('gcloud', ['storage', 'cat', 'gs://fk-gcloud/a/small.txt'], env)).toBe('hello gcs\n');
    await run('gcloud', ['storage', 'cp', 'gs://fk-gcloud/a/big.bin', join(work, 'big-gcloud.bin')], env);
    expect(readFileSync(join(work, 'big-gcloud.bin')).equals(readFileSync(big))).toBe(true);
    await run('gcloud', ['storage', 'rm', 'gs://fk-gcloud/a/small.txt'], env);
    expect(await run('gcloud', ['storage', 'ls', 'gs://fk-gcloud/a/'], env)).toBe('gs://fk-gcloud/a/big.bin\n');
  }, 300_000);

  it('rclone: 1,100 objects listed across pages, a multi-MiB object, check', async () => {
    const conf = join(work, 'rclone-gcs.conf');
    writeFileSync(conf, `[g]\ntype = google cloud storage\nanonymous = true\nendpoint = ${gcs.endpoint}/storage/v1/\nproject_number = ${gcs.project}\n`);
    const renv = { RCLONE_CONFIG: conf };
    await run('rclone', ['mkdir', 'g:fk-rclone'], renv);
    await run('rclone', ['copy', '--transfers', '16', join(work, 'many'), 'g:fk-rclone/many'], renv);
    await run('rclone', ['copy', big, 'g:fk-rclone/x'], renv);
    expect((await run('rclone', ['lsf', 'g:fk-rclone/many'], renv)).trim().split('\n')).toHaveLength(1100);
    await run('rclone', ['check', join(work, 'many'), 'g:fk-rclone/many'], renv);
    await run('rclone', ['check', big, 'g:fk-rclone/x/'], renv);
  }, 300_000);
});

describe('npm run fake -- s3|gcs', () => {
  it.each(['s3', 'gcs'])('%s serves in the foreground, writes its .env and prints ready', async (kind) => {
    const dir = mkdtempSync(join(work, `fg-${kind}-`));
    const child = spawn('npm', ['run', 'fake', '--', kind, '--write-config', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    try {
      await waitFor(() => out.includes('ready'), 60_000, `${kind} fake ready`);
      const vars = Object.fromEntries(readFileSync(join(dir, `${kind}.env`), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
      if (kind === 's3') {
        await run('aws', ['s3', 'mb', 's3://fk-by-hand'], vars);
        expect(await run('aws', ['s3', 'ls'], vars)).toContain('fk-by-hand');
      } else {
        const e = { ...vars, CLOUDSDK_CONFIG: mkdtempSync(join(work, 'gcloud-fg-')) };
        await run('gcloud', ['storage', 'buckets', 'create', 'gs://fk-by-hand'], e);
        expect(await run('gsutil', ['ls'], e)).toContain('gs://fk-by-hand/');
      }
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
  }, 120_000);
});
