// Parsers for the value syntaxes shared by YAML fields and CLI flags: "4+", "64GB", "A100:8",
// "10000-10010", "1h", "aws/us-east-1". They throw ValueProblem; callers add the position/flag.
import { ValueProblem, describeValue, didYouMean } from './errors.js';
import { QUANTITY_RE, SIZE_RE } from './patterns.js';
import type { AcceleratorRequest, AutostopSpec, InfraSelector, JobRecovery, JobRecoveryStrategy, Quantity } from './types.js';

const bad = (expected: string, v: unknown): never => {
  throw new ValueProblem(`expected ${expected}, got ${describeValue(v)}`);
};

/** cpus: 4, "4", "4+", "4.5" */
export function parseQuantity(v: unknown): Quantity {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return { value: v, atLeast: false };
  if (typeof v === 'string' && QUANTITY_RE.test(v)) {
    const s = v.trim();
    const value = Number(s.replace(/\s*\+$/, ''));
    if (value > 0) return { value, atLeast: s.endsWith('+') };
  }
  return bad('a number or "N+"', v);
}

const SIZE_UNITS: Record<string, number> = { k: 1 / (1024 * 1024), m: 1 / 1024, g: 1, t: 1024, p: 1024 * 1024 };

/** A size in GiB: 32, "32+", "64GB", "1024MB+", "1TB". A bare number means GB. */
export function parseSize(v: unknown, expected = 'a number of GB, "N+", or a size like "64GB"'): Quantity {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return { value: v, atLeast: false };
  if (typeof v === 'string' && SIZE_RE.test(v)) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp])?i?b?\s*(\+)?\s*$/i.exec(v);
    if (m) {
      const value = Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'g').toLowerCase()] ?? 1);
      if (value > 0) return { value, atLeast: m[3] === '+' };
    }
  }
  return bad(expected, v);
}

/** disk_size: whole GB; "1500MB" floors to 1 as in SkyPilot. */
export function parseDiskSize(v: unknown): number {
  if (typeof v === 'number' && !Number.isInteger(v)) bad('a whole number of GB or a size like "256GB"', v);
  const q = parseSize(v, 'a whole number of GB or a size like "256GB"');
  if (q.atLeast) bad('a whole number of GB or a size like "256GB"', v);
  const gb = Math.floor(q.value);
  if (gb < 1) bad('at least 1 GB', v);
  return gb;
}

/** One "NAME[:COUNT]" item; a count may be a fraction below 1 (a shared GPU). */
export function parseAcceleratorItem(s: string, count?: number | null): AcceleratorRequest {
  const text = s.trim();
  const m = /^([^:\s]+)(?::\s*([0-9]*\.?[0-9]+))?$/.exec(text);
  if (!m) return bad('"NAME" or "NAME:COUNT" like "A100:8"', s);
  const name = m[1]!;
  if (m[2] !== undefined && count !== undefined && count !== null) {
    throw new ValueProblem(`'${text}' has a count in both the name and the value`);
  }
  const n = count ?? (m[2] !== undefined ? Number(m[2]) : 1);
  checkCount(n, text);
  return { name, count: n };
}

function checkCount(n: number, what: string): void {
  if (!Number.isFinite(n) || n <= 0) throw new ValueProblem(`accelerator count for '${what}' must be above 0, got ${n}`);
  if (n > 1 && !Number.isInteger(n)) throw new ValueProblem(`accelerator count for '${what}' must be a whole number or a fraction below 1, got ${n}`);
}

export interface AcceleratorChoice {
  /** alternatives, in the order written */
  items: AcceleratorRequest[];
  /** a YAML list means "try in this order"; a mapping/set means "any of" */
  ordered: boolean;
}

/**
 * "A100:8", "A100", {A100: 8, H100: 8}, {"A100:8", "H100:8"} (a YAML set: keys with null values),
 * ["H100:8", "A100:8"], and the same set/list forms written as a string (from a CLI flag).
 */
export function parseAccelerators(v: unknown): AcceleratorChoice {
  if (typeof v === 'string') {
    const s = v.trim();
    const inner = /^\{(.*)\}$/.exec(s) ?? /^\[(.*)\]$/.exec(s);
    if (inner) {
      const parts = inner[1]!.split(',').map((p) => p.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean);
      if (parts.length === 0) bad('at least one accelerator', v);
      return { items: dedupe(parts.map((p) => parseAcceleratorItem(p))), ordered: s.startsWith('[') };
    }
    return { items: [parseAcceleratorItem(s)], ordered: false };
  }
  if (Array.isArray(v)) {
    if (v.length === 0) bad('at least one accelerator', v);
    return {
      items: dedupe(v.map((x) => (typeof x === 'string' ? parseAcceleratorItem(x) : bad('"NAME:COUNT" items', x)))),
      ordered: true,
    };
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) bad('at least one accelerator', v);
    return {
      items: dedupe(
        entries.map(([k, c]) => {
          if (c !== null && c !== undefined && typeof c !== 'number') bad(`a count for '${k}'`, c);
          return parseAcceleratorItem(k, c as number | null);
        }),
      ),
      ordered: false,
    };
  }
  return bad('"NAME:COUNT", a mapping {NAME: COUNT}, or a list of "NAME:COUNT"', v);
}

