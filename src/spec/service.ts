// `service:` → ServiceSpec: SkyServe's defaults and cross-field rules (sky/serve/service_spec.py),
// each refusal one line pointing at the field. The checks that need the whole task (the replica
// port, spot with on-demand fallback, no job_recovery) are servicePort / serviceTaskProblems,
// run by `aloft serve up` after the CLI's flags are applied.
import { existsSync } from 'node:fs';
import { pathString } from './patterns.js';
import { ACCELERATOR_KEY_RE, type RawService } from './service-schema.js';
import type { LoadBalancingPolicy, ServiceSpec, Task } from './types.js';
import type { Path, SourceDoc } from './yaml.js';
import { resolveLocalPath, substituteEnvs } from './task.js';
import { UserError } from '../util/errors.js';

/** SkyServe's defaults (sky/serve/constants.py). */
export const SERVICE_DEFAULTS = {
  initialDelaySeconds: 1200,
  readinessTimeoutSeconds: 15,
  probeIntervalSeconds: 10,
  failureThresholdSeconds: 180,
  streamTimeoutSeconds: 120,
  minReplicas: 1,
  upscaleDelaySeconds: 300,
  downscaleDelaySeconds: 1200,
} as const;

/**
 * The policy a service runs when it names none. least_load, as SkyPilot: LLM requests last from
 * milliseconds to minutes (streamed tokens), so sending each to the replica with the fewest
 * requests in flight keeps a slow generation from queueing short ones behind it, where
 * round_robin would keep feeding the busy replica its share. Ties rotate (load_balancer/policy.ts),
 * so at low concurrency it spreads like round_robin instead of always picking the first replica.
 */
export const DEFAULT_LB_POLICY: LoadBalancingPolicy = 'least_load';

export interface ServiceNormalizeOptions {
  envs: Record<string, string>;
  baseDir: string;
  checkPaths: boolean;
}

