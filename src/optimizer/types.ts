// Shapes the optimizer produces and consumes. `Plan` is also what `launch --dryrun -o json` prints
// (through planToJson), so fields are only added, never renamed.
import type { LiveOffering } from '../providers/types.js';
import type { ResourcesSpec } from '../spec/types.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Blocklist } from './blocklist.js';

/** One launchable choice: a shape in a zone (or a live pool) with its price. */
export interface Candidate {
  cloud: string;
  region: string;
  zone?: string;
  instanceType?: string;
  accelerators?: { name: string; count: number };
  cpus: number;
  memoryGiB: number;
  useSpot: boolean;
  /** $/hr of one node: the catalog figure (host + attached accelerators where the catalog splits them) */
  hourlyPrice: number;
  /** hourlyPrice x numNodes */
  totalHourlyPrice: number;
  numNodes: number;
  /** the request narrowed to this choice (infra, instance type, one accelerator) */
  resources: ResourcesSpec;
  /** dryrun: this infra has no credentials here, shown for price comparison only */
  noCredentials?: boolean;
  /** offered live by a provider (local, ssh, kubernetes) rather than from a catalog */
  live?: boolean;
  /**
   * why this candidate can never be chosen here (no credentials, or an infra this aloft cannot
   * provision): such candidates are shown for price comparison only, never planned
   */
  unavailable?: string;
}

/** A row of the considered-offerings table; `excluded` says why it cannot be used. */
export interface ConsideredRow extends Candidate {
  excluded?: string;
  /** how many catalog offerings (zones/regions) this row stands for */
  offerings?: number;
  chosen?: boolean;
}

export interface Plan {
  task?: string;
  minimize: 'cost' | 'time';
  chosen: Candidate;
  /** what to try next, in order, when `chosen` fails: zones of the region, then the next region or cloud */
  failover: Candidate[];
  considered: ConsideredRow[];
}

export interface OptimizeContext {
  /** infra with credentials here (aws, gcp, kubernetes, ssh, local); others are excluded, or marked in dryrun */
  usableClouds: string[];
  /** offerings of infra without a catalog (local, ssh pools, kubernetes contexts), priced 0 */
  liveOfferings: LiveOffering[];
  blocklist?: Blocklist;
  /** config's allowed infra (like allowed_clouds): patterns such as "aws", "gcp/us-*", "local" */
  allowedInfra?: string[];
  minimize?: 'cost' | 'time';
  /**
   * dry run: offerings of clouds without credentials (or not provisionable) are listed in
   * `considered` for price comparison, marked; they are never chosen either way
   */
  dryrun?: boolean;
  /** infra this aloft can launch on (default: any with credentials); the others are comparison-only */
  provisionable?: string[];
  /** why an enabled live infra offers nothing, e.g. {'ssh/mypool': 'root@10.0.0.5:22: unreachable'} */
  liveProblems?: Record<string, string>;
  /** catalog to use instead of the shipped/pulled one (tests, benchmarks) */
  catalog?: Catalog;
  /** cap on failover entries (default 64) */
  maxFailover?: number;
}
