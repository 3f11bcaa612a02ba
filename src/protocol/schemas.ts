// The daemon API's parameters, as zod schemas: the one definition of what each method takes.
// The TypeScript types of api.ts (and the normalized Task model of spec/types.ts) are inferred
// from these, and the daemon checks every call against them before it acts (server.ts), so a
// client cannot get past a check its own types promised. Only the daemon loads this module at
// run time; the CLI imports its types alone (zod stays off the CLI's start-up path).
import { z } from 'zod';
import { CLUSTER_NAME, CLUSTER_NAME_RULE } from '../util/names.js';
import { MAX_CANDIDATES, MAX_DOCUMENTS, MAX_ENVS, MAX_NUM_NODES } from './limits.js';

const bool = () => z.boolean({ error: 'expected true or false' });
const str = (what = 'a string') => z.string({ error: `expected ${what}` });
const count = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(min, { error: `expected ${what} of at least ${min}` })
    .max(max, { error: `expected ${what} of at most ${max}` });
const finite = (what: string) => z.number({ error: `expected ${what}` }).refine(Number.isFinite, { error: `expected ${what}` });
const list = <T extends z.ZodType>(item: T, what: string, max = 10_000) =>
  z.array(item, { error: `expected a list of ${what}` }).max(max, { error: `at most ${max} ${what}` });

export const ClusterName = z
  .string({ error: 'expected a cluster name' })
  .regex(CLUSTER_NAME, { error: `invalid cluster name (${CLUSTER_NAME_RULE})` });
/** A name to look up (status filters, logs of a removed cluster): any short string. */
const ClusterRef = str('a cluster name').max(100, { error: 'expected a cluster name' });
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envMap = (what: string) =>
  z
    .record(z.string().regex(ENV_NAME, { error: 'names are letters, digits and _, not starting with a digit' }), str('a string value'), {
      error: `expected a mapping of ${what}`,
    })
    .refine((m) => Object.keys(m).length <= MAX_ENVS, { error: `more than ${MAX_ENVS} ${what} (the limit)` });

/** Idempotency key of a launch or exec, chosen by the client: a retry with the same one is the same call. */
export const RequestIdSchema = z
  .string({ error: 'expected a request id' })
  .regex(/^[a-z]+-[0-9a-f]{8,32}$/, { error: 'expected a request id like launch-0a1b2c3d' });

// ---- the normalized task model (spec/types.ts infers its types from these) ----

/** `4` means exactly 4, `4+` means at least 4. */
export const QuantitySchema = z.strictObject({ value: finite('a number').refine((v) => v >= 0, { error: 'expected a number ≥ 0' }), atLeast: bool() });

/** One accelerator choice, e.g. A100 x 8; `name` is as written (the optimizer canonicalizes it). */
export const AcceleratorRequestSchema = z.strictObject({ name: str('an accelerator name'), count: finite('a count').refine((v) => v > 0, { error: 'expected a count > 0' }) });

/** Where to run; undefined parts mean "any". */
export const InfraSelectorSchema = z.strictObject({
  /** local | ssh | kubernetes | aws | gcp | azure | lambda | ... ; undefined or '*' = any */
  cloud: str().optional(),
  /** region, or the pool for ssh, or the context for kubernetes */
  region: str().optional(),
  zone: str().optional(),
});

export const JobRecoveryStrategySchema = z.enum(['EAGER_NEXT_REGION', 'FAILOVER'], { error: 'expected EAGER_NEXT_REGION or FAILOVER' });

export const JobRecoverySchema = z.strictObject({
  strategy: JobRecoveryStrategySchema.optional(),
  maxRestartsOnErrors: count('a number of restarts', 0),
  recoverOnExitCodes: list(count('an exit code', 0, 255), 'exit codes', 256),
});

export const AutostopSpecSchema = z.strictObject({
  /** -1 = autostop explicitly off (`autostop: false`) */
  idleMinutes: finite('a number of minutes').refine((v) => v >= -1, { error: 'expected minutes ≥ 0 (or -1: off)' }),
  down: bool(),
  /** what counts as activity (SkyPilot's wait_for); undefined = the default, jobs_and_ssh */
  waitFor: z.enum(['jobs_and_ssh', 'jobs', 'none']).optional(),
});

