// rclone, the tool every node uses to reach buckets: the config file aloft writes on a node (one
// remote per store and region), and remote paths. Pure: the node steps are in node.ts.
import type { StoreAccess } from './access.js';

/** rclone's remote name for an access: the store, plus the region when a bucket lives elsewhere. */
export function remoteName(access: StoreAccess, region = access.region): string {
  const r = region && region !== access.region ? `-${region}` : '';
  return `aloft-${access.store.name}${r}`.replace(/[^A-Za-z0-9_-]/g, '-');
}

const PROVIDER: Record<string, string> = { s3: 'AWS', r2: 'Cloudflare' };

/** One `[remote]` section of rclone.conf. Holds credentials: written only to 0600 files on nodes. */
export function rcloneSection(access: StoreAccess, region = access.region): string {
  const lines = [`[${remoteName(access, region)}]`];
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== '') lines.push(`${k} = ${v.replace(/\n/g, '\\n')}`);
  };
  if (access.store.api === 's3') {
    set('type', 's3');
    // a custom endpoint on AWS's own store is some S3-compatible server
    set('provider', access.store.name === 's3' && access.endpoint ? 'Other' : (PROVIDER[access.store.name] ?? 'Other'));
    set('access_key_id', access.s3?.accessKeyId);
    set('secret_access_key', access.s3?.secretAccessKey);
    set('session_token', access.s3?.sessionToken);
    set('region', region);
    set('endpoint', access.endpoint);
    if (access.endpoint) set('force_path_style', 'true');
    // buckets are created by the daemon, never by a node
    set('no_check_bucket', 'true');
  } else {
    set('type', 'google cloud storage');
    const c = access.gcs;
    if (!c) set('anonymous', 'true');
    else if (c.type === 'service_account') set('service_account_credentials', c.json.replace(/\s*\n\s*/g, ' '));
    else {
      set('client_id', c.clientId);
      set('client_secret', c.clientSecret);
      set('token', JSON.stringify({ access_token: '', token_type: 'Bearer', refresh_token: c.refreshToken, expiry: '2000-01-01T00:00:00Z' }));
    }
    if (access.endpoint) set('endpoint', `${access.endpoint}/storage/v1/`);
    set('project_number', access.project);
    // uniform bucket-level access is GCS's default now; per-object ACLs would be refused
    set('bucket_policy_only', 'true');
  }
  return lines.join('\n') + '\n';
}

/** `remote:bucket/prefix` */
export function remotePath(remote: string, bucket: string, prefix: string): string {
  return `${remote}:${bucket}${prefix ? `/${prefix}` : ''}`;
}
