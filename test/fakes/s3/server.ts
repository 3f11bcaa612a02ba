// A real S3-API server on loopback for tests and by hand: @20minutes/s3rver (the maintained fork of
// s3rver: SigV2/SigV4 checks, multipart uploads, ListObjectsV2 with continuation tokens, objects
// on disk). Two things are added so it answers as AWS would for aloft's purposes: credentials of
// its own per instance (a wrong secret is SignatureDoesNotMatch), and anonymous requests are
// AccessDenied (s3rver serves them), so a node that did not get the credentials fails as it would.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);

export interface S3Fake {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** where the objects live on disk */
  directory: string;
  /** environment for aws-cli, the AWS SDK and aloft's daemon */
  env: Record<string, string>;
  stop(): Promise<void>;
}

interface S3rverLike {
  middleware: unknown[];
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

export async function startS3Fake(opts: { port?: number; directory?: string; buckets?: string[] } = {}): Promise<S3Fake> {
  const S3rver = require('@20minutes/s3rver') as new (o: Record<string, unknown>) => S3rverLike;
  const { DUMMY_ACCOUNT } = require('@20minutes/s3rver/lib/models/account') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
  };
  const S3Error = require('@20minutes/s3rver/lib/models/error') as new (code: string, message: string) => Error;
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(20).toString('base64url');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const own = !opts.directory;
  const directory = opts.directory ?? mkdtempSync(join(tmpdir(), 'aloft-s3-'));
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    silent: true,
    directory,
    // path-style only: bucket names never become host names on 127.0.0.1
    vhostBuckets: false,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  // Before the router: s3rver checks any signature a request carries (a wrong secret fails), but
  // serves requests that carry none; AWS refuses those on a private bucket.
  server.middleware.splice(server.middleware.length - 1, 0, denyUnsigned(S3Error), signedBucketSlash);
  installListV2OverV1();
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const region = 'us-east-1';
  return {
    endpoint,
    port: addr.port,
    accessKeyId,
    secretAccessKey,
    region,
    directory,
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_DEFAULT_REGION: region,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_S3: endpoint,
    },
    async stop() {
      await server.close().catch(() => undefined);
      DUMMY_ACCOUNT.revokeAccessKey(accessKeyId);
      if (own) rmSync(directory, { recursive: true, force: true });
    },
  };
}

interface KoaCtx {
  get(h: string): string;
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  body: unknown;
}

function denyUnsigned(S3Error: new (code: string, message: string) => Error) {
  return (ctx: KoaCtx, next: () => Promise<void>) => {
    const signed = !!ctx.get('authorization') || 'X-Amz-Signature' in ctx.query || 'Signature' in ctx.query;
    if (!signed) throw new S3Error('AccessDenied', 'Access Denied');
    return next();
  };
}

/**
 * The JS SDK v3 signs bucket requests as `/bucket/`; s3rver rebuilds the signed path from the
 * route's params as `/bucket` and so refuses them (SignatureDoesNotMatch). Its virtual-host branch
 * builds `/bucket` + mount path, which gives back the slash.
 */
function signedBucketSlash(ctx: KoaCtx & { state: { vhost?: boolean }; mountPath?: string }, next: () => Promise<void>) {
  if (/^\/[^/]+\/$/.test(ctx.path)) {
    ctx.state.vhost = true;
    ctx.mountPath = '/';
  }
  return next();
}

interface ListResult {
  ListBucketResult: Record<string, unknown> & { Contents: Array<{ Key: string; Owner?: unknown }>; CommonPrefixes: Array<{ Prefix: string }>; IsTruncated: boolean };
}

/**
 * ListObjectsV2 through s3rver's V1 listing: s3rver's own V2 continuation tokens are DES-encrypted,
 * and Node 20's OpenSSL 3 has no DES, so every paged V2 listing fails with InternalError. The token
 * here is the last key (or common prefix) of the page, base64url-encoded; the answer has V2's shape.
 */
function installListV2OverV1(): void {
  // After authentication (which signs the query as sent): the bucket controller's GET handler,
  // which the router looks up on every call.
  const ctrl = require('@20minutes/s3rver/lib/controllers/bucket') as { getBucket: (ctx: KoaCtx) => Promise<void>; __aloftV2?: true };
  if (ctrl.__aloftV2) return;
  const v1 = ctrl.getBucket;
  ctrl.getBucket = (ctx) => listV2OverV1(ctx, () => v1(ctx));
  ctrl.__aloftV2 = true;
}

async function listV2OverV1(ctx: KoaCtx, next: () => Promise<void>): Promise<void> {
  const q = ctx.query;
  if (q['list-type'] !== '2') return next();
  const token = q['continuation-token'];
  const { 'list-type': _lt, 'continuation-token': _ct, 'start-after': startAfter, 'fetch-owner': fetchOwner, ...rest } = q;
  ctx.query = { ...rest, ...(token ? { marker: Buffer.from(token, 'base64url').toString() } : startAfter ? { marker: startAfter } : {}) };
  await next();
  const body = ctx.body as ListResult | undefined;
  if (!body?.ListBucketResult) return;
  const r = body.ListBucketResult;
  const last = [...r.Contents.map((c) => c.Key), ...r.CommonPrefixes.map((p) => p.Prefix)].sort().pop();
  const { Marker: _m, NextMarker: _n, ...kept } = r;
  ctx.body = {
    ListBucketResult: {
      ...kept,
      ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
      ...(r.IsTruncated && last ? { NextContinuationToken: Buffer.from(last).toString('base64url') } : {}),
      KeyCount: r.Contents.length + r.CommonPrefixes.length,
      Contents: fetchOwner === 'true' ? r.Contents : r.Contents.map(({ Owner: _o, ...c }) => c),
    },
  };
}

/** `npm run fake -- s3 [--write-config DIR]`: writes DIR/s3.env (the variables aws-cli and aloft read). */
export async function serveForeground(o: { fixture?: string; configDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }> {
  const s3 = await startS3Fake({ directory: join(o.configDir, 's3-data'), buckets: o.fixture ? o.fixture.split(',') : [] });
  const envFile = join(o.configDir, 's3.env');
  writeFileSync(envFile, Object.entries(s3.env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  return {
    lines: [
      `S3 API on ${s3.endpoint} (objects in ${s3.directory})`,
      `credentials and endpoint: ${envFile}  (set -a; . ${envFile}; set +a; aws s3 ls)`,
    ],
    stop: () => s3.stop(),
  };
}