/** One candidate set of resources (after expanding any_of / ordered each candidate is one of these). */
export const ResourcesSpecSchema = z.strictObject({
  infra: InfraSelectorSchema,
  cpus: QuantitySchema.optional(),
  memory: QuantitySchema.optional(),
  /**
   * alternatives: any of these satisfies the request (from `{A100: 8, H100: 8}`). A YAML list
   * (`[H100:8, A100:8]`, "try in order") becomes `ordered` candidates with one accelerator each.
   */
  accelerators: list(AcceleratorRequestSchema, 'accelerators', MAX_CANDIDATES).optional(),
  /** TPU settings (SkyPilot's accelerator_args), kept as given */
  acceleratorArgs: z.record(z.string(), z.unknown()).optional(),
  instanceType: str().optional(),
  useSpot: bool(),
  diskSize: finite('a size in GB').optional(),
  diskTier: str().optional(),
  /** 'standard' | 'best' (lower-cased); a best-effort hint */
  networkTier: str().optional(),
  ports: list(str('a port or range'), 'ports', 1000),
  imageId: z.union([str(), z.record(z.string(), z.string())], { error: 'expected an image id or {REGION: IMAGE_ID}' }).optional(),
  labels: z.record(z.string(), z.string(), { error: 'expected a mapping of labels' }),
  autostop: AutostopSpecSchema.optional(),
  jobRecovery: JobRecoverySchema.optional(),
});

/** Resource candidates: `any_of` (cheapest wins) or `ordered` (first with an offering wins). */
export const ResourcesChoiceSchema = z.strictObject({
  mode: z.enum(['single', 'any_of', 'ordered'], { error: 'expected single, any_of or ordered' }),
  candidates: list(ResourcesSpecSchema, 'resource candidates', MAX_CANDIDATES).min(1, { error: 'expected at least one resource candidate' }),
});

/**
 * A path on the machine that runs the daemon, or (team mode) `upload://ID[/FILE]`: files a remote
 * client sent first as a tar stream (daemon/team/uploads.ts resolves it for the caller).
 */
const localPath = (what: string) =>
  str(what).refine((v) => v.startsWith('/') || v.startsWith('upload://'), { error: `expected ${what.replace(/^an? /, 'an absolute ')}` });

export const LocalFileMountSchema = z.strictObject({
  kind: z.literal('local', { error: 'expected local' }),
  /** absolute destination path on the node (a leading ~/ is relative to the node's home) */
  dest: str('a destination path').min(1, { error: 'expected a destination path' }),
  /** absolute source path on this machine */
  source: localPath('a source path'),
});

export const StorageModeSchema = z.enum(['MOUNT', 'COPY', 'MOUNT_CACHED'], { error: 'expected MOUNT, COPY or MOUNT_CACHED' });

/**
 * A bucket in file_mounts (SkyPilot's storage): `/data: s3://bucket/path` (copied), or
 * `{source, name, store, mode, persistent, config}`.
 */
export const StorageFileMountSchema = z.strictObject({
  kind: z.literal('storage', { error: 'expected storage' }),
  /** where it lands on every node: an absolute path, or `~/...` */
  dest: str('a destination path').min(1, { error: 'expected a destination path' }),
  mode: StorageModeSchema,
  /** store name (s3, gcs, r2, ...); undefined: `name:` without `store:`, chosen at launch */
  store: str('a store name').optional(),
  bucket: str('a bucket name').min(1, { error: 'expected a bucket name' }).max(255),
  /** path inside the bucket, '' for all of it */
  prefix: str('a path in the bucket'),
  /**
   * local paths aloft uploads into the bucket before the nodes see it: one directory's contents
   * (`source: ./dir`), or each path under its own name (`source: [./a, ./b.txt]`)
   */
  upload: z.strictObject({ paths: list(localPath('a source path'), 'source paths', 1000), list: bool() }).optional(),
  /** the bucket was named (`name:`): aloft creates it when it does not exist */
  named: bool(),
  /** keep a bucket aloft created when the cluster goes down (SkyPilot's default: true) */
  persistent: bool(),
  /** `DEST: s3://bucket/key`: a plain copy, of one object (a file at DEST) or of a prefix */
  shorthand: bool(),
  readOnly: bool(),
  /** MOUNT_CACHED tuning (SkyPilot's config.mount_cached and `type:` presets), as rclone flags */
  rcloneFlags: list(str('an rclone flag'), 'rclone flags', 100),
  /** `file:line:col` of the mount in the YAML, for problems found at launch */
  where: str().optional(),
});

/** `workdir: {url, ref}`: a git repository cloned into ~/sky_workdir on every node. */
export const GitWorkdirSchema = z.strictObject({
  url: str('a git URL').min(1, { error: 'expected a git URL' }).max(4096),
  /** branch, tag or commit; the remote's default branch when unset */
  ref: str('a git ref').max(1024).optional(),
});