export function normalizeService(doc: SourceDoc, raw: RawService, opts: ServiceNormalizeOptions): ServiceSpec {
  const at = (p: Path) => ['service', ...p];
  const fail = (p: Path, reason: string, where: 'key' | 'value' = 'value'): never => doc.fail(at(p), `${pathString(at(p))}: ${reason}`, where);

  if (raw.replicas !== undefined && raw.replica_policy !== undefined) {
    fail(['replicas'], "cannot be combined with 'replica_policy'; use one of them", 'key');
  }

  // readiness_probe: a path, or {path, ...}
  const probe = raw.readiness_probe ?? '/';
  const probeObj = typeof probe === 'string' ? { path: probe } : probe;
  const probePath = typeof probe === 'string' ? ['readiness_probe'] : ['readiness_probe', 'path'];
  const path = substituteEnvs(probeObj.path, opts.envs);
  if (!path.startsWith('/')) fail(probePath, `the readiness path must start with a slash (/), got ${JSON.stringify(path)}`);
  let postData: unknown = typeof probe === 'string' ? undefined : probe.post_data;
  if (typeof postData === 'string') {
    try {
      postData = JSON.parse(postData);
    } catch {
      fail(['readiness_probe', 'post_data'], 'is not valid JSON (give a mapping, or a JSON string)');
    }
  }
  const positive = (p: Path, v: number | undefined) => {
    if (v !== undefined && !(v > 0)) fail(p, `expected a number of seconds above 0, got ${v}`);
    return v;
  };
  const obj = typeof probe === 'string' ? undefined : probe;
  const readiness = {
    path,
    initialDelaySeconds: Math.max(0, obj?.initial_delay_seconds ?? SERVICE_DEFAULTS.initialDelaySeconds),
    timeoutSeconds: positive(['readiness_probe', 'timeout_seconds'], obj?.timeout_seconds) ?? SERVICE_DEFAULTS.readinessTimeoutSeconds,
    intervalSeconds: positive(['readiness_probe', 'endpoint_probe_interval_seconds'], obj?.endpoint_probe_interval_seconds) ?? SERVICE_DEFAULTS.probeIntervalSeconds,
    failureThresholdSeconds: Math.max(0, obj?.consecutive_failure_threshold_timeout ?? SERVICE_DEFAULTS.failureThresholdSeconds),
    ...(postData !== undefined ? { postData } : {}),
    ...(obj?.headers ? { headers: obj.headers } : {}),
  };

  // replicas / replica_policy
  const policy = raw.replica_policy;
  let minReplicas: number = SERVICE_DEFAULTS.minReplicas;
  let maxReplicas: number | undefined;
  if (raw.replicas !== undefined) {
    if (raw.replicas < 0) fail(['replicas'], `expected 0 or more replicas, got ${raw.replicas}`);
    minReplicas = raw.replicas;
  } else if (policy) {
    minReplicas = policy.min_replicas;
    maxReplicas = policy.max_replicas;
  }
  if (maxReplicas !== undefined && maxReplicas < minReplicas) {
    fail(['replica_policy', 'max_replicas'], `must be at least min_replicas (${minReplicas}), got ${maxReplicas}`);
  }
  const target = policy?.target_qps_per_replica;
  if (target !== undefined && maxReplicas === undefined) {
    fail(['replica_policy', 'target_qps_per_replica'], 'needs max_replicas too (autoscaling goes from min_replicas to max_replicas)', 'key');
  }
  if (target === undefined && maxReplicas !== undefined && maxReplicas !== minReplicas) {
    fail(['replica_policy', 'max_replicas'], 'differs from min_replicas but target_qps_per_replica is not set; set it to autoscale', 'key');
  }
  if (target !== undefined && typeof target === 'object') {
    if (Object.keys(target).length === 0) fail(['replica_policy', 'target_qps_per_replica'], 'expected at least one accelerator');
    for (const k of Object.keys(target)) {
      if (!ACCELERATOR_KEY_RE.test(k)) fail(['replica_policy', 'target_qps_per_replica', k], `'${k}' is not an accelerator name like "H100:1" or "A100"`, 'key');
    }
  }
  if (typeof target === 'number' && !(target > 0)) fail(['replica_policy', 'target_qps_per_replica'], `expected a number above 0, got ${target}`);
  const lb = raw.load_balancing_policy?.toLowerCase() as LoadBalancingPolicy | undefined;
  if (target !== undefined && typeof target === 'object' && lb !== 'instance_aware_least_load') {
    fail(['replica_policy', 'target_qps_per_replica'], 'a mapping per accelerator needs load_balancing_policy: instance_aware_least_load');
  }
  if (lb === 'instance_aware_least_load' && (target === undefined || typeof target !== 'object')) {
    fail(['load_balancing_policy'], 'instance_aware_least_load needs replica_policy.target_qps_per_replica as a mapping {ACCELERATOR: QPS}');
  }
  for (const k of ['upscale_delay_seconds', 'downscale_delay_seconds'] as const) {
    const v = policy?.[k];
    if (v !== undefined && v < 0) fail(['replica_policy', k], `expected 0 or more seconds, got ${v}`);
  }

  if (raw.ports !== undefined && (raw.ports < 1 || raw.ports > 65535)) fail(['ports'], `expected a port between 1 and 65535, got ${raw.ports}`);

  const streamTimeout = positive(['load_balancer', 'stream_timeout_seconds'], raw.load_balancer?.stream_timeout_seconds);

  let tls: ServiceSpec['tls'];
  if (raw.tls) {
    const file = (k: 'keyfile' | 'certfile') => {
      const text = substituteEnvs(raw.tls![k], opts.envs).trim();
      if (!text) fail(['tls', k], 'is empty');
      const abs = resolveLocalPath(text, opts.baseDir);
      if (opts.checkPaths && !existsSync(abs)) fail(['tls', k], `${abs} does not exist`);
      return abs;
    };
    tls = { keyfile: file('keyfile'), certfile: file('certfile') };
  }

  return {
    readiness,
    minReplicas,
    maxReplicas: maxReplicas ?? minReplicas,
    ...(target !== undefined ? { targetQpsPerReplica: target } : {}),
    ...(policy?.num_overprovision !== undefined ? { numOverprovision: policy.num_overprovision } : {}),
    upscaleDelaySeconds: policy?.upscale_delay_seconds ?? SERVICE_DEFAULTS.upscaleDelaySeconds,
    downscaleDelaySeconds: policy?.downscale_delay_seconds ?? SERVICE_DEFAULTS.downscaleDelaySeconds,
    ...(policy?.base_ondemand_fallback_replicas !== undefined ? { baseOndemandFallbackReplicas: policy.base_ondemand_fallback_replicas } : {}),
    ...(policy?.dynamic_ondemand_fallback !== undefined ? { dynamicOndemandFallback: policy.dynamic_ondemand_fallback } : {}),
    ...(policy?.spot_placer !== undefined ? { spotPlacer: policy.spot_placer.toLowerCase() } : {}),
    ...(lb ? { loadBalancingPolicy: lb } : {}),
    ...(raw.ports !== undefined ? { port: raw.ports } : {}),
    ...(tls ? { tls } : {}),
    streamTimeoutSeconds: streamTimeout ?? SERVICE_DEFAULTS.streamTimeoutSeconds,
    raw: raw as Record<string, unknown>,
  };
}

