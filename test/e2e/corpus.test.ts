// Every SkyPilot example YAML either plans with `aloft launch --dryrun` (a plan, or — when only a
// cloud without credentials fits — the one-line error naming it) or fails with one clear line —
// never a crash. Reads ../shared/skypilot-yaml-corpus when present.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusDir, makeHome, type AloftEnv } from '../helpers/cli.js';

const CORPUS = corpusDir() ?? '';
const files = CORPUS ? readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f)).sort() : [];

/** Does the YAML mount a bucket (a storage mapping or a bucket URL in file_mounts) or clone a git workdir? */
function usesStorage(path: string): boolean {
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const js = (doc as { toJS?: () => unknown }).toJS?.() as { file_mounts?: Record<string, unknown>; workdir?: unknown } | null;
    if (js?.workdir && typeof js.workdir === 'object') return true;
    for (const v of Object.values(js?.file_mounts ?? {})) {
      if ((v && typeof v === 'object') || (typeof v === 'string' && /^(s3|gs|r2|nebius|cw|oci|vastdata):\/\//.test(v))) return true;
    }
  }
  return false;
}

/** `--env K=dummy` for every env / secret declared with a null value (they must be given). */
function nullVars(path: string): string[] {
  const args: string[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const js = (doc as { toJS?: () => unknown }).toJS?.() as { envs?: Record<string, unknown>; secrets?: Record<string, unknown> } | null;
    for (const [k, v] of Object.entries(js?.envs ?? {})) if (v === null) args.push('--env', `${k}=dummy`);
    for (const [k, v] of Object.entries(js?.secrets ?? {})) if (v === null) args.push('--secret', `${k}=dummy`);
  }
  return args;
}

// Skipped only when the shared corpus is not checked out next to the project (it is in CI).
describe.skipIf(files.length === 0)('SkyPilot YAML corpus through `aloft launch --dryrun`', () => {
  let a: AloftEnv;
  beforeAll(() => {
    a = makeHome();
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it(`plans or fails with one clear line for each of the ${files.length} files`, async () => {
    const results: Array<{ file: string; code: number; stdout: string; stderr: string }> = [];
    const queue = [...files];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const r = await a.run(['launch', '--dryrun', ...nullVars(join(CORPUS, f)), join(CORPUS, f)], { timeoutMs: 60_000 });
          results.push({ file: f, ...r });
        }
      }),
    );
    let planned = 0;
    const reasons = new Map<string, number>();
    // Issue 13: buckets and git workdirs are supported — no "not supported" warning for them, and
    // the only refusal left is a YAML that leaves a bucket's name for the user to fill in.
    const storage = results.filter((r) => usesStorage(join(CORPUS, r.file)));
    expect(storage.length).toBeGreaterThan(25);
    for (const r of storage) {
      expect(r.stderr, r.file).not.toMatch(/warning: .*(file_mounts|workdir).*not supported/);
      // a failing dry run of such a file fails for something else (e.g. no catalog for its cloud)
      // (or mounts a file under /tmp, which local nodes share with the machine: refused on local infra)
      const known = /file_mounts: \S+: needs `name:`|file_mounts: '\/tmp\/[^']+' is inside \/tmp, which local nodes share/;
      if (r.code !== 0 && !known.test(r.stderr)) expect(r.stderr, r.file).not.toMatch(/file_mounts|workdir/);
    }
    for (const r of results) {
      expect(r.stderr, r.file).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      if (r.code === 0) {
        expect(r.stdout, r.file).toMatch(/Chosen|Task 1\//);
        planned++;
      } else {
        const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('aloft: warning:'));
        expect(lines, `${r.file}: ${r.stderr}`).toHaveLength(1);
        expect(lines[0], r.file).toMatch(/^aloft: /);
        // Nothing here can provision a cloud, so a GPU task fails its dry run as its launch would;
        // the optimizer still planned it when the line names the cheapest cloud that would fit.
        if (/^aloft: no infra offers .*; would fit on /.test(lines[0]!)) {
          planned++;
          continue;
        }
        const why = lines[0]!.replace(/^aloft: [^:]*:\d+:\d+: /, '').replace(/'[^']*'/g, "'…'").slice(0, 80);
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    }
    console.log(`corpus: ${planned}/${results.length} planned; failures:`, Object.fromEntries(reasons));
    // Services (a third of the LLM examples): `launch` plans their replica task and says the
    // section is for `aloft serve up`, as `sky launch` does — never "not supported".
    const served = results.filter((r) => /^service:/m.test(readFileSync(join(CORPUS, r.file), 'utf8')));
    expect(served.length).toBeGreaterThanOrEqual(15);
    for (const r of served) {
      expect(r.stderr, r.file).toContain('the service section is ignored by `aloft launch`');
      expect(r.stderr, r.file).not.toMatch(/serv(ice|ing)[^\n]*not supported/);
    }
    expect(results).toHaveLength(files.length);
    expect(planned).toBeGreaterThan(files.length / 2);
  }, 300_000);
});

