// Issue 14: SkyPilot's own examples, run for real on the local infra, unchanged but for
// `--infra local` where they name a cloud (and values for the envs they leave empty, which a
// SkyPilot user passes too). Each example is one of:
//   - RUN: SkyPilot could run it on a CPU VM without network — it runs here, and its documented
//     outcome (exit status, key lines) is checked;
//   - NOT RUN: aloft would launch it, but it needs what this machine cannot give (the network,
//     conda as SkyPilot's images have it, files that are not in the corpus): one line says which;
//   - every other example: aloft refuses it (a GPU, a cloud-only feature, more CPUs than this
//     machine has) — launched for real, it must fail with one clear line, no stack trace.
// Prints the tally; docs/BENCHMARKS.md § Compatibility records it. Reads
// ../shared/skypilot-yaml-corpus when present.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusDir, makeHome, type AloftEnv, type RunResult } from '../helpers/cli.js';

const CORPUS = corpusDir() ?? '';
const files = CORPUS ? readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f)).sort() : [];

interface Run {
  /** managed job (`aloft jobs launch`), as the example is meant to be run */
  managed?: boolean;
  exit: number;
  /** each must match some line of the job's output (rank prefixes removed), `times` times */
  lines: Array<{ re: RegExp; times?: number }>;
  /** lines of the CLI's own output (stderr) */
  notes?: RegExp[];
  /** tools the example needs that SkyPilot's images have; not run where they are missing */
  needs?: string[];
}

const conda = ['conda'];
/** The examples that run here, and what SkyPilot documents they do. */
const RUN: Record<string, Run> = {
  'admin_policy_task.yaml': { exit: 0, lines: [{ re: /^setup$/ }, { re: /^run$/ }], notes: [/Note: local ignores labels \(other_labels\)/] },
  'azure_start_stop.yaml': { exit: 0, lines: [{ re: /^azure-start-stop \[setup\]$/ }, { re: /^azure-start-stop \[run\]$/ }] },
  'gcp_start_stop.yaml': { exit: 0, lines: [{ re: /^gcp_start_stop \[setup\]$/, times: 2 }, { re: /^gcp_start_stop \[run\]$/, times: 2 }] },
  // bash -i: setup's line in ~/.bashrc reaches run, on both nodes; two distinct node IPs.
  'env_check.yaml': {
    exit: 0,
    lines: [
      { re: /^TEST_VAR is set to test$/, times: 2 },
      { re: /^SKYPILOT_NODE_RANK is set to 0$/ },
      { re: /^SKYPILOT_NODE_RANK is set to 1$/ },
      { re: /^Worker IP: \d+\.\d+\.\d+\.\d+$/, times: 2 },
      { re: /^SKYPILOT_TASK_ID is set to sky-/, times: 2 },
    ],
  },
  // each node its own hostname (the cluster's name; see clusterName below)
  'multi_hostname.yaml': { exit: 0, lines: [{ re: /^My hostname: x-multi-hostname-head$/ }, { re: /^My hostname: x-multi-hostname-worker1$/ }] },
  'oci_oci_cpu-sky.yaml': { exit: 0, lines: [{ re: /^\*\*\* Running setup for the task\. \*\*\*$/, times: 2 }, { re: /^The task is completed\.$/, times: 2 }], notes: [/Note: local ignores instance_type/] },
  'oci_oci_cpu-sky-preemptible.yaml': { exit: 0, lines: [{ re: /^\*\*\* Running the task on OCI \(Preemptible\) \*\*\*$/, times: 2 }, { re: /^The task is completed\.$/, times: 2 }] },
  // conda is missing here as the example's first command fails, then it exits 1 — as documented.
  'playground_min_fail.yaml': { exit: 100, lines: [{ re: /^running setup$/ }], notes: [/^Job 1 FAILED \(exit code 1\)\./] },
  'spot_pipeline_single.yaml': { managed: true, exit: 0, lines: [{ re: /^run for task 1$/ }] },
  'minimal.yaml': { exit: 0, lines: [{ re: /^running setup$/ }], needs: conda },
  'image_with_tag.yaml': { exit: 0, lines: [{ re: /^running setup$/ }], needs: conda },
  'disk_size.yaml': { exit: 0, lines: [{ re: /^running setup$/ }], needs: conda },
};

