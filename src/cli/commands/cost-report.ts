// `aloft cost-report`: every cluster of the last N days (live and torn down) with its billed
// hours, the catalog's $/hr and the total — SkyPilot's `sky cost-report`.
import { InvalidArgumentError, type Command } from 'commander';
import { daemon, outputOption, printJson, withNulls, type OutputFormat } from '../context.js';

const days = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of days, not '${v}'`);
  return n;
};

export function register(program: Command): void {
  program
    .command('cost-report')
    .description("what each cluster cost: billed hours × the catalog's $/hr, live and torn down")
    .option('-a, --all', 'every cluster ever recorded (default: the last 30 days)')
    .option('-d, --days <n>', 'clusters live or torn down within the last N days', days)
    .option('-o, --output <format>', 'table or json', outputOption, 'table' as OutputFormat)
    .action(async (opts: { all?: boolean; days?: number; output: OutputFormat }) => {
      const client = await daemon();
      const { rows, total } = await client.call('costReport', { all: opts.all, days: opts.days });
      if (opts.output === 'json') return printJson({ clusters: withNulls(rows, ['endedAt']), total });
      const { table, ago, duration, color } = await import('../table.js');
      const money = (x: number) => (x === 0 ? '-' : x < 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`);
      const now = Date.now();
      process.stdout.write(
        table(
          ['NAME', 'LAUNCHED', 'DURATION', 'INFRA', 'RESOURCES', 'STATUS', 'COST/HR', 'COST (EST.)'],
          rows.map((r) => [
            r.name,
            ago(r.launchedAt, now),
            duration(r.hours * 3_600_000),
            r.infra + (r.useSpot ? ' [spot]' : ''),
            r.resources,
            r.status === 'TERMINATED' ? color(r.status, 'gray') : r.status,
            money(r.hourlyPrice),
            money(r.cost),
          ]),
        ) + '\n',
      );
      process.stdout.write(`\nTotal: ${money(total) === '-' ? '$0.00' : money(total)} over ${rows.length} cluster(s)${opts.all ? '' : ` (last ${opts.days ?? 30} days; --all for every cluster)`}\n`);
    });
}