export const LoadBalancingPolicySchema = z.enum(['round_robin', 'least_load', 'instance_aware_least_load'], {
  error: 'expected round_robin, least_load or instance_aware_least_load',
});

const seconds = (what: string) => finite(what).refine((v) => v >= 0, { error: `expected ${what} ≥ 0` });

/** How the controller tells a replica is ready (SkyServe's readiness_probe). */
export const ReadinessProbeSchema = z.strictObject({
  /** HTTP path, starting with / */
  path: str('a path').startsWith('/', { error: 'expected a path starting with /' }).max(4096),
  /** a new replica may take this long to pass its first probe */
  initialDelaySeconds: seconds('a number of seconds'),
  timeoutSeconds: seconds('a number of seconds'),
  /** seconds between probes */
  intervalSeconds: seconds('a number of seconds'),
  /** a READY replica failing its probe this long is replaced */
  failureThresholdSeconds: seconds('a number of seconds'),
  /** probe with POST and this JSON body */
  postData: z.unknown().optional(),
  headers: z.record(z.string(), str('a header value'), { error: 'expected a mapping of headers' }).optional(),
});

/** SkyServe's `service:` section, defaults applied (src/spec/service.ts). */
export const ServiceSpecSchema = z.strictObject({
  readiness: ReadinessProbeSchema,
  minReplicas: count('a number of replicas', 0),
  /** autoscaling ceiling; equals minReplicas when the count is fixed */
  maxReplicas: count('a number of replicas', 0),
  /** requests per second one replica takes; a map is per accelerator (instance_aware_least_load) */
  targetQpsPerReplica: z
    .union([finite('a number of requests per second'), z.record(z.string(), finite('a number of requests per second'))], {
      error: 'expected a number or {ACCELERATOR: NUMBER}',
    })
    .optional(),
  numOverprovision: count('a number of replicas', 0).optional(),
  upscaleDelaySeconds: seconds('a number of seconds'),
  downscaleDelaySeconds: seconds('a number of seconds'),
  baseOndemandFallbackReplicas: count('a number of replicas', 0).optional(),
  dynamicOndemandFallback: bool().optional(),
  spotPlacer: str().optional(),
  /** as written; undefined means the default (least_load) */
  loadBalancingPolicy: LoadBalancingPolicySchema.optional(),
  /** service.ports as written; without it replicas serve on the one port in resources.ports (servicePort) */
  port: count('a port', 1, 65535).optional(),
  /** absolute paths on this machine */
  tls: z
    .strictObject({
      keyfile: str('a key file').startsWith('/', { error: 'expected an absolute path' }),
      certfile: str('a certificate file').startsWith('/', { error: 'expected an absolute path' }),
    })
    .optional(),
  /** longest a proxied response may take */
  streamTimeoutSeconds: seconds('a number of seconds'),
  /** the section as written (what `y` and `serve status -v` show) */
  raw: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }),
});

export const TaskModelSchema = z.strictObject({
  name: str().optional(),
  /** absolute path on this machine, or undefined */
  workdir: localPath('a directory path').optional(),
  gitWorkdir: GitWorkdirSchema.optional(),
  numNodes: count('a number of nodes', 1, MAX_NUM_NODES),
  resources: ResourcesChoiceSchema,
  /** envs with every value resolved (null values must be supplied with --env) */
  envs: envMap('env vars'),
  /** secrets: injected into setup/run, never stored or printed */
  secrets: envMap('secrets'),
  fileMounts: list(LocalFileMountSchema, 'file mounts', 1000),
  /** bucket mounts (absent when there are none) */
  storageMounts: list(StorageFileMountSchema, 'bucket mounts', 1000).optional(),
  setup: str().optional(),
  run: str().optional(),
  /** per-task config overrides (SkyPilot's `config:`), kept as given */
  config: z.record(z.string(), z.unknown()).optional(),
  /** SkyServe's `service:` section (run with `aloft serve up`; `aloft launch` ignores it) */
  service: ServiceSpecSchema.optional(),
  /** where the task came from, for messages */
  source: str().optional(),
});

// ---- API method parameters ----

const empty = z.strictObject({});
const clusters = list(ClusterRef, 'cluster names', 10_000);
const userName = str('a user name').min(1, { error: 'expected a user name' }).max(64, { error: 'expected a user name of at most 64 characters' });
const role = z.enum(['admin', 'user'], { error: 'expected admin or user' });
/** A service to look up or name (the daemon checks the naming rule: validateServiceName). */
const ServiceRef = str('a service name').min(1, { error: 'expected a service name' }).max(100, { error: 'expected a service name' });
const UpdateModeSchema = z.enum(['rolling', 'blue_green'], { error: 'expected rolling or blue_green' });
const idleMinutes = finite('a number of minutes').refine((v) => v >= 0, { error: 'expected minutes ≥ 0' });

