// `aloft storage ls | delete`: the buckets aloft created for tasks (SkyPilot's `sky storage`).
import { type Command, Option } from 'commander';
import { daemon, ExitCode, note, outputOption, printJson, withNulls } from '../context.js';

export function register(program: Command): void {
  const storage = program.command('storage').description('Buckets aloft created for file_mounts (`name:` buckets)');
  storage
    .command('ls')
    .description('List them: name, store, source, created, status, the clusters using them')
    .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption))
    .action(async (opts: { output: 'table' | 'json' }) => {
      const client = await daemon();
      const { storage: recs } = await client.call('storageLs', {});
      if (opts.output === 'json') return printJson(withNulls(recs, ['source', 'statusReason']));
      if (recs.length === 0) {
        process.stdout.write('No storage (buckets aloft created).\n');
        return;
      }
      const { table, ago, color } = await import('../table.js');
      const now = Date.now();
      const rows = recs.map((r) => [
        r.name,
        r.store.toUpperCase(),
        r.source ?? '-',
        ago(r.createdAt, now),
        color(r.status, r.status === 'READY' ? 'green' : r.status.endsWith('FAILED') ? 'red' : 'cyan'),
        r.persistent ? 'yes' : 'no',
        r.clusters.join(', ') || '-',
      ]);
      process.stdout.write(table(['NAME', 'STORE', 'SOURCE', 'CREATED', 'STATUS', 'PERSISTENT', 'CLUSTERS'], rows) + '\n');
    });
  storage
    .command('delete')
    .description('Delete buckets aloft created, with every object in them')
    .argument('[names...]')
    .option('-a, --all', 'every bucket aloft created')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (names: string[], opts: { all?: boolean; yes?: boolean }) => {
      if (!opts.all && names.length === 0) throw new Error('say which buckets to delete, or --all');
      if (opts.all && names.length) throw new Error('give bucket names or --all, not both');
      if (!opts.yes && process.stdin.isTTY) {
        const { createInterface } = await import('node:readline/promises');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const a = (await rl.question(`Delete ${opts.all ? 'ALL buckets aloft created' : names.join(', ')} and everything in them? [y/N] `)).trim().toLowerCase();
        rl.close();
        if (a !== 'y' && a !== 'yes') throw new ExitCode(1);
      }
      const client = await daemon();
      const res = await client.call('storageDelete', opts.all ? { all: true } : { names });
      for (const n of res.deleted) note(`${n}: deleted`);
      for (const f of res.failed) note(`aloft: ${f.name}: ${f.error}`);
      if (res.failed.length) throw new ExitCode(1);
    });
}