function dedupe(items: AcceleratorRequest[]): AcceleratorRequest[] {
  const seen = new Set<string>();
  return items.filter((a) => {
    const k = `${a.name.toLowerCase()}:${a.count}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** ports: 8080, "8080", "10000-10010", or a list of those; returned as strings. */
export function parsePorts(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const item of list) {
    const s = typeof item === 'number' ? String(item) : typeof item === 'string' ? item.trim() : bad('a port or a range', item);
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(s);
    if (!m) bad('a port or a range like "10000-10010"', item);
    const lo = Number(m![1]);
    const hi = m![2] !== undefined ? Number(m![2]) : lo;
    if (lo < 1 || hi > 65535) bad('ports between 1 and 65535', item);
    if (hi < lo) bad('a range with the lower port first', item);
    const norm = hi === lo ? String(lo) : `${lo}-${hi}`;
    if (!out.includes(norm)) out.push(norm);
  }
  return out;
}

const DEFAULT_IDLE_MINUTES = 5;
const TIME_UNITS: Record<string, number> = { m: 1, h: 60, d: 60 * 24, w: 60 * 24 * 7 };

function parseMinutes(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*([mhdw])?\s*$/i.exec(v);
    if (m) return Number(m[1]) * TIME_UNITS[(m[2] ?? 'm').toLowerCase()]!;
  }
  return bad('minutes like 10, "10m", "1h", "2d"', v);
}

/** true | false | minutes | "10m"/"1h" | {idle_minutes, down, wait_for}. `false` = off (-1). */
export function parseAutostop(v: unknown): AutostopSpec {
  if (v === true) return { idleMinutes: DEFAULT_IDLE_MINUTES, down: false };
  if (v === false) return { idleMinutes: -1, down: false };
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { idle_minutes?: unknown; down?: unknown; wait_for?: unknown };
    const spec: AutostopSpec = {
      idleMinutes: o.idle_minutes === undefined ? DEFAULT_IDLE_MINUTES : parseMinutes(o.idle_minutes),
      down: o.down === true,
    };
    if (typeof o.wait_for === 'string') spec.waitFor = o.wait_for.toLowerCase() as AutostopSpec['waitFor'];
    return spec;
  }
  return { idleMinutes: parseMinutes(v), down: false };
}

const STRATEGIES: JobRecoveryStrategy[] = ['EAGER_NEXT_REGION', 'FAILOVER'];

function parseStrategy(v: unknown): JobRecoveryStrategy | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'string') return bad('FAILOVER or EAGER_NEXT_REGION', v);
  const s = v.trim().toUpperCase().replace(/-/g, '_');
  if (s === 'NONE' || s === '') return undefined;
  if ((STRATEGIES as string[]).includes(s)) return s as JobRecoveryStrategy;
  throw new ValueProblem(`unknown recovery strategy '${v}'${didYouMean(s, STRATEGIES)} (expected FAILOVER or EAGER_NEXT_REGION)`);
}

/** job_recovery: "FAILOVER" | {strategy, max_restarts_on_errors, recover_on_exit_codes} */
export function parseJobRecovery(v: unknown): JobRecovery {
  if (v === null || typeof v === 'string') return { strategy: parseStrategy(v), maxRestartsOnErrors: 0, recoverOnExitCodes: [] };
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { strategy?: unknown; max_restarts_on_errors?: number; recover_on_exit_codes?: number | number[] };
    const codes = o.recover_on_exit_codes === undefined ? [] : Array.isArray(o.recover_on_exit_codes) ? o.recover_on_exit_codes : [o.recover_on_exit_codes];
    for (const c of codes) if (c < 0 || c > 255) bad('exit codes between 0 and 255', c);
    return { strategy: parseStrategy(o.strategy), maxRestartsOnErrors: o.max_restarts_on_errors ?? 0, recoverOnExitCodes: [...new Set(codes)] };
  }
  return bad('a strategy name or {strategy, max_restarts_on_errors}', v);
}

/** Clouds SkyPilot knows, plus aloft's `local`. Anything else in infra is a typo until proven otherwise. */
export const KNOWN_CLOUDS = [
  'local', 'ssh', 'kubernetes', 'k8s', 'aws', 'gcp', 'azure', 'lambda', 'runpod', 'oci', 'ibm', 'scp', 'vsphere', 'cudo',
  'fluidstack', 'paperspace', 'do', 'nebius', 'vast', 'hyperbolic', 'seeweb', 'shadeform', 'primeintellect', 'slurm',
  'coreweave', 'together', 'mithril', 'yotta',
];
const CLOUD_ALIASES: Record<string, string> = { k8s: 'kubernetes' };

export function normalizeCloudName(c: string): string {
  const s = c.trim().toLowerCase();
  if (!KNOWN_CLOUDS.includes(s)) throw new ValueProblem(`unknown cloud '${c}'${didYouMean(s, KNOWN_CLOUDS)}`);
  return CLOUD_ALIASES[s] ?? s;
}

/** local | ssh/POOL | k8s/CONTEXT | aws | aws/us-east-1 | aws/us-east-1/us-east-1a | * /REGION | aws/* /ZONE */
export function parseInfra(s: string): InfraSelector {
  const text = s.trim();
  if (!text) bad('an infra like aws/us-east-1, k8s/CONTEXT, ssh/POOL or local', s);
  const parts = text.split('/');
  const head = parts[0]!;
  const any = (p: string | undefined) => (p === undefined || p === '' || p === '*' ? undefined : p);
  if (head === '*') {
    if (parts.length > 3) bad('at most cloud/region/zone', s);
    return dropUndefined({ region: any(parts[1]), zone: any(parts[2]) });
  }
  const cloud = normalizeCloudName(head);
  if (cloud === 'kubernetes' || cloud === 'ssh') {
    // contexts and pool names may themselves contain slashes (EKS ARNs)
    return dropUndefined({ cloud, region: any(parts.slice(1).join('/')) });
  }
  if (parts.length > 3) bad('at most cloud/region/zone', s);
  if (parts.some((p, i) => i > 0 && p === '')) bad('no empty parts in cloud/region/zone', s);
  return dropUndefined({ cloud, region: any(parts[1]), zone: any(parts[2]) });
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
