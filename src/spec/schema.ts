// The raw task YAML shape, as SkyPilot users write it. Zod checks types and field names here;
// normalize*.ts turns a checked document into the Task model of types.ts. The same schemas
// produce the JSON Schema editors use (jsonschema.ts), so keep them free of transforms.
import { z } from 'zod';
import { MAX_NUM_NODES } from '../protocol/limits.js';
import { ServiceSchema } from './service-schema.js';
import { bool, ciEnum, int, msg, str } from './zod-helpers.js';

/** A SkyPilot field aloft accepts in the schema but refuses (or warns about) in unsupported.ts. */
const notYet = () => z.unknown().describe('SkyPilot field aloft does not support yet').optional();

// Patterns shared with the value parsers in values.ts.
// no regex flags: JSON Schema patterns cannot carry them
export { QUANTITY_RE, SIZE_RE, ENV_NAME_RE } from './patterns.js';
import { QUANTITY_RE, SIZE_RE } from './patterns.js';


const quantity = (unit: string) =>
  z
    .union([z.number(), z.string().regex(QUANTITY_RE, msg(`expected a number or "N+"`))], msg(`expected a number or "N+"`))
    .describe(`${unit}: N for exactly N, "N+" for at least N`);

const memory = z
  .union([z.number(), z.string().regex(SIZE_RE, msg(`expected a number of GB, "N+", or a size like "64GB"`))], msg(`expected a number of GB, "N+", or a size like "64GB"`))
  .describe('memory per node in GB: N, "N+" (at least), or with a unit, e.g. "64GB"');

const varValue = (flag: string) =>
  z
    .union([z.string(), z.number(), z.boolean(), z.null()], msg(`expected a string value (or nothing, to require ${flag})`))
    .describe(`value; leave empty to require it at launch with ${flag} KEY=VALUE`);

const accelerators = z
  .union(
    [
      z.string(),
      z.record(z.string(), z.union([z.number(), z.null()], msg('expected a count'))),
      z.array(z.string(msg('expected "NAME:COUNT"'))),
    ],
    msg('expected "NAME:COUNT", a mapping {NAME: COUNT}, or a list of "NAME:COUNT"'),
  )
  .describe('accelerators per node: "A100:8", "A100" (count 1), {A100: 8, H100: 8} (any of), ["H100:8", "A100:8"] (in order)');

const ports = z
  .union(
    [int('a port number'), z.string(), z.array(z.union([z.number().int(), z.string()], msg('expected a port or a range'))), z.null()],
    msg('expected a port, a range "10000-10010", or a list of them'),
  )
  .describe('ports to open: 8080, "10000-10010", or a list');

const autostop = z
  .union(
    [
      z.boolean(),
      z.number(),
      z.string(),
      z.strictObject({
        idle_minutes: int('a whole number of minutes').optional(),
        down: bool().optional(),
        wait_for: ciEnum(['jobs_and_ssh', 'jobs', 'none'], 'expected jobs_and_ssh, jobs or none').optional(),
        hook: str().optional(),
        hook_timeout: int('a whole number of seconds').optional(),
      }),
    ],
    msg('expected true/false, minutes (10, "10m", "1h"), or {idle_minutes, down}'),
  )
  .describe('stop (or with down: true, tear down) the cluster after this long idle');

const jobRecovery = z
  .union(
    [
      z.string(),
      z.null(),
      z.strictObject({
        strategy: z.union([z.string(), z.null()], msg('expected FAILOVER or EAGER_NEXT_REGION')).optional(),
        max_restarts_on_errors: int('a whole number').min(0, msg('expected 0 or more')).optional(),
        recover_on_exit_codes: z
          .union([z.number().int(), z.array(z.number(msg('expected an exit code')).int(msg('expected an exit code')))], msg('expected an exit code or a list of exit codes'))
          .optional(),
      }),
    ],
    msg('expected a strategy name or {strategy, max_restarts_on_errors, recover_on_exit_codes}'),
  )
  .describe('managed-job recovery: FAILOVER or EAGER_NEXT_REGION, or an object');