/** Examples aloft would launch that cannot work on this machine, and why (one line each). */
const NOT_RUN: Record<string, string> = {
  'autogluon.yaml': 'needs the network (git clone, pip install autogluon)',
  'enable_docker_buildkit_cluster.yaml': "needs Kubernetes' docker in the pod (config.kubernetes.enable_docker)",
  'enable_docker_dind_cluster.yaml': "needs Kubernetes' docker in the pod (config.kubernetes.enable_docker)",
  'jupyter_lab_jupyter_lab.yaml': 'needs the network (pip install jupyter)',
  'managed_job.yaml': "needs conda (SkyPilot's images have it), and counts for 4 minutes by design",
  'managed_spot.yaml': "needs conda (SkyPilot's images have it), and counts for 4 minutes by design",
  'marimo_marimo.yaml': 'needs the network (pip install uv; uvx marimo)',
  'mpirun.yaml': 'needs the network (apt install openmpi)',
  'openclaw_openclaw.yaml': 'needs the network (nodesource, npm) and an Anthropic API key',
  'playground_min_progress_bar.yaml': "needs conda and tqdm, preinstalled on SkyPilot's images",
  'ray_basic_ray.yaml': "needs SkyPilot's ~/sky_templates/ray and the example's main.py (not in the corpus)",
  'streamlit_streamlit.sky.yaml': "needs the example's app.py (not in the corpus) and the network (pip install streamlit)",
  'tpu_v6e_benchmark-llama2-7b.yaml': 'runs on the TPU cluster of tpu_v6e_serve (a JetStream checkout)',
};

const onPath = (tool: string) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0;

interface Docs {
  nullEnvs: string[];
  namesCloud: boolean;
}

function inspect(path: string): Docs {
  const out: Docs = { nullEnvs: [], namesCloud: false };
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const js = (doc as { toJS?: () => unknown }).toJS?.() as Record<string, Record<string, unknown> | undefined> | null;
    if (!js || typeof js !== 'object') continue;
    for (const [k, v] of Object.entries(js.envs ?? {})) if (v === null) out.nullEnvs.push('--env', `${k}=dummy`);
    for (const [k, v] of Object.entries(js.secrets ?? {})) if (v === null) out.nullEnvs.push('--secret', `${k}=dummy`);
    const res = js.resources as Record<string, unknown> | undefined;
    const cands = [res, ...((res?.any_of as unknown[]) ?? []), ...((res?.ordered as unknown[]) ?? [])] as Array<Record<string, unknown> | undefined>;
    if (cands.some((c) => c && (c.infra !== undefined || c.cloud !== undefined))) out.namesCloud = true;
  }
  return out;
}

/** Job output lines without the rank prefix of multi-node jobs. */
const jobLines = (stdout: string) => stdout.split('\n').map((l) => l.replace(/^\((head|worker\d+), rank=\d+, pid=\d+\) /, ''));