const K8S_FILES = files.filter((f) => /^\s*(infra|cloud):\s*(kubernetes|k8s)\b/m.test(readFileSync(join(CORPUS, f), 'utf8')));
const isRoot = process.getuid?.() === 0;

// The corpus YAMLs written for Kubernetes plan on a Kubernetes context: a fake cluster (root: its
// pods run in Linux namespaces) whose nodes carry what those YAMLs ask for — 8-GPU H100, H200 and
// A100 nodes (GFD labels), a large MI300X node (AMD node labeller) and a CPU node.
describe.skipIf(K8S_FILES.length === 0 || (!isRoot && !process.env.CI))('SkyPilot corpus YAMLs that name kubernetes plan on a context', () => {
  let a: AloftEnv;
  let kube: Awaited<ReturnType<typeof import('../fakes/kubernetes/index.js')['startFakeKube']>>;
  beforeAll(async () => {
    const { startFakeKube, H100_NODE, MI300X_NODE, CPU_NODE } = await import('../fakes/kubernetes/index.js');
    const gfd = (name: string, product: string) => ({
      name,
      labels: { 'nvidia.com/gpu.present': 'true', 'nvidia.com/gpu.product': product, 'nvidia.com/gpu.count': '8' },
      capacity: { cpu: '192', memory: '2048Gi', 'nvidia.com/gpu': '8' },
      taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' as const }],
    });
    const bigAmd = { ...MI300X_NODE('gpu-mi300x-0'), capacity: { cpu: '256', memory: '3072Gi', 'amd.com/gpu': '8' } };
    kube = await startFakeKube({
      context: 'corpus',
      nodes: [H100_NODE('h100-0'), H100_NODE('h100-1'), gfd('h200-0', 'NVIDIA-H200'), gfd('h200-1', 'NVIDIA-H200'), gfd('a100-0', 'NVIDIA-A100-SXM4-40GB'), gfd('a100-1', 'NVIDIA-A100-SXM4-40GB'), bigAmd, CPU_NODE()],
    });
    a = makeHome();
    a.env.KUBECONFIG = kube.kubeconfigPath;
  }, 60_000);
  afterAll(async () => {
    await a?.cleanup();
    await kube?.stop();
  });

  it(`plans each of the ${K8S_FILES.length} on kubernetes`, async () => {
    const failures: string[] = [];
    for (const f of K8S_FILES) {
      const r = await a.run(['launch', '--dryrun', ...nullVars(join(CORPUS, f)), join(CORPUS, f)], { timeoutMs: 60_000 });
      expect(r.stderr, f).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
      if (r.code !== 0 || !/Chosen.*kubernetes\/corpus|kubernetes\/corpus.*Chosen/s.test(r.stdout)) failures.push(`${f}: ${r.code} ${r.stdout.slice(0, 300)} ${r.stderr.trim().split('\n').pop()}`);
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
