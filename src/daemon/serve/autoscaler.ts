// SkyServe's autoscalers (sky/serve/autoscalers.py) as one pure function: the measured request
// rate, the replicas and the policy in; how many replicas to add (spot or on-demand) and which to
// take away out. Same rules —
//   - target = ceil(QPS / target_qps_per_replica) clipped to [min, max] (per accelerator when the
//     target is a map), plus num_overprovision;
//   - hysteresis: the target moves up only after the load asked for more for upscale_delay_seconds,
//     down after downscale_delay_seconds (from zero it moves at once);
//   - base_ondemand_fallback_replicas on-demand replicas always, and with dynamic_ondemand_fallback
//     one on-demand replica for each spot replica that is not READY;
//   - updates: rolling keeps old replicas until as many new ones are READY; blue_green drops the
//     old version once the new one has min_replicas READY;
//   - a new version that never had a READY replica and lost one to its own failure stops scaling
//     (relaunching a broken app forever helps nobody).
// The delays are measured in time rather than in 20 s decision ticks, so deciding more often (on
// every controller pass) changes nothing, and a lost replica is replaced at once.
import { TERMINAL_REPLICA_STATUSES, type AutoscalerState, type ReplicaRecord, type ReplicaStatus, type UpdateMode } from '../../protocol/model.js';
import type { ServiceSpec } from '../../spec/types.js';
import { usesOndemandFallback } from '../../spec/service.js';
import { targetFor } from '../../serve/lb/policy.js';

export interface AutoscaleInput {
  /** the latest version's spec */
  spec: ServiceSpec;
  latest: number;
  mode: UpdateMode;
  replicas: readonly ReplicaRecord[];
  state: AutoscalerState;
  /** requests per second over the window */
  qps: number;
  now: number;
  /** versions the load balancer serves (blue_green: old ones below the lowest go) */
  activeVersions: readonly number[];
  /** the task asks for spot nodes */
  spot: boolean;
}

export interface AutoscaleDecision {
  state: AutoscalerState;
  /** replicas to add: useSpot for each */
  up: boolean[];
  /** replicas to take out, with why */
  down: Array<{ id: number; why: string }>;
  /** scaling stopped: why (a broken new version) */
  stalled?: string;
}

/** SkyServe's scale_down_decision_order: earlier stages go first (later ones may be ready soon). */
const DOWN_ORDER: ReplicaStatus[] = ['PENDING', 'PROVISIONING', 'STARTING', 'NOT_READY', 'READY'];

export const isTerminal = (r: ReplicaRecord) => TERMINAL_REPLICA_STATUSES.has(r.status);

/** It failed on its own before ever being READY: the app, not the infra. */
export function unrecoverable(r: ReplicaRecord): boolean {
  if (r.readyAt !== undefined) return false;
  const end = r.endAs ?? r.status;
  return end === 'FAILED' || end === 'FAILED_INITIAL_DELAY';
}

export function selectToScaleDown(n: number, replicas: readonly ReplicaRecord[]): number[] {
  if (n <= 0) return [];
  return [...replicas]
    .filter((r) => DOWN_ORDER.includes(r.status))
    .sort((a, b) => DOWN_ORDER.indexOf(a.status) - DOWN_ORDER.indexOf(b.status) || a.version - b.version || b.id - a.id)
    .slice(0, n)
    .map((r) => r.id);
}

const clip = (s: ServiceSpec, n: number) => Math.max(s.minReplicas, Math.min(s.maxReplicas, n));

/** The replica count the load asks for, before hysteresis. */
export function rawTarget(spec: ServiceSpec, qps: number, replicas: readonly ReplicaRecord[], latest: number): number {
  const t = spec.targetQpsPerReplica;
  if (t === undefined) return spec.minReplicas;
  if (typeof t === 'number') return clip(spec, Math.ceil(qps / t));
  // Per accelerator (InstanceAwareRequestRateAutoscaler): capacity of the replicas there are.
  const live = replicas.filter((r) => r.version === latest && (r.status === 'READY' || r.status === 'STARTING' || r.status === 'PROVISIONING'));
  const total = live.reduce((sum, r) => sum + targetFor(r.accelerator, t), 0);
  if (total <= 0) return clip(spec, spec.minReplicas);
  if (qps >= total) {
    const biggest = Math.max(...Object.values(t));
    return clip(spec, live.length + Math.ceil((qps - total) / biggest));
  }
  const ready = replicas
    .filter((r) => r.status === 'READY')
    .map((r) => targetFor(r.accelerator, t))
    .sort((a, b) => b - a);
  const list = ready.length ? ready : [Math.max(...Object.values(t))];
  let n = 0;
  let sum = 0;
  for (const q of list) {
    n++;
    sum += q;
    if (sum > qps) break;
  }
  return clip(spec, n);
}