function clusterName(file: string): string {
  return ('x-' + file.replace(/\.ya?ml$/, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase()).slice(0, 28).replace(/-+$/, '');
}

describe.skipIf(files.length === 0)('SkyPilot examples, run for real on the local infra', () => {
  let a: AloftEnv;
  let cwd: string;
  beforeAll(() => {
    a = makeHome();
    // SkyPilot's examples resolve `workdir: .` from where they are run; here, an empty directory.
    cwd = mkdtempSync(join(tmpdir(), 'aloft-compat-'));
  });
  afterAll(async () => {
    await a.cleanup();
    rmSync(cwd, { recursive: true, force: true });
  });

  it(`runs what can run here, and refuses the rest in one line, for each of the ${files.length} examples`, async () => {
    await a.run(['daemon', 'start']);
    type Result = { file: string; kind: 'ran' | 'failed' | 'refused' | 'not-run'; why: string; ms: number };
    const results: Result[] = [];
    const queue = [...files];
    const started = Date.now();
    const one = async (file: string): Promise<Result> => {
      const path = join(CORPUS, file);
      const docs = inspect(path);
      const infra = docs.namesCloud ? ['--infra', 'local'] : [];
      const run = RUN[file];
      if (NOT_RUN[file]) return { file, kind: 'not-run', why: NOT_RUN[file]!, ms: 0 };
      const missing = run?.needs?.filter((t) => !onPath(t)) ?? [];
      if (run && missing.length) return { file, kind: 'not-run', why: `needs ${missing.join(', ')}, which SkyPilot's images have and this machine does not`, ms: 0 };
      const t0 = Date.now();
      let r: RunResult;
      if (run?.managed) r = await a.run(['jobs', 'launch', '-y', ...infra, ...docs.nullEnvs, path], { cwd, timeoutMs: 180_000 });
      else r = await a.run(['launch', '-y', '-c', clusterName(file), ...infra, ...docs.nullEnvs, path], { cwd, timeoutMs: 180_000 });
      const ms = Date.now() - t0;
      if (!run) {
        // Refused: one clear line, no stack trace, nothing launched.
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('aloft:') && !l.startsWith('aloft: warning:'));
        const ok = r.code !== 0 && lines.length === 1 && !/\n\s+at .*:\d+:\d+\)?/.test(r.stderr);
        const why = lines[0]?.replace(/^aloft: (launch failed at \w+: )?/, '').replace(/^[^ ]*\.ya?ml:\d+:\d+: /, '') ?? `exit ${r.code}`;
        return { file, kind: ok ? 'refused' : 'failed', why: ok ? why : `expected one line refusing it, got exit ${r.code}: ${r.stderr.slice(-400)}`, ms };
      }
      const out = jobLines(r.stdout);
      const problems: string[] = [];
      if (r.code !== run.exit) problems.push(`exit ${r.code}, documented ${run.exit}`);
      for (const l of run.lines) {
        const n = out.filter((x) => l.re.test(x)).length;
        if (n !== (l.times ?? 1)) problems.push(`${l.re} matched ${n} line(s), expected ${l.times ?? 1}`);
      }
      for (const re of run.notes ?? []) if (!r.stderr.split('\n').some((x) => re.test(x.trim()))) problems.push(`no line ${re} in the CLI's output`);
      return problems.length
        ? { file, kind: 'failed', why: `${problems.join('; ')}\n--- stdout\n${r.stdout.slice(-1500)}\n--- stderr\n${r.stderr.slice(-1500)}`, ms }
        : { file, kind: 'ran', why: `exit ${r.code} as documented`, ms };
    };
    // The runs first (they take longest), then the refusals, four at a time on this 2-CPU machine.
    queue.sort((x, y) => Number(!!RUN[y]) - Number(!!RUN[x]));
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let f = queue.shift(); f; f = queue.shift()) results.push(await one(f));
      }),
    );
    const total = Date.now() - started;
    const by = (k: Result['kind']) => results.filter((r) => r.kind === k).sort((x, y) => x.file.localeCompare(y.file));
    const report = [
      `compat: ${files.length} examples in ${(total / 1000).toFixed(0)} s — ran ${by('ran').length} (as documented), failed ${by('failed').length}, not run here ${by('not-run').length}, refused ${by('refused').length}`,
      ...by('ran').map((r) => `  ran      ${r.file} (${(r.ms / 1000).toFixed(1)} s): ${r.why}`),
      ...by('failed').map((r) => `  FAILED   ${r.file}: ${r.why}`),
      ...by('not-run').map((r) => `  not run  ${r.file}: ${r.why}`),
      ...by('refused').map((r) => `  refused  ${r.file}: ${r.why}`),
    ];
    console.log(report.join('\n'));
    expect(by('failed').map((r) => `${r.file}: ${r.why}`)).toEqual([]);
    expect(results).toHaveLength(files.length);
    // Every example SkyPilot could run on a CPU VM offline and that needs nothing this machine lacks.
    expect(by('ran').length).toBeGreaterThanOrEqual(Object.values(RUN).filter((r) => !r.needs).length);
  }, 600_000);
});
