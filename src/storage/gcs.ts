// BucketClient over GCS's JSON API with @google-cloud/storage.
import { Storage } from '@google-cloud/storage';
import type { StoreAccess } from './access.js';
import { BucketAccessError, eachLimit, type BucketClient } from './buckets.js';

function code(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

function describe(err: unknown): string {
  return (err as Error).message.split('\n')[0] ?? String(err);
}

export function gcsBucketClient(access: StoreAccess): BucketClient {
  const c = access.gcs;
  const credentials =
    c?.type === 'service_account'
      ? (JSON.parse(c.json) as Record<string, string>)
      : c
        ? { type: 'authorized_user', client_id: c.clientId, client_secret: c.clientSecret, refresh_token: c.refreshToken }
        : undefined;
  // The SDK takes STORAGE_EMULATOR_HOST, when set, as its whole base URL (.../storage/v1), while
  // the Go and Python clients (and aloft, access.ts) read it as a host: the resolved endpoint wins.
  const emulator = process.env.STORAGE_EMULATOR_HOST;
  delete process.env.STORAGE_EMULATOR_HOST;
  const storage = new Storage({
    ...(access.endpoint ? { apiEndpoint: access.endpoint } : {}),
    ...(access.project ? { projectId: access.project } : {}),
    ...(credentials ? { credentials } : {}),
    // an emulator endpoint without credentials is reached without auth
    ...(access.endpoint && credentials ? { useAuthWithCustomEndpoint: true } : {}),
    retryOptions: { maxRetries: 2 },
  });
  if (emulator !== undefined) process.env.STORAGE_EMULATOR_HOST = emulator;

  return {
    async check(bucket, prefix) {
      const b = storage.bucket(bucket);
      try {
        const [exists] = await b.exists();
        if (!exists) return { exists: false };
        const [files] = await b.getFiles({ prefix: prefix || undefined, maxResults: 1, autoPaginate: false });
        return { exists: true, hasObjects: files.length > 0 };
      } catch (err) {
        const s = code(err);
        throw new BucketAccessError(s === 403 || s === 401 ? `access denied (${describe(err)})` : describe(err));
      }
    },
    async isObject(bucket, key) {
      if (!key) return false;
      try {
        const [exists] = await storage.bucket(bucket).file(key).exists();
        return exists;
      } catch {
        return false;
      }
    },
    async create(bucket) {
      try {
        await storage.createBucket(bucket);
      } catch (err) {
        if (code(err) === 409) {
          const [exists] = await storage.bucket(bucket).exists().catch(() => [false]);
          if (exists) return; // ours already (a 409 for someone else's reads as not ours below)
          throw new BucketAccessError("the name is taken by someone else's bucket; choose another name");
        }
        throw new BucketAccessError(describe(err));
      }
    },
    async upload(bucket, files, onProgress) {
      const b = storage.bucket(bucket);
      let done = 0;
      let bytes = 0;
      await eachLimit(files, 8, async (f) => {
        await b.upload(f.abs, { destination: f.key, resumable: f.size > 8 << 20, validation: 'crc32c' });
        done++;
        bytes += f.size;
        onProgress?.(done, bytes);
      });
    },
    async deleteBucket(bucket) {
      const b = storage.bucket(bucket);
      try {
        const [exists] = await b.exists();
        if (!exists) return;
        let pageToken: string | undefined;
        do {
          const [files, next] = await b.getFiles({ autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) });
          await eachLimit(files, 16, async (f) => {
            await f.delete({ ignoreNotFound: true });
          });
          pageToken = (next as { pageToken?: string } | null)?.pageToken;
        } while (pageToken);
        await b.delete({ ignoreNotFound: true });
      } catch (err) {
        if (code(err) === 404) return;
        throw new BucketAccessError(describe(err));
      }
    },
    close() {},
  };
}
