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

export interface Task {
  name?: string;
  /** absolute path on this machine, or undefined */
  workdir?: string;
  numNodes: number;
  resources: ResourcesChoice;
  /** envs with every value resolved (null values must be supplied with --env) */
  envs: Record<string, string>;
  /** secrets: injected into setup/run, never stored or printed */
  secrets: Record<string, string>;
  fileMounts: LocalFileMount[];
  setup?: string;
  run?: string;
  /** per-task config overrides (SkyPilot's `config:`), kept as given */
  config?: Record<string, unknown>;
  /** SkyServe's `service:` section (run with `aloft serve up`; `aloft launch` ignores it) */
  service?: ServiceSpec;
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

export type LoadBalancingPolicy = 'round_robin' | 'least_load' | 'instance_aware_least_load';

/** How the controller tells a replica is ready (SkyServe's readiness_probe). */
export interface ReadinessProbe {
  /** HTTP path, starting with / */
  path: string;
  /** a new replica may take this long to pass its first probe */
  initialDelaySeconds: number;
  timeoutSeconds: number;
  /** seconds between probes */
  intervalSeconds: number;
  /** a READY replica failing its probe this long is replaced */
  failureThresholdSeconds: number;
  /** probe with POST and this JSON body */
  postData?: unknown;
  headers?: Record<string, string>;
}

/** SkyServe's `service:` section, defaults applied (src/spec/service.ts). */
export interface ServiceSpec {
  readiness: ReadinessProbe;
  minReplicas: number;
  /** autoscaling ceiling; equals minReplicas when the count is fixed */
  maxReplicas: number;
  /** requests per second one replica takes; a map is per accelerator (instance_aware_least_load) */
  targetQpsPerReplica?: number | Record<string, number>;
  numOverprovision?: number;
  upscaleDelaySeconds: number;
  downscaleDelaySeconds: number;
  baseOndemandFallbackReplicas?: number;
  dynamicOndemandFallback?: boolean;
  spotPlacer?: string;
  /** as written; undefined means the default (least_load) */
  loadBalancingPolicy?: LoadBalancingPolicy;
  /** service.ports as written; without it replicas serve on the one port in resources.ports (servicePort) */
  port?: number;
  /** absolute paths on this machine */
  tls?: { keyfile: string; certfile: string };
  /** longest a proxied response may take */
  streamTimeoutSeconds: number;
  /** the section as written (what `y` and `serve status -v` show) */
  raw: Record<string, unknown>;
}