export const LaunchParamsSchema = z.strictObject({
  task: TaskModelSchema,
  cluster: ClusterName.optional(),
  /** skip setup when the cluster exists (--no-setup) */
  noSetup: bool().optional(),
  idleMinutes: idleMinutes.optional(),
  down: bool().optional(),
  dryrun: bool().optional(),
  retryUntilUp: bool().optional(),
  /** for launches made by the managed-jobs controller */
  managedJobId: count('a managed job id', 1).optional(),
  /** SKYPILOT_TASK_ID to keep across recoveries */
  taskId: str().optional(),
  /** regions to avoid when another region can run the task (recovery strategies) */
  avoidRegions: list(str('a region'), 'regions').optional(),
  /** region to try first */
  preferRegion: str().optional(),
  /** the client's idempotency key: a retry after a lost answer gets the same request back */
  requestId: RequestIdSchema.optional(),
});

export const ExecParamsSchema = z.strictObject({
  cluster: ClusterName,
  task: TaskModelSchema,
  /** the client's idempotency key: a retry after a lost answer gets the same job back, not a second one */
  requestId: RequestIdSchema.optional(),
});

export const PlanParamsSchema = z.strictObject({
  tasks: list(TaskModelSchema, 'tasks', MAX_DOCUMENTS).min(1, { error: 'expected at least one task' }),
  explain: bool().optional(),
});

/** Every method's parameters; `api.ts` derives ApiMethods' params from these. */
export const API_PARAMS = {
  info: empty,
  shutdown: empty,
  launch: LaunchParamsSchema,
  exec: ExecParamsSchema,
  plan: PlanParamsSchema,
  status: z.strictObject({ clusters: clusters.optional(), refresh: bool().optional() }),
  queue: z.strictObject({ cluster: ClusterRef.optional(), skipFinished: bool().optional(), all: bool().optional() }),
  cancel: z.strictObject({ cluster: ClusterRef, jobIds: list(count('a job id', 1), 'job ids').optional(), all: bool().optional() }),
  stop: z.strictObject({ clusters }),
  start: z.strictObject({ clusters, idleMinutes: idleMinutes.optional(), down: bool().optional() }),
  /** purge: forget a cluster whose teardown fails (SkyPilot's `down --purge`) */
  /** `all`: the caller's clusters; with `allUsers` (admins, team mode) everyone's */
  down: z.strictObject({ clusters: clusters.optional(), all: bool().optional(), allUsers: bool().optional(), purge: bool().optional() }),
  autostop: z.strictObject({ clusters, idleMinutes: idleMinutes.optional(), down: bool().optional(), cancel: bool().optional() }),
  requests: z.strictObject({ all: bool().optional() }),
  /** asks a running request (a launch) to stop and undo what it created */
  requestCancel: z.strictObject({ id: str('a request id').min(1).max(100) }),
  jobsLaunch: z.strictObject({
    task: TaskModelSchema,
    tasks: list(TaskModelSchema, 'tasks', MAX_DOCUMENTS).optional(),
    name: str().optional(),
    strategy: JobRecoveryStrategySchema.optional(),
  }),
  jobsQueue: z.strictObject({ skipFinished: bool().optional(), all: bool().optional() }),
  jobsCancel: z.strictObject({
    ids: list(count('a managed job id', 1), 'job ids').optional(),
    name: str().optional(),
    all: bool().optional(),
    /** with `all`/`name`: everyone's jobs, not only the caller's (admins, team mode) */
    allUsers: bool().optional(),
  }),
  /** kills a local spot cluster's nodes abruptly, the way a cloud reclaims a spot instance */
  preempt: z.strictObject({ cluster: ClusterRef }),
  /** where `aloft ssh` should go: a node's address and home */
  nodeTarget: z.strictObject({ cluster: ClusterRef, rank: count('a node rank', 0).optional() }),
  /** node addresses in rank order (the head first) */
  nodeIps: z.strictObject({ cluster: ClusterRef }),
  /** where the cluster's `ports:` answer (`status --endpoints`) */
  endpoints: z.strictObject({ cluster: ClusterRef, port: count('a port', 1, 65535).optional() }),
  snapshot: empty,
  /** read-only: what `describe` is about (the dashboard's `d` and `y`) */
  describe: z.discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('cluster'), cluster: ClusterRef }),
      z.strictObject({ kind: z.literal('job'), cluster: ClusterRef, job: count('a job id', 1) }),
      z.strictObject({ kind: z.literal('managed'), id: count('a managed job id', 1) }),
      z.strictObject({ kind: z.literal('request'), id: str('a request id').min(1).max(100) }),
    ],
    { error: 'expected kind cluster, job, managed or request' },
  ),
  storageLs: empty,
  storageDelete: z.strictObject({ names: list(str('a bucket name').min(1).max(255), 'bucket names').optional(), all: bool().optional() }),
  costReport: z.strictObject({ all: bool().optional(), days: count('a number of days', 1, 36_500).optional() }),
  // team mode: users, tokens and the audit log (admin-only, except whoami). Names are checked in
  // full by daemon/team/users.ts (one line naming the rule); here only their shape and size.
  whoami: empty,
  usersAdd: z.strictObject({ name: userName, role: role.optional() }),
  usersList: empty,
  usersRemove: z.strictObject({ name: userName }),
  /** the token itself is in the answer only, never stored */
  tokensCreate: z.strictObject({ user: userName, label: str('a label').max(200, { error: 'expected a label of at most 200 characters' }).optional() }),
  tokensList: empty,
  tokensRevoke: z.strictObject({ id: str('a token id').min(1, { error: 'expected a token id' }).max(100, { error: 'expected a token id' }) }),
  audit: z.strictObject({ limit: count('a number of entries', 1, 10_000).optional() }),
  /** `serve up`: the service's record; its controller starts the load balancer and replicas */
  serveUp: z.strictObject({ task: TaskModelSchema, name: ServiceRef.optional() }),
  /** `serve update`: a new version of the task (rolling or blue_green) */
  serveUpdate: z.strictObject({ name: ServiceRef, task: TaskModelSchema, mode: UpdateModeSchema.optional() }),
  serveStatus: z.strictObject({ names: list(ServiceRef, 'service names').optional() }),
  /** `purge`: forget replicas whose teardown fails */
  serveDown: z.strictObject({ names: list(ServiceRef, 'service names').optional(), all: bool().optional(), purge: bool().optional() }),
} as const;