/** On-demand fallback is asked for (SkyServe's use_ondemand_fallback). */
export function usesOndemandFallback(s: ServiceSpec): boolean {
  return s.dynamicOndemandFallback === true || (s.baseOndemandFallbackReplicas ?? 0) > 0;
}

/** A problem with a service task as a whole; `path` points into the YAML where one applies. */
export interface ServiceTaskProblem {
  path: Path;
  at: 'key' | 'value';
  reason: string;
}

function portsOf(spec: string[]): number[] {
  const out: number[] = [];
  for (const p of spec) {
    const [lo, hi] = p.split('-').map(Number);
    for (let n = lo!; n <= (hi ?? lo!) && out.length < 2; n++) out.push(n);
  }
  return out;
}

/**
 * What `sky serve up` refuses in a task with a service (sky/client/cli and serve_utils
 * validate_service_task): the replica port must be known, spot must be all or nothing, on-demand
 * fallback needs spot, and job_recovery has no meaning (the controller replaces replicas itself).
 */
export function serviceTaskProblems(task: Task, resourcesPath: (i: number) => Path = () => ['resources']): ServiceTaskProblem[] {
  const s = task.service;
  if (!s) return [{ path: [], at: 'key', reason: 'Service section not found in the YAML file. To fix, add a valid `service` field.' }];
  const out: ServiceTaskProblem[] = [];
  const cands = task.resources.candidates;
  const spot = cands.filter((c) => c.useSpot).length;
  if (spot !== 0 && spot !== cands.length) {
    out.push({ path: ['resources'], at: 'key', reason: 'resources: all candidates must use spot or none (for spot and on-demand together, set dynamic_ondemand_fallback or base_ondemand_fallback_replicas)' });
  }
  cands.forEach((c, i) => {
    if (c.jobRecovery) {
      out.push({
        path: [...resourcesPath(i), 'job_recovery'],
        at: 'key',
        reason: `job_recovery has no meaning for a service: the controller replaces lost replicas itself (with ${s.dynamicOndemandFallback ? 'on-demand' : 'spot'} instances)`,
      });
    }
    if (usesOndemandFallback(s) && !c.useSpot) {
      out.push({ path: [...resourcesPath(i)], at: 'key', reason: 'on-demand fallback is for spot replicas: set use_spot: true in resources' });
    }
    if (s.spotPlacer !== undefined && !c.useSpot) {
      out.push({ path: ['service', 'replica_policy', 'spot_placer'], at: 'key', reason: 'service.replica_policy.spot_placer is for spot replicas: set use_spot: true in resources' });
    }
    if (s.port === undefined) {
      const ports = portsOf(c.ports);
      if (ports.length !== 1) {
        out.push({
          path: c.ports.length ? [...resourcesPath(i), 'ports'] : ['service'],
          at: 'key',
          reason:
            c.ports.length === 0
              ? 'a service needs the port its replicas serve on: set resources.ports (one port) or service.ports'
              : 'resources.ports opens several ports: set service.ports to the one the replicas serve on',
        });
      }
    } else if (c.ports.length > 0 && !c.ports.some((p) => inRange(p, s.port!))) {
      out.push({ path: [...resourcesPath(i), 'ports'], at: 'value', reason: `service.ports ${s.port} is not among resources.ports (${c.ports.join(', ')})` });
    }
  });
  if (out.length === 0 && s.port === undefined) {
    const distinct = new Set(cands.map((c) => portsOf(c.ports)[0]));
    if (distinct.size > 1) out.push({ path: ['resources'], at: 'key', reason: `resources name different ports (${[...distinct].join(', ')}); give them the same one, or set service.ports` });
  }
  return out;
}

