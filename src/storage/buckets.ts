// What the daemon itself does with buckets, through the cloud SDKs (loaded only when a task has a
// bucket): check one exists and can be read, create one, upload a local source into it, delete it.
// The nodes never go through here: they reach buckets with rclone (node.ts).
import type { StoreAccess } from './access.js';

export interface LocalFile {
  /** object key */
  key: string;
  abs: string;
  size: number;
}

export interface BucketState {
  exists: boolean;
  /** the bucket's region when the store has regions (AWS) */
  region?: string;
  /** there is at least one object under the prefix */
  hasObjects?: boolean;
}

export interface BucketClient {
  /** Does the bucket exist, and can these credentials list it (under `prefix`)? Throws BucketAccessError when not readable. */
  check(bucket: string, prefix: string): Promise<BucketState>;
  /** Is `key` one object (not a prefix)? */
  isObject(bucket: string, key: string): Promise<boolean>;
  create(bucket: string): Promise<void>;
  upload(bucket: string, files: LocalFile[], onProgress?: (done: number, bytes: number) => void): Promise<void>;
  /** Deletes every object, then the bucket; a bucket already gone is fine. */
  deleteBucket(bucket: string): Promise<void>;
  close(): void;
}

/** The bucket exists but these credentials may not read it (or the store refused for another reason). */
export class BucketAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BucketAccessError';
  }
}

export async function bucketClient(access: StoreAccess): Promise<BucketClient> {
  if (access.store.api === 's3') return (await import('./s3.js')).s3BucketClient(access);
  return (await import('./gcs.js')).gcsBucketClient(access);
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
