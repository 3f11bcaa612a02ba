// `resources:` → ResourcesChoice. any_of/ordered items are merged over the base fields (an item
// that names any location replaces the base location as a whole), then each candidate is
// normalized: shorthand expanded, infra/cloud/region merged, quantities parsed.
import { MAX_CANDIDATES } from '../protocol/limits.js';
import { SpecError, ValueProblem } from './errors.js';
import type { RawCandidate, RawResources } from './schema.js';
import { isDockerImage } from './unsupported.js';
import type { InfraSelector, ResourcesChoice, ResourcesSpec, Task } from './types.js';
import { pathString } from './patterns.js';
import {
  type AcceleratorChoice,
  normalizeCloudName,
  parseAccelerators,
  parseAutostop,
  parseDiskSize,
  parseInfra,
  parseJobRecovery,
  parsePorts,
  parseQuantity,
  parseSize,
} from './values.js';
import type { Path, SourceDoc } from './yaml.js';

const LOCATION_KEYS = ['infra', 'cloud', 'region', 'zone'] as const;

/** A task that asks for nothing and runs nothing: the base of `launch -- CMD` and of an empty YAML. */
export function blankTask(extra: Partial<Task> = {}): Task {
  return { numNodes: 1, resources: { mode: 'single', candidates: [defaultResources()] }, envs: {}, secrets: {}, fileMounts: [], ...extra };
}

export function defaultResources(): ResourcesSpec {
  return { infra: {}, useSpot: false, ports: [], labels: {} };
}

/** Runs a value parser; a ValueProblem becomes a SpecError at `path`. */
export function atPath<T>(doc: SourceDoc, path: Path, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValueProblem) throw new SpecError(`${pathString(path)}: ${err.message}`, doc.pos(path));
    throw err;
  }
}

/** A candidate's fields, each remembering the path it was written at (base or item). */
type Located = Map<keyof RawCandidate, { value: unknown; path: Path }>;

function locate(raw: RawCandidate, base: Path): Located {
  const m: Located = new Map();
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) m.set(k as keyof RawCandidate, { value: v, path: [...base, k] });
  return m;
}

function mergeOver(base: Located, item: Located): Located {
  const out = new Map(base);
  if (LOCATION_KEYS.some((k) => item.has(k))) for (const k of LOCATION_KEYS) out.delete(k);
  if (item.has('accelerators') || item.has('gpus')) {
    out.delete('accelerators');
    out.delete('gpus');
  }
  if (item.has('job_recovery') || item.has('spot_recovery')) {
    out.delete('job_recovery');
    out.delete('spot_recovery');
  }
  for (const [k, v] of item) out.set(k, v);
  return out;
}

function infraOf(doc: SourceDoc, f: Located): InfraSelector {
  const infra = f.get('infra');
  const legacy = (['cloud', 'region', 'zone'] as const).filter((k) => f.has(k));
  if (infra && legacy.length > 0) {
    const first = f.get(legacy[0]!)!;
    doc.fail(first.path, `${pathString(first.path)}: cannot be combined with 'infra' (${String(infra.value)}); put it all in infra, e.g. infra: aws/us-east-1`, 'key');
  }
  if (infra) return atPath(doc, infra.path, () => parseInfra(String(infra.value)));
  const sel: InfraSelector = {};
  const cloud = f.get('cloud');
  if (cloud) sel.cloud = atPath(doc, cloud.path, () => normalizeCloudName(String(cloud.value)));
  const region = f.get('region');
  if (region) sel.region = String(region.value);
  const zone = f.get('zone');
  if (zone) sel.zone = String(zone.value);
  return sel;
}

function acceleratorsOf(doc: SourceDoc, f: Located): AcceleratorChoice | undefined {
  const acc = f.get('accelerators');
  const gpus = f.get('gpus');
  if (acc && gpus) doc.fail(gpus.path, `${pathString(gpus.path)}: 'gpus' is another name for 'accelerators'; set only one`, 'key');
  const a = acc ?? gpus;
  if (!a) return undefined;
  const choice = atPath(doc, a.path, () => parseAccelerators(a.value));
  if (choice.items.length > MAX_CANDIDATES) {
    doc.fail(a.path, `${pathString(a.path)}: ${choice.items.length} accelerators; a task may list at most ${MAX_CANDIDATES} (the limit)`);
  }
  return choice;
}

