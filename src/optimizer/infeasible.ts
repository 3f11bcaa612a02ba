// Why a task cannot run anywhere: the one-line error that names what was asked, the enabled
// infra and each one's reason, plus the cheapest fit on infra that is not usable here.
import type { ResourcesSpec, Task } from '../spec/types.js';
import type { Catalog } from '../catalog/catalog.js';
import { describeMatcher, resolveAccelerator } from '../catalog/accelerators.js';
import { unavailableReason, type Request } from './filter.js';
import { formatInfra, isLiveInfra, normalizeCloud } from './infra.js';
import { describeCandidate } from './render.js';
import type { Candidate, ConsideredRow, OptimizeContext } from './types.js';

// Pipeline stage at which a reason was found: later stages make better "why" hints.
const STAGES: Array<[RegExp, number]> = [
  [/^(infra is|region|zone)/, 1],
  [/^(local is|not in allowed)/, 2],
  [/^no credentials/, 3],
  [/^instance type/, 4],
  [/^blocked/, 9],
  [/^(only \d+ node|no spot|no on-demand)/, 8],
  [/(vCPUs|memory|default)/, 6],
];
export const stageOf = (reason: string) => STAGES.find(([re]) => re.test(reason))?.[1] ?? 5;

/** What the request asks for, for error messages: "A100:8 in aws/us-west-2". */
export function describeRequest(rs: ResourcesSpec, numNodes = 1): string {
  const parts: string[] = [];
  if (rs.accelerators?.length) {
    parts.push(
      rs.accelerators
        .map((a) => {
          try {
            return describeMatcher(resolveAccelerator(a.name, a.count));
          } catch {
            return `${a.name}:${a.count}`;
          }
        })
        .join(' or '),
    );
  }
  if (rs.instanceType) parts.push(rs.instanceType);
  if (rs.cpus) parts.push(`cpus=${rs.cpus.value}${rs.cpus.atLeast ? '+' : ''}`);
  if (rs.memory) parts.push(`memory=${rs.memory.value}${rs.memory.atLeast ? '+' : ''}`);
  if (rs.useSpot) parts.push('spot');
  let s = parts.length ? parts.join(', ') : 'a node';
  if (numNodes > 1) s = `${numNodes}x ${s}`;
  const where = rs.infra.cloud || rs.infra.region || rs.infra.zone ? ` in ${formatInfra(rs.infra)}` : '';
  return s + where;
}

/**
 * The one line for a task nothing enabled can run: what was asked, which infra are enabled, why
 * each of them cannot take it, and (as a hint) the cheapest fit on infra that is not usable here.
 */
export function infeasibleMessage(
  task: Task,
  specs: ResourcesSpec[],
  reqs: Request[],
  rowsPerSpec: ConsideredRow[][],
  elsewhere: Candidate[],
  catalog: Catalog,
  ctx: OptimizeContext,
  cmp: (a: Candidate, b: Candidate) => number,
): string {
  const enabled = [...reqs[0]!.enabled];
  const what = specs.map((rs) => describeRequest(rs, task.numNodes)).join(' or ');
  const why: string[] = [];
  const named = [...new Set(reqs.map((r) => r.namedCloud))];
  if (named.length === 1 && named[0] !== undefined) {
    // One infra named: why that one cannot take it.
    const req = reqs[0]!;
    const cloud = named[0];
    const rows = rowsPerSpec.flat();
    if (cloud !== 'local' && !isLiveInfra(cloud) && !catalog.clouds.includes(cloud)) {
      why.push(`${cloud}: ${infeasibleReason(req, rowsPerSpec[0]!, catalog)}`);
    } else if (cloud !== 'local' && !req.enabled.has(cloud)) {
      why.push(`${cloud}: ${isLiveInfra(cloud) && !req.usable.has(cloud) ? (ctx.liveProblems?.[cloud] ?? 'not configured here (see `aloft check`)') : unavailableReason(req, cloud)}`);
    } else if (isLiveInfra(cloud) || cloud === 'local') {
      why.push(...liveReasons(cloud, rows, ctx, req.rs.infra.region));
    } else {
      why.push(infeasibleReason(req, rowsPerSpec[0]!, catalog));
    }
  } else {
    const rows = rowsPerSpec.flat();
    for (const infra of enabled) {
      if (isLiveInfra(infra) || infra === 'local') why.push(...liveReasons(infra, rows, ctx));
      else why.push(`${infra}: ${bestExclusion(rows.filter((r) => r.cloud === infra)) ?? `its catalog has no ${what}`}`);
    }
    if (!enabled.length) why.push('no infra is enabled here (see `aloft check`)');
  }
  const hint = [...elsewhere].sort(cmp)[0];
  const tail = hint ? `; would fit on ${describeCandidate(hint).replace(/ \((no \S+ credentials here)\)$/, ', but $1')}` : '';
  return `no infra offers ${what} (enabled: ${enabled.join(', ') || 'none'}): ${why.join('; ')}${tail}`;
}

