// `npm run chaos [-- --quick] [--only NAME] [--seed N]`: the chaos and fuzz suite of issue 17.
// Prints a table of what each scenario did and the counts, whose goal is 0 each; exits 1 when
// one is not. `--quick` runs the smoke sizes (what `npm test` runs).
import { FULL, problems, report, runChaos, SMOKE, type ChaosPlan } from './run.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const seed = Number(flag('--seed') ?? Date.now() % 1_000_000);
const only = flag('--only');
const base = quick ? SMOKE : FULL;
const plan: ChaosPlan = only ? { [only]: base[only as keyof typeof base] } : base;
if (only && !(only in base)) {
  process.stderr.write(`chaos: unknown scenario '${only}' (${Object.keys(base).join(', ')})\n`);
  process.exit(2);
}
const started = Date.now();
process.stdout.write(`aloft chaos (${quick ? 'quick' : 'full'}), seed ${seed}\n`);
const { results, total } = await runChaos(plan, seed, {
  shareHome: quick,
  onDone: (r) => process.stdout.write(`  done: ${r.name} (${r.tally.runs} cases, ${r.seconds} s)\n`),
});
process.stdout.write(`\n${report(results, total)}\n\ntotal ${Math.round((Date.now() - started) / 1000)} s; reproduce with --seed ${seed}\n`);
process.exit(problems(results, total) === 0 ? 0 : 1);
