// Every SkyPilot example YAML either parses or fails with one SpecError line naming file:line:col.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_PARAMS, describeIssue } from '../../src/protocol/schemas.js';
import { parseTaskFile, SpecError } from '../../src/spec/index.js';
import { loadDocuments } from '../../src/spec/yaml.js';

const CORPUS = '/work/shared/skypilot-yaml-corpus';

/**
 * The few corpus files that leave a bucket name for the user to fill in (`name: # Fill in your
 * bucket name`): SkyPilot refuses them as written too, and so must aloft — with this line.
 */
const UNFILLED_BUCKET = /^file_mounts: \S+: needs `name:` \(a bucket to use or create\) or `source:`/;

/** Dummy values for every env/secret the YAML leaves empty (what a user passes with --env). */
function nullVars(file: string, section: 'envs' | 'secrets'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of loadDocuments(readFileSync(file, 'utf8'), file)) {
    const raw = d.toJS() as Record<string, unknown> | null;
    const vars = raw && typeof raw === 'object' ? (raw[section] as Record<string, unknown> | undefined) : undefined;
    if (vars && typeof vars === 'object' && !Array.isArray(vars)) {
      for (const [k, v] of Object.entries(vars)) if (v === null) out[k] = `dummy-${k.toLowerCase()}`;
    }
  }
  return out;
}

// The corpus lives outside the repo (../shared); without it there is nothing to check.
describe.skipIf(!existsSync(CORPUS))('SkyPilot example corpus', () => {
  it('parses every YAML or rejects it with one positioned line', () => {
    const files = readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f)).sort();
    expect(files.length).toBeGreaterThan(100);
    let parsed = 0;
    let warned = 0;
    const reasons = new Map<string, string[]>();
    for (const f of files) {
      const path = join(CORPUS, f);
      try {
        const chain = parseTaskFile(path, {
          allowUnsupported: true,
          checkPaths: false,
          envOverrides: nullVars(path, 'envs'),
          secretOverrides: nullVars(path, 'secrets'),
        });
        expect(chain.tasks.length).toBeGreaterThan(0);
        for (const w of chain.warnings ?? []) {
          expect(w.startsWith(`${path}:`)).toBe(true);
          expect(w).toMatch(/^[^\n]*:\d+:\d+: [^\n]*not supported yet[^\n]*$/);
          warned++;
        }
        parsed++;
      } catch (err) {
        if (!(err instanceof SpecError)) throw new Error(`${f}: threw ${String(err)}`);
        expect(err.message).not.toContain('\n');
        expect(err.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
        const reason = err.reason.replace(/'[^']*'|"[^"]*"/g, "'…'");
        reasons.set(reason, [...(reasons.get(reason) ?? []), f]);
        console.log(`rejected ${err.message}`);
      }
    }
    const rejected = files.length - parsed;
    console.log(`corpus (allowUnsupported): ${parsed} parsed (${warned} warnings), ${rejected} rejected of ${files.length}`);
    for (const [r, fs] of reasons) console.log(`  ${fs.length} × ${r}`);
    // Only YAMLs that leave a bucket's name blank are refused, and each for exactly that.
    for (const r of reasons.keys()) expect(r).toMatch(UNFILLED_BUCKET);
    expect(rejected).toBeLessThanOrEqual(5);
  });

  it('without allowUnsupported, rejects only for features aloft cannot honour yet', () => {
    const files = readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f)).sort();
    let parsed = 0;
    const reasons = new Map<string, number>();
    for (const f of files) {
      const path = join(CORPUS, f);
      try {
        parseTaskFile(path, { checkPaths: false, envOverrides: nullVars(path, 'envs'), secretOverrides: nullVars(path, 'secrets') });
        parsed++;
      } catch (err) {
        if (!(err instanceof SpecError)) throw new Error(`${f}: threw ${String(err)}`);
        expect(err.message.split('\n')).toHaveLength(1);
        expect(err.line).toBeGreaterThan(0);
        if (UNFILLED_BUCKET.test(err.reason)) continue;
        expect(err.reason).toMatch(/not supported yet/);
        // buckets (s3://, gs://, r2://, oci://, name/store/mode mappings) and git workdirs are supported now
        expect(err.reason, f).not.toMatch(/^file_mounts: .*(bucket|storage)|^workdir/);
        const reason = err.reason.replace(/^file_mounts: .*?: /, 'file_mounts: DEST: ').replace(/\(\w+:\/\/\)/, '(URL)');
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    console.log(`corpus (strict): ${parsed} parsed, ${files.length - parsed} rejected of ${files.length}`);
    for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  ${n} × ${r}`);
    expect(parsed).toBeGreaterThan(files.length / 2);
  });

  it("every service YAML (a third of the LLM examples) parses as `aloft serve up` reads it", () => {
    const files = readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f) && /^service:/m.test(readFileSync(join(CORPUS, f), 'utf8')));
    expect(files.length).toBeGreaterThanOrEqual(15);
    const served: string[] = [];
    for (const f of files) {
      const path = join(CORPUS, f);
      const opts = { checkPaths: false, envOverrides: nullVars(path, 'envs'), secretOverrides: nullVars(path, 'secrets'), requireService: true };
      try {
        const t = parseTaskFile(path, opts).tasks[0]!;
        expect(t.service, f).toBeDefined();
        // and the daemon's API takes it as it is (serveUp's parameters are checked by schema)
        const checked = API_PARAMS.serveUp.safeParse({ task: t });
        expect(checked.success, `${f}: ${checked.success ? '' : describeIssue(checked.error, { task: t })}`).toBe(true);
        served.push(f);
      } catch (err) {
        // only a feature outside the service section may stop one (a bucket mount, say)
        expect(err, f).toBeInstanceOf(SpecError);
        expect((err as SpecError).reason, f).toMatch(/not supported yet/);
        expect((err as SpecError).reason, f).not.toMatch(/^service/);
      }
    }
    console.log(`corpus services: ${served.length} of ${files.length} parse for serve up`);
    expect(served.length).toBeGreaterThanOrEqual(files.length - 2);
  });
});