/** The target after hysteresis (time-based delays). */
function withHysteresis(state: AutoscalerState, raw: number, spec: ServiceSpec, now: number): AutoscalerState {
  const s = { ...state };
  if (s.target === 0 || raw === s.target) {
    // from zero (a request is waiting) the target moves at once, as in SkyServe
    s.target = raw;
    delete s.upSince;
    delete s.downSince;
  } else if (raw > s.target) {
    delete s.downSince;
    s.upSince ??= now;
    if (now - s.upSince >= spec.upscaleDelaySeconds * 1000) {
      s.target = raw;
      delete s.upSince;
    }
  } else {
    delete s.upSince;
    s.downSince ??= now;
    if (now - s.downSince >= spec.downscaleDelaySeconds * 1000) {
      s.target = raw;
      delete s.downSince;
    }
  }
  return s;
}

/** When the hysteresis may move the target next (the controller wakes up then). */
export function nextHysteresisAt(state: AutoscalerState, spec: ServiceSpec): number | undefined {
  if (state.upSince !== undefined) return state.upSince + spec.upscaleDelaySeconds * 1000;
  if (state.downSince !== undefined) return state.downSince + spec.downscaleDelaySeconds * 1000;
  return undefined;
}

function outdated(input: AutoscaleInput, final: number): number[] {
  const { replicas, latest } = input;
  if (input.mode === 'rolling') {
    const newReady = replicas.filter((r) => r.version === latest && r.status === 'READY').length;
    const old = replicas.filter((r) => r.version < latest && !isTerminal(r));
    if (newReady >= final) return old.map((r) => r.id);
    const keep = final - newReady;
    return selectToScaleDown(old.length - keep, old);
  }
  if (input.activeVersions.length === 0) return [];
  const floor = Math.min(...input.activeVersions);
  return replicas.filter((r) => r.version < floor && !isTerminal(r)).map((r) => r.id);
}

export function autoscale(input: AutoscaleInput): AutoscaleDecision {
  const { spec, latest, replicas, now } = input;
  let state: AutoscalerState = { ...input.state };
  const latestReplicas = replicas.filter((r) => r.version === latest);
  if (latestReplicas.some((r) => r.status === 'READY')) state.latestEverReady = Math.max(state.latestEverReady, latest);
  if (state.latestEverReady < latest) {
    const broken = latestReplicas.find(unrecoverable);
    if (broken) {
      return { state, up: [], down: [], stalled: `replica ${broken.id} of version ${latest} failed before ever being ready (${broken.statusReason ?? broken.endAs ?? broken.status}); not launching more` };
    }
  }
  state = withHysteresis(state, rawTarget(spec, input.qps, replicas, latest), spec, now);
  const final = state.target + (spec.numOverprovision ?? 0);
  const down = new Map<number, string>();
  for (const id of outdated(input, final)) down.set(id, 'an older version');
  const live = latestReplicas.filter((r) => !isTerminal(r));
  const up: boolean[] = [];

  if (input.spot && usesOndemandFallback(spec)) {
    // FallbackRequestRateAutoscaler
    const base = spec.baseOndemandFallbackReplicas ?? 0;
    const spotLive = live.filter((r) => r.useSpot);
    const odLive = live.filter((r) => !r.useSpot);
    const spotReady = spotLive.filter((r) => r.status === 'READY').length;
    const spotWanted = Math.max(0, final - base);
    if (spotLive.length < spotWanted) for (let i = spotLive.length; i < spotWanted; i++) up.push(true);
    else for (const id of selectToScaleDown(spotLive.length - spotWanted, spotLive)) down.set(id, 'scaling down (spot)');
    let odWanted = base + (spec.dynamicOndemandFallback ? Math.max(0, spotWanted - spotReady) : 0);
    odWanted = Math.min(odWanted, state.target);
    if (odWanted > odLive.length) for (let i = odLive.length; i < odWanted; i++) up.push(false);
    else for (const id of selectToScaleDown(odLive.length - odWanted, odLive)) down.set(id, 'scaling down (on-demand fallback)');
  } else if (live.length < final) {
    for (let i = live.length; i < final; i++) up.push(input.spot);
  } else if (live.length > final) {
    for (const id of selectToScaleDown(live.length - final, live)) down.set(id, 'scaling down');
  }
  return { state, up, down: [...down].map(([id, why]) => ({ id, why })) };
}

/** The versions the load balancer sends traffic to (SkyServe's active_versions). */
export function activeVersions(replicas: readonly ReplicaRecord[], mode: UpdateMode, minReplicasOf: (version: number) => number): number[] {
  const ready = replicas.filter((r) => r.status === 'READY');
  const versions = [...new Set(ready.map((r) => r.version))].sort((a, b) => a - b);
  if (mode === 'rolling' || versions.length === 0) return versions;
  // blue_green: the newest version with min_replicas READY, else the oldest one serving
  for (const v of [...versions].reverse()) {
    if (ready.filter((r) => r.version === v).length >= minReplicasOf(v)) return [v];
  }
  return [versions[0]!];
}
