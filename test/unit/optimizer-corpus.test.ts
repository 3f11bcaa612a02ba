// SkyPilot's example YAMLs (../shared/skypilot-yaml-corpus, when present): each one either plans in
// dryrun (credentials for every catalog cloud) or fails with one clear line.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { TaskChain } from '../../src/spec/types.js';
import { UserError } from '../../src/util/errors.js';
import { planTask } from '../../src/optimizer/plan.js';
import { planChain } from '../../src/optimizer/chain.js';
import type { OptimizeContext } from '../../src/optimizer/types.js';
import { loadCatalog } from '../../src/catalog/catalog.js';

const CORPUS = resolve(__dirname, '..', '..', '..', 'shared', 'skypilot-yaml-corpus');
const files = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort() : [];

type Parse = (path: string, opts: Record<string, unknown>) => TaskChain;
// The parser is written alongside this module; until it exists the corpus test is skipped.
const parseTaskFile: Parse | undefined = await import('../../src/spec/parse.js' as string)
  .then((m: { parseTaskFile?: Parse }) => m.parseTaskFile)
  .catch(() => undefined);

/** Placeholder values for every env/secret declared with a null value (what --env would supply). */
function dummies(text: string): { envs: Record<string, string>; secrets: Record<string, string> } {
  const envs: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const doc of parseAllDocuments(text)) {
    const d = (doc.toJS?.() ?? {}) as { envs?: Record<string, unknown>; secrets?: Record<string, unknown> } | null;
    for (const [k, v] of Object.entries(d?.envs ?? {})) if (v === null || v === undefined) envs[k] = 'dummy';
    for (const [k, v] of Object.entries(d?.secrets ?? {})) if (v === null || v === undefined) secrets[k] = 'dummy';
  }
  return { envs, secrets };
}

// Every catalog cloud enabled (a dry run never chooses a cloud without credentials).
const ctx: OptimizeContext = { usableClouds: loadCatalog().clouds, liveOfferings: [], dryrun: true };

describe.skipIf(files.length === 0 || !parseTaskFile)('SkyPilot YAML corpus plans or fails in one line', () => {
  const outcomes: Record<string, number> = { planned: 0, parseError: 0, planError: 0 };
  it.each(files)('%s', (file) => {
    const path = join(CORPUS, file);
    const { envs, secrets } = dummies(readFileSync(path, 'utf8'));
    let chain: TaskChain;
    try {
      chain = parseTaskFile!(path, { allowUnsupported: true, checkPaths: false, envOverrides: envs, secretOverrides: secrets });
    } catch (e) {
      expect(e, String((e as Error)?.stack)).toBeInstanceOf(UserError);
      expect((e as Error).message.trim()).not.toContain('\n');
      outcomes.parseError!++;
      return;
    }
    try {
      if (chain.tasks.length > 1) {
        const r = planChain(chain, ctx);
        expect(r.plans).toHaveLength(chain.tasks.length);
      } else {
        const p = planTask(chain.tasks[0]!, ctx);
        expect(Number.isFinite(p.chosen.hourlyPrice)).toBe(true);
      }
      outcomes.planned!++;
    } catch (e) {
      expect(e, String((e as Error)?.stack)).toBeInstanceOf(UserError);
      expect((e as Error).message).not.toContain('\n');
      outcomes.planError!++;
    }
  });
  it('summary', () => {
    // Most examples must plan; a corpus where nothing plans means the optimizer is broken.
    expect(outcomes.planned).toBeGreaterThan(files.length / 2);
  });
});
