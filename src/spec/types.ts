// Normalized task model: what the YAML parser produces and what the optimizer, daemon and agents
// consume. The raw YAML shape (SkyPilot's schema) lives in schema.ts; this is the shape after
// defaults, shorthand expansion (e.g. "A100:8") and infra/cloud/region merging.

import type { z } from 'zod';
import type {
  AcceleratorRequestSchema,
  AutostopSpecSchema,
  InfraSelectorSchema,
  JobRecoverySchema,
  JobRecoveryStrategySchema,
  LoadBalancingPolicySchema,
  GitWorkdirSchema,
  LocalFileMountSchema,
  QuantitySchema,
  ReadinessProbeSchema,
  ResourcesChoiceSchema,
  ResourcesSpecSchema,
  ServiceSpecSchema,
  StorageFileMountSchema,
  StorageModeSchema,
  TaskModelSchema,
} from '../protocol/schemas.js';

// The model's shapes are defined once, as the zod schemas the daemon checks API calls with
// (src/protocol/schemas.ts, where each field is documented); these are their inferred types.

/** A numeric requirement: `4` means exactly 4, `4+` means at least 4. */
export type Quantity = z.infer<typeof QuantitySchema>;
/** One accelerator choice, e.g. A100 x 8. `name` is as written; the optimizer canonicalizes it. */
export type AcceleratorRequest = z.infer<typeof AcceleratorRequestSchema>;
/**
 * Where to run. Parsed from `infra: aws/us-east-1/us-east-1a`, `k8s/CONTEXT`, `ssh/POOL`, `local`,
 * `*\/REGION`, or legacy `cloud`/`region`/`zone`. Undefined parts mean "any".
 */
export type InfraSelector = z.infer<typeof InfraSelectorSchema>;
export type JobRecoveryStrategy = z.infer<typeof JobRecoveryStrategySchema>;
export type JobRecovery = z.infer<typeof JobRecoverySchema>;
export type AutostopSpec = z.infer<typeof AutostopSpecSchema>;
/** One candidate set of resources (after expanding any_of / ordered each candidate is one of these). */
export type ResourcesSpec = z.infer<typeof ResourcesSpecSchema>;
/** Resource candidates: `any_of` (cheapest wins) or `ordered` (first with an offering wins). */
export type ResourcesChoice = z.infer<typeof ResourcesChoiceSchema>;
export type LocalFileMount = z.infer<typeof LocalFileMountSchema>;
export type StorageMode = z.infer<typeof StorageModeSchema>;
export type StorageFileMount = z.infer<typeof StorageFileMountSchema>;
export type GitWorkdir = z.infer<typeof GitWorkdirSchema>;
export type Task = z.infer<typeof TaskModelSchema>;
/** SkyServe's load_balancing_policy values. */
export type LoadBalancingPolicy = z.infer<typeof LoadBalancingPolicySchema>;
/** How the controller tells a replica is ready (SkyServe's readiness_probe). */
export type ReadinessProbe = z.infer<typeof ReadinessProbeSchema>;
/** SkyServe's `service:` section, defaults applied (src/spec/service.ts). */
export type ServiceSpec = z.infer<typeof ServiceSpecSchema>;

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