/** Fields of one resources candidate (the top `resources:` minus any_of/ordered, or an item of them). */
export const candidateShape = {
  infra: str('an infra like aws/us-east-1, k8s/CONTEXT, ssh/POOL or local')
    .describe('where to run: local, ssh/POOL, k8s/CONTEXT, aws, aws/us-east-1, aws/us-east-1/us-east-1a, */us-east-1')
    .optional(),
  cloud: str('a cloud name').describe('legacy: use infra').optional(),
  region: str('a region name').describe('legacy: use infra').optional(),
  zone: str('a zone name').describe('legacy: use infra').optional(),
  accelerators: accelerators.optional(),
  gpus: accelerators.describe('same as accelerators').optional(),
  accelerator_args: z
    .strictObject({
      runtime_version: str().optional(),
      tpu_name: str().optional(),
      tpu_vm: bool().optional(),
      gcp_queued_resource: bool().optional(),
    })
    .describe('TPU settings')
    .optional(),
  cpus: quantity('vCPUs per node').optional(),
  memory: memory.optional(),
  instance_type: str('an instance type name').optional(),
  use_spot: bool().describe('use spot/preemptible instances').optional(),
  disk_size: z
    .union(
      [int('a whole number of GB'), z.string().regex(SIZE_RE, msg('expected a whole number of GB or a size like "256GB"'))],
      msg('expected a whole number of GB or a size like "256GB"'),
    )
    .describe('OS disk size in GB')
    .optional(),
  disk_tier: ciEnum(['low', 'medium', 'high', 'ultra', 'best'], 'expected low, medium, high, ultra or best').optional(),
  network_tier: ciEnum(['standard', 'best'], 'expected standard or best').optional(),
  ports: ports.optional(),
  image_id: z
    .union([z.string(), z.record(z.string(), z.string()), z.null()], msg('expected an image id or a mapping {REGION: IMAGE_ID}'))
    .optional(),
  labels: z.record(z.string(), z.string(msg('expected a string (quote numbers and booleans)')), msg('expected a mapping of labels')).optional(),
  autostop: autostop.optional(),
  job_recovery: jobRecovery.optional(),
  spot_recovery: jobRecovery.describe('legacy: use job_recovery').optional(),
  // SkyPilot fields aloft accepts but cannot honour yet (see unsupported.ts)
  container_image: notYet(),
  volumes: notYet(),
  priority: notYet(),
  priority_class: notYet(),
  max_hourly_cost: notYet(),
  ephemeral_storage: notYet(),
  local_disk: notYet(),
};

export const CandidateSchema = z.strictObject(candidateShape, msg('expected a mapping of resource fields'));

export const ResourcesSchema = z
  .strictObject(
    {
      ...candidateShape,
      any_of: z
        .array(CandidateSchema, msg('expected a list of resource mappings'))
        .describe('candidates merged over the fields above; the cheapest available wins')
        .optional(),
      ordered: z
        .array(CandidateSchema, msg('expected a list of resource mappings'))
        .describe('candidates merged over the fields above; tried in this order')
        .optional(),
    },
    msg('expected a mapping of resource fields'),
  )
  .describe('per-node resource requirements');

const rcloneSize = () => z.union([z.string(), z.number()], msg('expected a size like "10G"'));
const MountCachedSchema = z.strictObject(
  {
    transfers: int('a whole number').min(1, msg('expected 1 or more')).optional(),
    buffer_size: rcloneSize().optional(),
    vfs_cache_max_size: rcloneSize().optional(),
    vfs_cache_max_age: str('a duration like "1h"').optional(),
    vfs_read_ahead: rcloneSize().optional(),
    vfs_read_chunk_size: rcloneSize().optional(),
    vfs_read_chunk_streams: int('a whole number').min(0, msg('expected 0 or more')).optional(),
    vfs_write_back: str('a duration like "5s"').optional(),
    read_only: bool().optional(),
  },
  msg('expected a mapping of MOUNT_CACHED settings'),
);

export const StorageConfigSchema = z.strictObject(
  {
    mount_cached: MountCachedSchema.describe('rclone VFS cache settings for mode: MOUNT_CACHED').optional(),
    mount: z.strictObject({ read_only: bool().optional() }, msg('expected {read_only: true|false}')).optional(),
    // volume settings in SkyPilot's schema; accepted, not used by bucket mounts
    disk_size: z.unknown().optional(),
    disk_tier: z.unknown().optional(),
    storage_type: z.unknown().optional(),
    attach_mode: z.unknown().optional(),
  },
  msg('expected a mapping of storage settings'),
);

export const StorageMountSchema = z.strictObject(
  {
    name: z.union([z.string(), z.null()], msg('expected a bucket name')).describe('bucket to create or use').optional(),
    source: z
      .union([z.string(), z.array(z.string(msg('expected a local path'))), z.null()], msg('expected a path or bucket URL'))
      .describe('a bucket URL (s3://, gs://, r2://, ...), a local directory, or a list of local paths')
      .optional(),
    store: z.union([z.string(), z.null()], msg('expected a store name like s3 or gcs')).describe('s3, gcs, r2, nebius, coreweave, vastdata, oci').optional(),
    mode: z.union([z.string(), z.null()], msg('expected MOUNT, COPY or MOUNT_CACHED')).describe('MOUNT (default), COPY or MOUNT_CACHED').optional(),
    persistent: bool().describe('keep a bucket aloft created after down (default true)').optional(),
    type: z.union([z.string(), z.null()], msg('expected MODEL_CHECKPOINT_RO, MODEL_CHECKPOINT_RW, DATASET_RO or DATASET_RW')).optional(),
    config: StorageConfigSchema.optional(),
    _bucket_sub_path: z.string().optional(),
    _is_sky_managed: z.boolean().optional(),
    _force_delete: z.boolean().optional(),
  },
  msg('expected a local path, a bucket URL, or a storage mapping'),
);

