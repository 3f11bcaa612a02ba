// The `service:` section exactly as SkyPilot accepts it (get_service_schema in SkyPilot's
// sky/utils/schemas.py): the same fields, types and minimums, checked with zod so a mistake is one
// positioned line. What the values mean (defaults, cross-field rules) is in service.ts.
import { z } from 'zod';
import { bool, ciEnum, int, msg, num, str } from './zod-helpers.js';

/** SkyPilot's load balancing policies (sky/serve/load_balancing_policies.py). */
export const LB_POLICIES = ['round_robin', 'least_load', 'instance_aware_least_load'] as const;
/** SkyPilot's spot placers (sky/serve/spot_placer.py). */
export const SPOT_PLACERS = ['dynamic_fallback'] as const;
/** Accelerator keys of a per-accelerator target_qps_per_replica: "H100:1", "A100". */
export const ACCELERATOR_KEY_RE = /^[A-Z0-9]+(?::[0-9]+)?$/;

const nonNegInt = (what: string) => int(what).min(0, msg(`expected ${what} (0 or more)`));

const readinessObject = z.strictObject(
  {
    path: str('a URL path like /health').describe('HTTP path probed on each replica; must start with /'),
    initial_delay_seconds: num('a number of seconds').describe('how long a new replica may take to pass its first probe (default 1200)').optional(),
    timeout_seconds: num('a number of seconds').describe('timeout of one probe request (default 15)').optional(),
    endpoint_probe_interval_seconds: num('a number of seconds').describe('seconds between probes (default 10)').optional(),
    consecutive_failure_threshold_timeout: num('a number of seconds')
      .describe('a READY replica failing its probe this long is replaced (default 180)')
      .optional(),
    post_data: z
      .union([z.string(), z.record(z.string(), z.unknown())], msg('expected a JSON string or a mapping'))
      .describe('probe with POST and this JSON body instead of GET')
      .optional(),
    headers: z.record(z.string(), z.string(msg('expected a string (quote numbers)')), msg('expected a mapping of header names to values')).optional(),
  },
  msg('expected a path or a mapping with path:'),
);

export const ReadinessProbeSchema = z
  .union([z.string(), readinessObject], msg('expected a path like /health or a mapping {path, initial_delay_seconds, ...}'))
  .describe('how the controller tells a replica is ready');

const targetQps = z
  .union(
    [
      num('a number').min(0, msg('expected a number of 0 or more')),
      // (key names are checked in service.ts, where the message can point at the key)
      z.record(
        z.string(),
        num('a number').min(0, msg('expected a number of 0 or more')),
        msg('expected a mapping {ACCELERATOR: QPS}'),
      ),
    ],
    msg('expected a number, or a mapping {ACCELERATOR: QPS} (with load_balancing_policy: instance_aware_least_load)'),
  )
  .describe('requests per second one replica should take; a mapping gives one target per accelerator');

export const ReplicaPolicySchema = z.strictObject(
  {
    min_replicas: nonNegInt('a whole number of replicas').describe('replicas kept at all times (0: scale to zero)'),
    max_replicas: nonNegInt('a whole number of replicas').describe('most replicas autoscaling may run').optional(),
    num_overprovision: nonNegInt('a whole number of replicas').describe('replicas run beyond the autoscaler target').optional(),
    target_qps_per_replica: targetQps.optional(),
    dynamic_ondemand_fallback: bool().describe('replace missing spot replicas with on-demand ones until spot is back').optional(),
    base_ondemand_fallback_replicas: nonNegInt('a whole number of replicas').describe('on-demand replicas kept besides the spot ones').optional(),
    spot_placer: ciEnum([...SPOT_PLACERS], `expected ${SPOT_PLACERS.join(' or ')}`).describe('where spot replicas go').optional(),
    upscale_delay_seconds: num('a number of seconds').describe('load above target this long before scaling up (default 300)').optional(),
    downscale_delay_seconds: num('a number of seconds').describe('load below target this long before scaling down (default 1200)').optional(),
  },
  msg('expected a mapping {min_replicas, max_replicas, target_qps_per_replica, ...}'),
);

export const ServicePoolSchema = z.strictObject(
  {
    workers: nonNegInt('a whole number of workers').optional(),
    min_workers: nonNegInt('a whole number of workers').optional(),
    queue_length_threshold: int('a whole number').min(1, msg('expected 1 or more')).optional(),
    max_workers: nonNegInt('a whole number of workers').optional(),
    upscale_delay_seconds: num('a number of seconds').min(0, msg('expected 0 or more')).optional(),
    downscale_delay_seconds: num('a number of seconds').min(0, msg('expected 0 or more')).optional(),
  },
  msg('expected a mapping of pool fields'),
);

export const serviceShape = {
  readiness_probe: ReadinessProbeSchema.optional(),
  load_balancer: z
    .strictObject(
      { stream_timeout_seconds: num('a number of seconds').describe('longest a proxied response may take (default 120)').optional() },
      msg('expected a mapping {stream_timeout_seconds}'),
    )
    .optional(),
  pool: ServicePoolSchema.describe('SkyPilot worker pools (not supported yet)').optional(),
  replica_policy: ReplicaPolicySchema.optional(),
  ports: int('a port number').describe('the port replicas serve on (else the one port in resources.ports)').optional(),
  replicas: int('a whole number of replicas').describe('a fixed number of replicas').optional(),
  workers: int('a whole number of workers').describe('SkyPilot worker pools (not supported yet)').optional(),
  load_balancing_policy: ciEnum([...LB_POLICIES], `expected ${LB_POLICIES.join(', ')}`)
    .describe('how the load balancer picks a replica (default least_load)')
    .optional(),
  tls: z
    .strictObject({ keyfile: str('a file path'), certfile: str('a file path') }, msg('expected a mapping {keyfile, certfile}'))
    .describe('serve the endpoint over HTTPS with this key and certificate')
    .optional(),
};

export const ServiceSchema = z
  .strictObject(serviceShape, msg('expected a mapping of service fields (readiness_probe, replicas, ...)'))
  .describe('SkyServe service: run the task as replicas behind a load balancer (`aloft serve up`)');

export type RawService = z.infer<typeof ServiceSchema>;

export const SERVICE_KEYS = Object.keys(serviceShape);
export const READINESS_KEYS = Object.keys(readinessObject.shape);
export const REPLICA_POLICY_KEYS = Object.keys(ReplicaPolicySchema.shape);
export const SERVICE_POOL_KEYS = Object.keys(ServicePoolSchema.shape);
export const TLS_KEYS = ['keyfile', 'certfile'];
export const LOAD_BALANCER_KEYS = ['stream_timeout_seconds'];