export type ApiParamSchemas = typeof API_PARAMS;

// ---- stream queries (strings in a URL) ----

const intParam = (what: string, min: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, { error: `expected ${what}` })
    .transform(Number)
    .refine((n) => n >= min, { error: `expected ${what} of at least ${min}` });
const flag = z.enum(['0', '1'], { error: 'expected 0 or 1' }).transform((v) => v === '1');

export const STREAM_QUERIES = {
  request: z.strictObject({ id: str('a request id').min(1).max(100) }),
  logs: z.strictObject({
    cluster: ClusterRef,
    job: intParam('a job id', 1).optional(),
    follow: flag.optional(),
    tail: intParam('a number of lines', 0).optional(),
    rank: intParam('a node rank', 0).optional(),
  }),
  managedLogs: z.strictObject({
    id: intParam('a managed job id', 1).optional(),
    name: str().max(200).optional(),
    follow: flag.optional(),
    controller: flag.optional(),
  }),
  /** `serve logs`: a replica's output, or the controller's or the load balancer's log */
  serveLogs: z.strictObject({
    name: ServiceRef,
    replica: intParam('a replica id', 1).optional(),
    target: z.enum(['controller', 'lb'], { error: 'expected controller or lb' }).optional(),
    follow: flag.optional(),
    tail: intParam('a number of lines', 0).optional(),
  }),
} as const;

export type StreamQuery<S extends keyof typeof STREAM_QUERIES> = z.output<(typeof STREAM_QUERIES)[S]>;

/** The first problem of a failed check, as one line: `where: what was expected, got what`. */
export function describeIssue(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid parameters';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    const where = path ? ` in ${path}` : '';
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}${where}`;
  }
  if (issue.code === 'invalid_key') {
    const key = String(issue.path[issue.path.length - 1]);
    const parent = path.slice(0, path.length - key.length - 1);
    return `${parent}: invalid name '${key}': ${issue.issues[0]?.message ?? 'not a valid key'}`;
  }
  let value: unknown = input;
  for (const seg of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[seg as PropertyKey] : undefined;
  const got = value === undefined ? 'nothing' : describe(value);
  const msg = issue.message.startsWith('Invalid input') ? 'not a valid value' : issue.message;
  return `${path || 'parameters'}: ${msg}, got ${got}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