/** Whether a `ports:` entry ("8080" or "8000-8100") covers `port`. */
export function inRange(p: string, port: number): boolean {
  const [lo, hi] = p.split('-').map(Number);
  return port >= lo! && port <= (hi ?? lo!);
}

/** The port replicas serve on (the service must have passed serviceTaskProblems). */
export function servicePort(task: Task): number {
  const s = task.service;
  if (!s) throw new UserError('this task has no service section');
  if (s.port !== undefined) return s.port;
  const p = portsOf(task.resources.candidates[0]?.ports ?? [])[0];
  if (p === undefined) throw new UserError('a service needs the port its replicas serve on: set resources.ports (one port) or service.ports');
  return p;
}

/** serviceTaskProblems as one UserError (after CLI flags; positions are in the parse-time check). */
export function checkServiceTask(task: Task): void {
  const p = serviceTaskProblems(task)[0];
  if (p) throw new UserError(p.reason);
}

/** SkyServe's "Replica autoscaling policy" line. */
export function autoscalingPolicyText(s: ServiceSpec): string {
  const plural = (n: number) => (n === 1 ? '' : 's');
  if (s.maxReplicas === s.minReplicas || s.targetQpsPerReplica === undefined) return `Fixed ${s.minReplicas} replica${plural(s.minReplicas)}`;
  const over = s.numOverprovision !== undefined ? ` with ${s.numOverprovision} overprovisioned replicas` : '';
  const target = typeof s.targetQpsPerReplica === 'number' ? String(s.targetQpsPerReplica) : JSON.stringify(s.targetQpsPerReplica);
  return `Autoscaling from ${s.minReplicas} to ${s.maxReplicas} replica${plural(s.maxReplicas)}${over} (target QPS per replica: ${target})`;
}

export function spotPolicyText(s: ServiceSpec): string {
  const parts: string[] = [];
  if (s.dynamicOndemandFallback) {
    if (s.spotPlacer === 'dynamic_fallback') return 'SpotHedge';
    parts.push('Dynamic on-demand fallback');
    if (s.baseOndemandFallbackReplicas !== undefined) parts.push(`with ${s.baseOndemandFallbackReplicas} base on-demand replicas`);
  } else if (s.baseOndemandFallbackReplicas !== undefined) {
    parts.push(`Static spot mixture with ${s.baseOndemandFallbackReplicas} base on-demand replica${s.baseOndemandFallbackReplicas === 1 ? '' : 's'}`);
  }
  if (s.spotPlacer !== undefined) {
    if (!parts.length) parts.push('Spot placement');
    parts.push(`with ${s.spotPlacer} placer`);
  }
  return parts.length ? parts.join(' ') : 'No spot policy';
}

/** SkyServe's "Service spec:" block, as `sky serve up` prints it. */
export function serviceSpecText(s: ServiceSpec): string {
  const probe = `${s.readiness.postData === undefined ? `GET ${s.readiness.path}` : `POST ${s.readiness.path} ${JSON.stringify(s.readiness.postData)}`}${s.readiness.headers ? ' with custom headers' : ''}`;
  return [
    `Readiness probe method:           ${probe}`,
    `Readiness initial delay seconds:  ${s.readiness.initialDelaySeconds}`,
    `Readiness probe timeout seconds:  ${s.readiness.timeoutSeconds}`,
    `Replica autoscaling policy:       ${autoscalingPolicyText(s)}`,
    `TLS Certificates:                 ${s.tls ? `Keyfile: ${s.tls.keyfile}, Certfile: ${s.tls.certfile}` : 'No TLS Enabled'}`,
    `Spot Policy:                      ${spotPolicyText(s)}`,
    `Load Balancing Policy:            ${s.loadBalancingPolicy ?? `${DEFAULT_LB_POLICY} (default)`}`,
  ].join('\n');
}