/** The most telling exclusion among rows (the one that got furthest through the checks). */
function bestExclusion(rows: ConsideredRow[]): string | undefined {
  const ex = rows.filter((r) => r.excluded);
  if (!ex.length) return undefined;
  const rank = (r: ConsideredRow) => stageOf(r.excluded ?? '') + (r.offerings ?? 0) / 1e6;
  return [...ex].sort((a, b) => rank(b) - rank(a))[0]!.excluded;
}

/** Per target of a live infra (local, each ssh pool or kubernetes context): why it cannot take the task. */
function liveReasons(infra: string, rows: ConsideredRow[], ctx: OptimizeContext, only?: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (r.cloud !== infra || !r.excluded || (only && r.region !== only)) continue;
    const key = infra === 'local' ? 'local' : `${infra}/${r.region}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const problem = ctx.liveProblems?.[key];
    out.push(`${key}: ${r.excluded}${problem && /^only \d+ node/.test(r.excluded) ? ` (${problem})` : ''}`);
  }
  for (const [key, problem] of Object.entries(ctx.liveProblems ?? {})) {
    const [cloud, ...rest] = key.split('/');
    if (normalizeCloud(cloud!) !== infra || seen.has(key) || (only && rest.join('/') !== only)) continue;
    seen.add(key);
    out.push(`${key}: ${problem}`);
  }
  if (!out.length) out.push(`${infra}: ${only ? `${infra}/${only}` : infra} has no live offerings here (see \`aloft check\`)`);
  return out;
}

/** The one-line "why" for an infeasible request: the most telling exclusion. */
function infeasibleReason(req: Request, rows: ConsideredRow[], catalog: Catalog): string {
  const cloud = req.namedCloud;
  if (cloud && !rows.some((r) => r.cloud === cloud)) {
    if (isLiveInfra(cloud) || cloud === 'local') return `${cloud} has no live offerings here (see \`aloft check\`)`;
    if (!catalog.clouds.includes(cloud)) {
      return `there is no ${cloud} catalog (shipped: ${catalog.clouds.join(', ') || 'none'}; try \`aloft catalog pull --cloud ${cloud}\`)`;
    }
    if (req.matchers.length) return `${cloud}'s catalog has no ${req.matchers.map(describeMatcher).join(' or ')}`;
  }
  if (rows.length === 0) {
    if (req.rs.instanceType) return `instance type ${req.rs.instanceType} is not in the catalog (\`aloft catalog pull\` refreshes it)`;
    if (req.matchers.length) return `no catalog or live offering has ${req.matchers.map(describeMatcher).join(' or ')}`;
    return 'no offerings to choose from';
  }
  // Prefer the reason of a row that got furthest through the checks.
  const rank = (r: ConsideredRow) => stageOf(r.excluded ?? '') + (r.offerings ?? 0) / 1e6;
  const best = [...rows].sort((a, b) => rank(b) - rank(a))[0]!;
  const where = best.instanceType ?? (best.live ? `${best.cloud}/${best.region}` : best.cloud);
  return `e.g. ${best.cloud} ${where === best.cloud ? '' : where + ': '}${best.excluded}`.replace(/\s+:/, ':');
}
