// `aloft gpus list [NAME]`: accelerators in the catalog, where, and at what price.
import type { Command } from 'commander';
import { outputOption, printJson, type OutputFormat } from '../context.js';

interface GpusOptions {
  infra?: string;
  allRegions?: boolean;
  output: OutputFormat;
}

const money = (p: number | undefined) => (p === undefined ? '-' : `$${p < 10 ? p.toFixed(3) : p.toFixed(2)}`);

export function register(program: Command): void {
  const gpus = program.command('gpus').description('accelerators available in the catalogs');
  gpus
    .command('list', { isDefault: true })
    .description('list accelerators with counts, clouds and cheapest on-demand / spot $/hr')
    .argument('[name]', 'accelerator (e.g. A100, h100, 80GB+) for its offers per cloud')
    .option('--infra <infra>', 'only this infra (aws, gcp/us-central1, aws/us-*, ...)')
    .option('--all-regions', 'one row per region instead of the cheapest region')
    .option('-o, --output <format>', 'table or json', outputOption, 'table' as OutputFormat)
    .action(async (name: string | undefined, opts: GpusOptions) => {
      const [{ summarizeGpus, listGpuOffers }, { table }] = await Promise.all([import('../../catalog/gpus.js'), import('../table.js')]);
      if (opts.infra && /^ssh(\/|$)/.test(opts.infra)) {
        // SSH pools have no catalog: their hosts are probed live, priced 0.
        const { sshPoolReport, poolReportRows } = await import('../../providers/ssh/inspect.js');
        const pool = opts.infra.split('/')[1];
        const hosts = (await sshPoolReport()).filter((h) => !pool || h.pool === pool);
        if (opts.output === 'json') return printJson(hosts);
        process.stdout.write(table(['POOL', 'HOST', 'STATUS', 'RESOURCES', 'CLUSTERS'], poolReportRows(hosts)) + '\n');
        return;
      }
      if (!name) {
        const rows = summarizeGpus({ infra: opts.infra });
        if (opts.output === 'json') return printJson(rows);
        process.stdout.write(
          table(
            ['GPU', 'MEM(GB)', 'QTY', 'CLOUDS', 'FROM $/hr', 'SPOT FROM $/hr'],
            rows.map((r) => [r.accelerator, String(r.memoryGiB), r.counts.join(', '), r.clouds.join(', '), money(r.price), money(r.spotPrice)]),
          ) + '\n',
        );
        return;
      }
      const rows = listGpuOffers({ name, infra: opts.infra, allRegions: opts.allRegions });
      if (opts.output === 'json') return printJson(rows);
      if (!rows.length) {
        process.stdout.write(`no offers for ${name}${opts.infra ? ` in ${opts.infra}` : ''}\n`);
        return;
      }
      process.stdout.write(
        table(
          ['GPU', 'QTY', 'CLOUD', 'INSTANCE', 'DEVICE_MEM', 'vCPUs', 'HOST_MEM', '$/hr', 'SPOT $/hr', 'REGION'],
          rows.map((r) => [
            r.accelerator,
            String(r.count),
            r.cloud,
            r.instanceType,
            `${r.memoryGiB}GB`,
            String(r.cpus),
            `${r.hostMemoryGiB}GB`,
            money(r.price),
            money(r.spotPrice) + (r.spotRegion ? ` (${r.spotRegion})` : ''),
            r.region,
          ]),
        ) + '\n',
      );
    });
}
