// BucketClient over the S3 API (AWS, R2 and the other S3-compatible stores) with @aws-sdk/client-s3.
import { createReadStream } from 'node:fs';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  AbortMultipartUploadCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import type { StoreAccess } from './access.js';
import { BucketAccessError, eachLimit, type BucketClient, type LocalFile } from './buckets.js';

const PART = 16 << 20;
const MULTIPART_OVER = 64 << 20;

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function denied(err: unknown): boolean {
  const s = status(err);
  const name = (err as Error).name;
  return s === 403 || s === 401 || /AccessDenied|Forbidden|SignatureDoesNotMatch|InvalidAccessKeyId/.test(name);
}

function describe(err: unknown): string {
  const e = err as Error;
  // HEAD answers have no body: the SDK then knows only the status
  if (!e.message || e.message === 'UnknownError' || e.name === 'Unknown') return `HTTP ${status(err) ?? '?'}`;
  return e.name && e.name !== 'Error' && !e.message.includes(e.name) ? `${e.name}: ${e.message}` : e.message;
}

export function s3BucketClient(access: StoreAccess): BucketClient {
  const client = new S3Client({
    region: access.region ?? 'us-east-1',
    ...(access.endpoint ? { endpoint: access.endpoint, forcePathStyle: true } : {}),
    ...(access.s3 ? { credentials: access.s3 } : {}),
    // S3-compatible stores (R2, MinIO, ...) mostly do not take the SDK's newer trailing checksums
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    followRegionRedirects: true,
    maxAttempts: 3,
  });

  const putOne = async (bucket: string, f: LocalFile) => {
    if (f.size <= MULTIPART_OVER) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: createReadStream(f.abs), ContentLength: f.size }));
      return;
    }
    const partSize = Math.max(PART, Math.ceil(f.size / 9000));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: f.key }));
    try {
      const parts: Array<{ PartNumber: number; ETag?: string }> = [];
      const numbers = Array.from({ length: Math.ceil(f.size / partSize) }, (_, i) => i);
      await eachLimit(numbers, 4, async (i) => {
        const start = i * partSize;
        const end = Math.min(f.size, start + partSize) - 1;
        const r = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key: f.key, UploadId, PartNumber: i + 1, Body: createReadStream(f.abs, { start, end }), ContentLength: end - start + 1 }),
        );
        parts[i] = { PartNumber: i + 1, ETag: r.ETag };
      });
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: f.key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: f.key, UploadId })).catch(() => undefined);
      throw err;
    }
  };

  return {
    async check(bucket, prefix) {
      let region: string | undefined;
      try {
        const h = await client.send(new HeadBucketCommand({ Bucket: bucket }));
        region = h.BucketRegion;
      } catch (err) {
        if (status(err) === 404 || (err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchBucket') return { exists: false };
        if (denied(err)) throw new BucketAccessError(`access denied (${describe(err)})`);
        throw new BucketAccessError(describe(err));
      }
      let hasObjects: boolean;
      try {
        const l = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix ? prefix : undefined, MaxKeys: 1 }));
        hasObjects = (l.KeyCount ?? l.Contents?.length ?? 0) > 0;
      } catch (err) {
        throw new BucketAccessError(denied(err) ? `cannot be listed with these credentials (${describe(err)})` : describe(err));
      }
      return { exists: true, hasObjects, ...(region ? { region } : {}) };
    },
    async isObject(bucket, key) {
      if (!key) return false;
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch {
        return false;
      }
    },
    async create(bucket) {
      const region = access.region;
      const constraint = !access.endpoint && region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {};
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket, ...constraint }));
      } catch (err) {
        if ((err as Error).name === 'BucketAlreadyOwnedByYou') return;
        if ((err as Error).name === 'BucketAlreadyExists') throw new BucketAccessError('the name is taken by someone else\'s bucket; choose another name');
        throw new BucketAccessError(describe(err));
      }
    },
    async upload(bucket, files, onProgress) {
      let done = 0;
      let bytes = 0;
      await eachLimit(files, 8, async (f) => {
        await putOne(bucket, f);
        done++;
        bytes += f.size;
        onProgress?.(done, bytes);
      });
    },
    async deleteBucket(bucket) {
      let token: string | undefined;
      try {
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
          // one request per object: DeleteObjects needs Content-MD5, which not every S3-compatible store takes from this SDK
          await eachLimit(page.Contents ?? [], 16, async (o) => {
            await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
          });
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } catch (err) {
        if (status(err) === 404 || (err as Error).name === 'NoSuchBucket') return;
        throw new BucketAccessError(describe(err));
      }
    },
    close() {
      client.destroy();
    },
  };
}
