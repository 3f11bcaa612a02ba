// The smoke subset of the chaos suite (`npm run chaos` runs it in full; see test/chaos): one of
// each kind of crash and small fuzz runs, every count at 0. The findings are printed when not.
import { describe, expect, it } from 'vitest';
import { problems, report, runChaos, SMOKE } from '../chaos/run.js';

describe('chaos smoke (issue 17)', () => {
  it('daemon and agent kills, an exec storm, YAML and API fuzz: no orphan, no lost or doubled job, nothing stuck, no crash, no 5xx, no hang', async () => {
    const seed = 17;
    const { results, total } = await runChaos(SMOKE, seed, { shareHome: true });
    const text = report(results, total);
    expect(problems(results, total), text).toBe(0);
    // it did what it says
    for (const r of results) expect(r.tally.runs, r.name).toBeGreaterThan(0);
  }, 600_000);
});
