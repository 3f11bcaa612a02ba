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
