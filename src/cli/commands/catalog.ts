// `aloft catalog pull`: refresh a cloud's price catalog from a URL in SkyPilot's format.
import type { Command } from 'commander';

export function register(program: Command): void {
  const catalog = program.command('catalog').description('instance and price catalogs');
  catalog
    .command('pull')
    .description('download a fresh catalog (SkyPilot vms.csv format) into ALOFT_HOME/catalog')
    .option('--cloud <cloud>', 'cloud to refresh (default: aws and gcp)')
    .option('--url <url>', 'download from this URL (or file path) instead of the public catalog')
    .action(async (opts: { cloud?: string; url?: string }) => {
      const { pullCatalog } = await import('../../catalog/pull.js');
      const { UserError } = await import('../../util/errors.js');
      if (opts.url && !opts.cloud) throw new UserError('--url needs --cloud (which cloud the file describes)');
      const clouds = opts.cloud ? [opts.cloud] : ['aws', 'gcp'];
      for (const cloud of clouds) {
        const r = await pullCatalog({ cloud, url: opts.url });
        process.stdout.write(`${cloud}: ${r.rows} rows (${r.offerings} offerings) from ${r.url} -> ${r.path}\n`);
      }
    });
  catalog
    .command('show')
    .description('where each cloud\'s catalog is read from')
    .action(async () => {
      const { catalogFiles } = await import('../../catalog/catalog.js');
      for (const [cloud, file] of Object.entries(catalogFiles())) process.stdout.write(`${cloud}: ${file}\n`);
    });
}