function candidate(doc: SourceDoc, f: Located, allowUnsupported: boolean): { spec: ResourcesSpec; acc?: AcceleratorChoice } {
  const spec = defaultResources();
  spec.infra = infraOf(doc, f);
  const acc = acceleratorsOf(doc, f);
  if (acc) spec.accelerators = acc.items;
  const get = (k: keyof RawCandidate) => f.get(k);
  const parse = <T>(k: keyof RawCandidate, fn: (v: unknown) => T): T | undefined => {
    const e = get(k);
    return e ? atPath(doc, e.path, () => fn(e.value)) : undefined;
  };
  spec.cpus = parse('cpus', parseQuantity);
  spec.memory = parse('memory', (v) => parseSize(v));
  spec.diskSize = parse('disk_size', parseDiskSize);
  spec.ports = parse('ports', parsePorts) ?? [];
  spec.autostop = parse('autostop', parseAutostop);
  const jr = get('job_recovery');
  const legacyJr = get('spot_recovery');
  if (jr && legacyJr) doc.fail(legacyJr.path, `${pathString(legacyJr.path)}: old name of 'job_recovery'; set only one`, 'key');
  const recovery = jr ?? legacyJr;
  if (recovery) spec.jobRecovery = atPath(doc, recovery.path, () => parseJobRecovery(recovery.value));
  const str = (k: keyof RawCandidate) => (get(k)?.value as string | undefined) ?? undefined;
  spec.instanceType = str('instance_type');
  spec.diskTier = str('disk_tier')?.toLowerCase();
  spec.networkTier = str('network_tier')?.toLowerCase();
  spec.useSpot = (get('use_spot')?.value as boolean | undefined) ?? false;
  spec.labels = { ...((get('labels')?.value as Record<string, string> | undefined) ?? {}) };
  const args = get('accelerator_args')?.value as Record<string, unknown> | undefined;
  if (args) spec.acceleratorArgs = { ...args };
  const image = get('image_id')?.value as string | Record<string, string> | null | undefined;
  // A docker image where no container runtime can take it (a named infra other than kubernetes)
  // is a warning in dry runs, and left out.
  const cloud = spec.infra.cloud;
  const noContainers = cloud !== undefined && cloud !== '*' && cloud !== 'kubernetes' && cloud !== 'k8s';
  if (image !== null && image !== undefined && !(allowUnsupported && isDockerImage(image) && noContainers)) {
    spec.imageId = typeof image === 'string' ? image : { ...image };
  }
  for (const k of Object.keys(spec) as (keyof ResourcesSpec)[]) if (spec[k] === undefined) delete spec[k];
  return { spec, acc };
}

/** Normalizes `resources:` (undefined → one default candidate). */
export function normalizeResources(doc: SourceDoc, raw: RawResources | undefined, allowUnsupported: boolean): ResourcesChoice {
  if (!raw) return { mode: 'single', candidates: [defaultResources()] };
  const { any_of: anyOf, ordered, ...baseRaw } = raw;
  if (anyOf && ordered) doc.fail(['resources', 'ordered'], "resources: set 'any_of' or 'ordered', not both", 'key');
  const base = locate(baseRaw, ['resources']);
  const items = anyOf ?? ordered;
  const listKey = anyOf ? 'any_of' : 'ordered';
  if (items) {
    if (items.length === 0) doc.fail(['resources', listKey], `resources.${listKey}: list at least one candidate`);
    if (items.length > MAX_CANDIDATES) {
      doc.fail(['resources', listKey], `resources.${listKey}: ${items.length} candidates; a task may list at most ${MAX_CANDIDATES} (the limit)`, 'key');
    }
    const candidates = items.map((item, i) => candidate(doc, mergeOver(base, locate(item, ['resources', listKey, i])), allowUnsupported).spec);
    return { mode: anyOf ? 'any_of' : 'ordered', candidates };
  }
  const { spec, acc } = candidate(doc, base, allowUnsupported);
  // A list of accelerators means "try these in order": one ordered candidate per accelerator.
  if (acc && acc.ordered && acc.items.length > 1) {
    return { mode: 'ordered', candidates: acc.items.map((a) => ({ ...structuredClone(spec), accelerators: [a] })) };
  }
  return { mode: 'single', candidates: [spec] };
}