export const taskShape = {
  name: str().describe('task name').optional(),
  workdir: z
    .union(
      [z.string(), z.strictObject({ url: str('a git URL'), ref: str('a branch, tag or commit').optional() }, msg('expected {url, ref}'))],
      msg('expected a directory path or a git repository {url, ref}'),
    )
    .describe('local directory synced (or a git repository {url, ref} cloned) to ~/sky_workdir on every node; setup and run start there')
    .optional(),
  num_nodes: int('a whole number of nodes')
    .min(1, msg('expected 1 or more nodes'))
    .max(MAX_NUM_NODES, msg(`expected at most ${MAX_NUM_NODES} nodes (the limit)`))
    .describe('number of nodes')
    .optional(),
  resources: ResourcesSchema.optional(),
  envs: z
    .record(z.string(), varValue('--env'), msg('expected a mapping of environment variables'))
    .describe('environment variables for setup and run; also substituted into workdir and file_mounts')
    .optional(),
  secrets: z
    .union([z.record(z.string(), varValue('--secret')), z.array(z.string())], msg('expected a mapping of secret environment variables'))
    .describe('like envs, but never stored or printed; empty values require --secret KEY=VALUE')
    .optional(),
  file_mounts: z
    .record(
      z.string(),
      z.union([z.string(), StorageMountSchema], msg('expected a local path, a bucket URL, or a storage mapping')),
      msg('expected a mapping of REMOTE_PATH: LOCAL_PATH'),
    )
    .describe('REMOTE_PATH: LOCAL_PATH (copied to every node), REMOTE_PATH: BUCKET_URL (copied), or REMOTE_PATH: {name, source, store, mode, persistent} (a bucket)')
    .optional(),
  setup: z.union([z.string(), z.null()], msg('expected a string (use | for several lines)')).describe('commands run once per launch, before run').optional(),
  run: z.union([z.string(), z.null()], msg('expected a string (use | for several lines)')).describe('commands run on every node').optional(),
  config: z.record(z.string(), z.unknown(), msg('expected a mapping')).describe('per-task config overrides').optional(),
  inputs: z.record(z.string(), z.number(), msg('expected {PATH: GB}')).describe('ignored (SkyPilot optimizer hint)').optional(),
  outputs: z.record(z.string(), z.number(), msg('expected {PATH: GB}')).describe('ignored (SkyPilot optimizer hint)').optional(),
  service: ServiceSchema.optional(),
  // SkyPilot fields aloft accepts but cannot honour yet (see unsupported.ts)
  pool: notYet(),
  volumes: notYet(),
  volume_mounts: notYet(),
  event_callback: notYet(),
  experimental: notYet(),
  managed_secrets: notYet(),
  api_server_access: notYet(),
  file_mounts_mapping: notYet(),
  execution: notYet(),
};

export const TaskSchema = z.strictObject(taskShape, msg('expected a mapping of task fields')).describe('aloft / SkyPilot task');

export type RawCandidate = z.infer<typeof CandidateSchema>;
export type RawResources = z.infer<typeof ResourcesSchema>;
export type RawStorageMount = z.infer<typeof StorageMountSchema>;
export type RawTask = z.infer<typeof TaskSchema>;

export const TASK_KEYS = Object.keys(taskShape);
export const CANDIDATE_KEYS = Object.keys(candidateShape);
export const RESOURCE_KEYS = [...CANDIDATE_KEYS, 'any_of', 'ordered'];
export const STORAGE_KEYS = ['name', 'source', 'store', 'mode', 'persistent', 'type', 'config'];
export const STORAGE_CONFIG_KEYS = Object.keys(StorageConfigSchema.shape);
export const MOUNT_CACHED_KEYS = Object.keys(MountCachedSchema.shape);
export const AUTOSTOP_KEYS = ['idle_minutes', 'down', 'wait_for', 'hook', 'hook_timeout'];
export const JOB_RECOVERY_KEYS = ['strategy', 'max_restarts_on_errors', 'recover_on_exit_codes'];
export const ACCELERATOR_ARGS_KEYS = ['runtime_version', 'tpu_name', 'tpu_vm', 'gcp_queued_resource'];
export const WORKDIR_KEYS = ['url', 'ref'];
