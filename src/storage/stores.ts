// The object stores aloft mounts and copies from, as SkyPilot names them: which `store:` names and
// URL schemes exist, how a bucket URL splits, and what a valid bucket name is. Pure and small: the
// task parser loads it (no SDK, no config).

/** How aloft talks to a store: the S3 API (AWS and the S3-compatible clouds) or GCS's JSON API. */
export type StoreApi = 's3' | 'gcs';

export interface StoreKind {
  /** the `store:` value, lower case */
  name: string;
  /** URL scheme without `://` */
  scheme: string;
  api: StoreApi;
}

/** Stores aloft supports. The S3-compatible ones other than s3 and r2 need an endpoint in config.yaml. */
export const STORES: readonly StoreKind[] = [
  { name: 's3', scheme: 's3', api: 's3' },
  { name: 'gcs', scheme: 'gs', api: 'gcs' },
  { name: 'r2', scheme: 'r2', api: 's3' },
  { name: 'nebius', scheme: 'nebius', api: 's3' },
  { name: 'coreweave', scheme: 'cw', api: 's3' },
  { name: 'vastdata', scheme: 'vastdata', api: 's3' },
  { name: 'oci', scheme: 'oci', api: 's3' },
];

/** SkyPilot store names aloft does not handle yet (a dry run warns, a launch refuses). */
export const UNSUPPORTED_STORES: Record<string, string> = {
  azure: 'Azure Blob Storage',
  ibm: 'IBM Cloud Object Storage',
  hf: 'Hugging Face buckets',
  volume: 'volume stores',
};

/** URL schemes SkyPilot accepts that aloft does not handle yet. */
export const UNSUPPORTED_SCHEMES: Record<string, string> = {
  https: 'Azure Blob (https://) sources are',
  cos: 'IBM COS (cos://) sources are',
  hf: 'Hugging Face (hf://) sources are',
};

export const STORE_NAMES = STORES.map((s) => s.name);

export function storeByName(name: string): StoreKind | undefined {
  const n = name.trim().toLowerCase();
  return STORES.find((s) => s.name === n);
}

export function storeByScheme(scheme: string): StoreKind | undefined {
  const s = scheme.toLowerCase();
  return STORES.find((k) => k.scheme === s);
}

const URL_RE = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;

/** `s3://bucket/a/b` → scheme, rest; undefined for a local path. */
export function splitUrl(text: string): { scheme: string; rest: string } | undefined {
  const m = URL_RE.exec(text.trim());
  return m ? { scheme: m[1]!.toLowerCase(), rest: m[2]! } : undefined;
}

export interface BucketRef {
  store: StoreKind;
  bucket: string;
  /** path inside the bucket without leading or trailing slashes; '' for the whole bucket */
  prefix: string;
}

/**
 * `s3://bucket/some/prefix` → its store, bucket and prefix. OCI's `oci://bucket@region` keeps
 * only the bucket (the region comes from the endpoint). Throws a message for the caller to position.
 */
export function parseBucketUrl(url: string): BucketRef {
  const u = splitUrl(url);
  if (!u) throw new Error(`'${url}' is not a bucket URL`);
  const store = storeByScheme(u.scheme);
  if (!store) throw new Error(`'${u.scheme}://' is not a store aloft knows (${STORES.map((s) => `${s.scheme}://`).join(', ')})`);
  const [head = '', ...rest] = u.rest.split('/');
  const bucket = store.name === 'oci' ? head.split('@')[0]! : head;
  if (!bucket) throw new Error(`'${url}' names no bucket`);
  return { store, bucket, prefix: rest.filter(Boolean).join('/') };
}

export function bucketUrl(store: StoreKind, bucket: string, prefix = ''): string {
  return `${store.scheme}://${bucket}${prefix ? `/${prefix}` : ''}`;
}

/** Why `name` cannot be a bucket name (S3's rules, which GCS's contain), or undefined. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'a bucket name has 3 to 63 characters';
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) {
    return 'a bucket name has lowercase letters, digits, dots, hyphens and underscores, and starts and ends with a letter or digit';
  }
  if (/\.\./.test(name) || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'a bucket name has no two dots in a row and is not an IP address';
  return undefined;
}
