// Runs the chaos scenarios (each in its own ALOFT_HOME) and sums what they found. Used by
// `npm run chaos` (main.ts, full sizes) and by the smoke test in `npm test` (small sizes).
import { makeHome } from '../helpers/cli.js';
import { agentKills, type AgentKillOptions } from './agent-kills.js';
import { apiFuzz, type ApiFuzzOptions } from './api-fuzz.js';
import { daemonKills, type DaemonKillOptions } from './daemon-kills.js';
import { execStorm, type ExecStormOptions } from './exec-storm.js';
import { COUNT_NAMES, daemonAlive, scanDaemonLog, Tally, zeroCounts, type CountName, type Counts } from './lib.js';
import { yamlFuzz, type YamlFuzzOptions } from './yaml-fuzz.js';

export interface ChaosPlan {
  daemonKills?: Omit<DaemonKillOptions, 'seed'>;
  agentKills?: Omit<AgentKillOptions, 'seed'>;
  execStorm?: Omit<ExecStormOptions, 'seed'>;
  yamlFuzz?: Omit<YamlFuzzOptions, 'seed'>;
  apiFuzz?: Omit<ApiFuzzOptions, 'seed'>;
}

export const FULL: Required<ChaosPlan> = {
  daemonKills: { stages: ['OPTIMIZE', 'PROVISION', 'START_AGENTS', 'SYNC_WORKDIR', 'SYNC_FILE_MOUNTS', 'SETUP', 'SUBMITTED'], repeats: 3, recoveryKills: 7, randomKills: 10 },
  agentKills: { variants: ['head-agent', 'head-node', 'worker-agent', 'worker-node'], repeats: 3 },
  execStorm: { clusters: 3, execs: 200, concurrency: 16, daemonKills: 4 },
  yamlFuzz: { mutations: 400, throughCli: 80, heavy: true },
  apiFuzz: { valuesPerField: 16, slowClients: 50, hugeBody: true },
};

/** The subset in `npm test`: one of each kind of crash, small fuzz runs. */
export const SMOKE: Required<ChaosPlan> = {
  daemonKills: { stages: ['SUBMITTED'], repeats: 1, recoveryKills: 1, randomKills: 0 },
  agentKills: { variants: ['head-node'], repeats: 1 },
  execStorm: { clusters: 2, execs: 8, concurrency: 8, daemonKills: 1 },
  // the heavy specials (megabytes, thousands of keys) are unit tests (spec-limits.test.ts)
  yamlFuzz: { mutations: 80, throughCli: 2, heavy: false },
  apiFuzz: { valuesPerField: 1, slowClients: 0, hugeBody: false },
};

export interface ScenarioResult {
  name: string;
  tally: Tally;
  seconds: number;
}

const SCENARIOS = {
  daemonKills: { label: 'daemon SIGKILLed at each launch stage, at random, and in its recovery', run: daemonKills },
  agentKills: { label: 'agents SIGKILLed mid-job on a 2-node cluster, then `aloft start`', run: agentKills },
  execStorm: { label: 'concurrent execs across clusters with daemon kills', run: execStorm },
  yamlFuzz: { label: 'YAML fuzzer: corpus mutations and hostile specials', run: yamlFuzz },
  apiFuzz: { label: 'API fuzzer: every method x wrong types, prototype names, huge bodies, slow clients', run: apiFuzz },
} as const;

/**
 * Runs the plan's scenarios in order. Each gets a fresh ALOFT_HOME, unless `shareHome` (the smoke
 * run: one home and daemon for all, which saves a daemon start and a teardown per scenario; the
 * scenarios remove their own clusters).
 */
export async function runChaos(
  plan: ChaosPlan,
  seed: number,
  opts: { shareHome?: boolean; onDone?: (r: ScenarioResult) => void } = {},
): Promise<{ results: ScenarioResult[]; total: Counts }> {
  const results: ScenarioResult[] = [];
  const shared = opts.shareHome ? makeHome('aloft-chaos-') : undefined;
  let logLine = 0;
  try {
    for (const key of Object.keys(SCENARIOS) as (keyof typeof SCENARIOS)[]) {
      const o = plan[key];
      if (!o) continue;
      const a = shared ?? makeHome('aloft-chaos-');
      const t = new Tally();
      const started = Date.now();
      try {
        await (SCENARIOS[key].run as (a: unknown, t: Tally, o: unknown) => Promise<void>)(a, t, { ...o, seed });
        // the daemon's own account: 500s it answered and fatal errors it logged, and whether it
        // lives (a daemon was started: its pid file is there; the kill scenarios kill it on purpose)
        logLine = scanDaemonLog(a, t, shared ? logLine : 0);
        if (key !== 'daemonKills' && key !== 'execStorm' && a.daemonPid() !== undefined && !daemonAlive(a)) t.add('daemonCrashes', 1, `${key}: the daemon died`);
      } catch (err) {
        t.notes.push(`scenario error: ${(err as Error).stack ?? String(err)}`);
        t.extra['scenario errors'] = (t.extra['scenario errors'] ?? 0) + 1;
      } finally {
        if (!shared) await a.cleanup();
      }
      const r = { name: SCENARIOS[key].label, tally: t, seconds: Math.round((Date.now() - started) / 1000) };
      results.push(r);
      opts.onDone?.(r);
    }
  } finally {
    await shared?.cleanup();
  }
  const total = zeroCounts();
  for (const r of results) for (const k of Object.keys(total) as CountName[]) total[k] += r.tally.counts[k];
  return { results, total };
}

/** The report `npm run chaos` prints (and BENCHMARKS.md records). */
export function report(results: ScenarioResult[], total: Counts): string {
  const lines: string[] = [];
  lines.push('| scenario | cases | time |', '|---|---|---|');
  for (const r of results) lines.push(`| ${r.name} | ${r.tally.runs} | ${r.seconds} s |`);
  lines.push('', '| count (goal 0) | found |', '|---|---|');
  for (const [k, label] of Object.entries(COUNT_NAMES)) lines.push(`| ${label} | ${total[k as CountName]} |`);
  const extra = new Map<string, number>();
  for (const r of results) for (const [k, v] of Object.entries(r.tally.extra)) extra.set(k, (extra.get(k) ?? 0) + v);
  for (const [k, v] of extra) lines.push(`| ${k} | ${v} |`);
  const notes = results.flatMap((r) => r.tally.notes);
  if (notes.length) lines.push('', 'Findings:', ...notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** Everything that should be 0: the headline counts and the fuzzers' own (crashes, stack traces...). */
export function problems(results: ScenarioResult[], total: Counts): number {
  const extra = results.flatMap((r) => Object.entries(r.tally.extra)).filter(([k]) => k !== 'exec calls that failed' && k !== 'stage not reached' && k !== 'unexpected statuses');
  return Object.values(total).reduce((s, n) => s + n, 0) + extra.reduce((s, [, n]) => s + n, 0);
}
