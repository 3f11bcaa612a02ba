// Normalized task model: what the YAML parser produces and what the optimizer, daemon and agents
// consume. The raw YAML shape (SkyPilot's schema) lives in schema.ts; this is the shape after
// defaults, shorthand expansion (e.g. "A100:8") and infra/cloud/region merging.

/** A numeric requirement: `4` means exactly 4, `4+` means at least 4. */
export interface Quantity {
  value: number;
  atLeast: boolean;
}

/** One accelerator choice, e.g. A100 x 8. `name` is as written; the optimizer canonicalizes it. */
export interface AcceleratorRequest {
  name: string;
  count: number;
}

/**
 * Where to run. Parsed from `infra: aws/us-east-1/us-east-1a`, `k8s/CONTEXT`, `ssh/POOL`, `local`,
 * `*\/REGION`, or legacy `cloud`/`region`/`zone`. Undefined parts mean "any".
 */
export interface InfraSelector {
  /** local | ssh | kubernetes | aws | gcp | azure | lambda | ... ; undefined or '*' = any */
  cloud?: string;
  /** region, or the pool for ssh, or the context for kubernetes */
  region?: string;
  zone?: string;
}

export type JobRecoveryStrategy = 'EAGER_NEXT_REGION' | 'FAILOVER';

export interface JobRecovery {
  strategy?: JobRecoveryStrategy;
  maxRestartsOnErrors: number;
  recoverOnExitCodes: number[];
}

export interface AutostopSpec {
  /** -1 = autostop explicitly off (`autostop: false`) */
  idleMinutes: number;
  down: boolean;
  /** what counts as activity (SkyPilot's wait_for); undefined = the default, jobs_and_ssh */
  waitFor?: 'jobs_and_ssh' | 'jobs' | 'none';
}

/** One candidate set of resources (after expanding any_of / ordered each candidate is one of these). */
export interface ResourcesSpec {
  infra: InfraSelector;
  cpus?: Quantity;
  memory?: Quantity;
  /**
   * alternatives: any of these satisfies the request (from `{A100: 8, H100: 8}`). A YAML list
   * (`[H100:8, A100:8]`, "try in order") becomes `ordered` candidates with one accelerator each.
   */
  accelerators?: AcceleratorRequest[];
  /** TPU settings (SkyPilot's accelerator_args), kept as given */
  acceleratorArgs?: Record<string, unknown>;
  instanceType?: string;
  useSpot: boolean;
  diskSize?: number;
  diskTier?: string;
  /** 'standard' | 'best' (lower-cased); a best-effort hint */
  networkTier?: string;
  ports: string[];
  imageId?: string | Record<string, string>;
  labels: Record<string, string>;
  autostop?: AutostopSpec;
  jobRecovery?: JobRecovery;
}

/** Resource candidates: `any_of` (cheapest wins) or `ordered` (first with an offering wins). */
export interface ResourcesChoice {
  mode: 'single' | 'any_of' | 'ordered';
  candidates: ResourcesSpec[];
}

export interface LocalFileMount {
  kind: 'local';
  /** absolute destination path on the node (a leading ~/ is relative to the node's home) */
  dest: string;
  /** absolute source path on this machine */
  source: string;
}

export type StorageMode = 'MOUNT' | 'COPY' | 'MOUNT_CACHED';

/**
 * A bucket in file_mounts (SkyPilot's storage): `/data: s3://bucket/path` (copied), or
 * `{source, name, store, mode, persistent, config}`.
 */
export interface StorageFileMount {
  kind: 'storage';
  /** where it lands on every node: an absolute path, or `~/...` */
  dest: string;
  mode: StorageMode;
  /** store name (s3, gcs, r2, ...); undefined: `name:` without `store:`, chosen at launch */
  store?: string;
  bucket: string;
  /** path inside the bucket, '' for all of it */
  prefix: string;
  /**
   * local paths aloft uploads into the bucket before the nodes see it: one directory's contents
   * (`source: ./dir`), or each path under its own name (`source: [./a, ./b.txt]`)
   */
  upload?: { paths: string[]; list: boolean };
  /** the bucket was named (`name:`): aloft creates it when it does not exist */
  named: boolean;
  /** keep a bucket aloft created when the cluster goes down (SkyPilot's default: true) */
  persistent: boolean;
  /** `DEST: s3://bucket/key`: a plain copy, of one object (a file at DEST) or of a prefix */
  shorthand: boolean;
  readOnly: boolean;
  /** MOUNT_CACHED tuning (SkyPilot's config.mount_cached and `type:` presets), as rclone flags */
  rcloneFlags: string[];
  /** `file:line:col` of the mount in the YAML, for problems found at launch */
  where?: string;
}

/** `workdir: {url, ref}`: a git repository cloned into ~/sky_workdir on every node. */
export interface GitWorkdir {
  url: string;
  /** branch, tag or commit; the remote's default branch when unset */
  ref?: string;
}

export interface Task {
  name?: string;
  /** absolute path on this machine, or undefined */
  workdir?: string;
  gitWorkdir?: GitWorkdir;
  numNodes: number;
  resources: ResourcesChoice;
  /** envs with every value resolved (null values must be supplied with --env) */
  envs: Record<string, string>;
  /** secrets: injected into setup/run, never stored or printed */
  secrets: Record<string, string>;
  fileMounts: LocalFileMount[];
  /** bucket mounts (absent when there are none) */
  storageMounts?: StorageFileMount[];
  setup?: string;
  run?: string;
  /** per-task config overrides (SkyPilot's `config:`), kept as given */
  config?: Record<string, unknown>;
  /** where the task came from, for messages */
  source?: string;
}

/** A pipeline: multi-document YAML, each task depending on the previous. */
export interface TaskChain {
  name?: string;
  tasks: Task[];
  /**
   * With ParseOptions.allowUnsupported (dry runs): one `file:line:col: ...` line per feature aloft
   * cannot honour yet and left out of the tasks. Without it those features are errors.
   */
  warnings?: string[];
}
