import { type Command, Option } from 'commander';
import { OPTIONAL_JSON_FIELDS, withNulls, daemon, ExitCode, note, outputOption, printJson } from '../context.js';

interface OutOpt {
  output: 'table' | 'json';
}

const out = () => new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption);

async function confirmOrYes(yes: boolean | undefined, question: string): Promise<void> {
  if (yes || !process.stdin.isTTY) return;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const a = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
  rl.close();
  if (a !== 'y' && a !== 'yes') throw new ExitCode(1);
}

async function runRequests(requestIds: string[], names: string[], verb: string): Promise<void> {
  const client = await daemon();
  const { followRequest } = await import('../follow.js');
  let failed = 0;
  await Promise.all(
    requestIds.map(async (id, i) => {
      const r = await followRequest(client, id, true);
      if (r.status === 'SUCCEEDED') note(`${names[i]}: ${verb}`);
      else {
        failed++;
        note(`aloft: ${names[i]}: ${r.error ?? 'failed'}`);
      }
    }),
  );
  if (failed) throw new ExitCode(1);
}

/** What `-a` covers: the caller's own clusters (a record from before team mode counts as theirs). */
async function ownedBy(client: Awaited<ReturnType<typeof daemon>>, allUsers?: boolean): Promise<(c: { user?: string }) => boolean> {
  if (allUsers) return () => true;
  const me = (await client.call('whoami', {})).user;
  return (c) => c.user === undefined || c.user === me;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('Show clusters')
    .argument('[clusters...]', 'only these clusters')
    .option('-r, --refresh', 'ask the agents/providers for the latest state')
    .option('--ip', "print one cluster's head node IP")
    .option('--all-ips', "print one cluster's node IPs, one per line, in rank order")
    .addOption(out())
    .action(async (clusters: string[], opts: OutOpt & { refresh?: boolean; ip?: boolean; allIps?: boolean }) => {
      const client = await daemon();
      if (opts.ip || opts.allIps) {
        if (clusters.length !== 1) throw new Error(`${opts.ip ? '--ip' : '--all-ips'} needs exactly one cluster name`);
        const { ips } = await client.call('nodeIps', { cluster: clusters[0]! });
        process.stdout.write((opts.ip ? ips.slice(0, 1) : ips).join('\n') + '\n');
        return;
      }
      const res = await client.call('status', { clusters, refresh: opts.refresh });
      if (opts.output === 'json') return printJson(withNulls(res.clusters, OPTIONAL_JSON_FIELDS.cluster));
      if (res.clusters.length === 0) {
        process.stdout.write('No existing clusters.\n');
        return;
      }
      const { table } = await import('../table.js');
      const { CLUSTER_HEADERS, clusterRow } = await import('../render.js');
      process.stdout.write(table(CLUSTER_HEADERS, res.clusters.map((c) => clusterRow(c))) + '\n');
    });

  program
    .command('requests')
    .description('Show launches and other long operations (in flight and recent), with their stage')
    .option('-a, --all', 'all kept requests, not only the recent ones')
    .addOption(out())
    .action(async (opts: OutOpt & { all?: boolean }) => {
      const client = await daemon();
      const { requests } = await client.call('requests', { all: opts.all });
      if (opts.output === 'json') return printJson(requests);
      const { table, ago, duration, color } = await import('../table.js');
      const now = Date.now();
      const rows = requests.map((r) => [
        r.id,
        r.kind,
        r.cluster,
        r.user ?? '-',
        color(r.status, r.status === 'SUCCEEDED' ? 'green' : r.status === 'RUNNING' ? 'cyan' : 'red'),
        r.stage ?? '-',
        ago(r.createdAt, now),
        duration((r.finishedAt ?? now) - r.createdAt),
        r.error ?? '',
      ]);
      process.stdout.write(table(['ID', 'KIND', 'CLUSTER', 'USER', 'STATUS', 'STAGE', 'CREATED', 'ELAPSED', 'ERROR'], rows) + '\n');
    });

  program
    .command('stop')
    .description('Stop clusters (jobs are killed; nodes and their disks are kept)')
    .argument('[clusters...]')
    .option('-a, --all', 'all your clusters')
    .option('-u, --all-users', "with -a: every user's clusters (admins)")
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (clusters: string[], opts: { all?: boolean; allUsers?: boolean; yes?: boolean }) => {
      const client = await daemon();
      let names = clusters;
      if (opts.all) {
        // Managed jobs' clusters belong to their controllers (the daemon refuses to stop them).
        const owned = new Set((await client.call('jobsQueue', { skipFinished: true })).jobs.flatMap((j) => (j.cluster ? [j.cluster] : [])));
        const mine = await ownedBy(client, opts.allUsers);
        names = (await client.call('status', {})).clusters.filter((c) => (c.status === 'UP' || c.status === 'INIT') && !owned.has(c.name) && mine(c)).map((c) => c.name);
      }
      if (names.length === 0) throw new Error(opts.all ? 'no cluster to stop' : 'say which clusters to stop, or --all');
      await confirmOrYes(opts.yes, `Stop ${names.join(', ')}?`);
      const { requestIds } = await client.call('stop', { clusters: names });
      await runRequests(requestIds, names, 'STOPPED');
    });

  program
    .command('start')
    .description('Start stopped clusters (or repair unhealthy ones)')
    .argument('<clusters...>')
    .option('-i, --idle-minutes-to-autostop <minutes>', 'set autostop')
    .option('--down', 'autodown instead of autostop')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (clusters: string[], opts: { idleMinutesToAutostop?: string; down?: boolean }) => {
      const client = await daemon();
      const { parseMinutes } = await import('./launch.js');
      const idle = opts.idleMinutesToAutostop !== undefined ? parseMinutes(opts.idleMinutesToAutostop) : undefined;
      const { requestIds } = await client.call('start', { clusters, idleMinutes: idle, down: opts.down });
      await runRequests(requestIds, clusters, 'UP');
    });

  program
    .command('down')
    .description('Tear clusters down: every process killed, nodes removed (job logs are kept)')
    .argument('[clusters...]')
    .option('-a, --all', 'all your clusters')
    .option('-u, --all-users', "with -a: every user's clusters (admins)")
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-p, --purge', 'forget the cluster even if its teardown fails (nodes may be left behind)')
    .action(async (clusters: string[], opts: { all?: boolean; allUsers?: boolean; yes?: boolean; purge?: boolean }) => {
      if (!opts.all && clusters.length === 0) throw new Error('say which clusters to tear down, or --all');
      await confirmOrYes(opts.yes, `Tear down ${opts.all ? (opts.allUsers ? "ALL users' clusters" : 'ALL your clusters') : clusters.join(', ')}?`);
      const client = await daemon();
      const res = await client.call('down', opts.all ? { all: true, purge: opts.purge, ...(opts.allUsers ? { allUsers: true } : {}) } : { clusters, purge: opts.purge });
      if (res.clusters.length === 0) note('No clusters to tear down.');
      await runRequests(res.requestIds, res.clusters, 'terminated');
    });

  program
    .command('autostop')
    .description('Stop (or tear down) clusters after they have been idle')
    .argument('[clusters...]')
    .option('-a, --all', 'every UP cluster of yours')
    .option('-i, --idle-minutes <minutes>', 'idle minutes before autostop', '5')
    .option('--down', 'tear down instead of stop')
    .option('--cancel', 'cancel autostop')
    .option('-y, --yes', 'accepted for SkyPilot compatibility (autostop never asks)')
    .action(async (clusters: string[], opts: { all?: boolean; idleMinutes: string; down?: boolean; cancel?: boolean }) => {
      const client = await daemon();
      const { parseMinutes } = await import('./launch.js');
      const mine = opts.all ? await ownedBy(client, false) : () => true;
      const names = opts.all ? (await client.call('status', {})).clusters.filter((c) => c.status === 'UP' && mine(c)).map((c) => c.name) : clusters;
      if (names.length === 0) throw new Error(opts.all ? 'no UP cluster' : 'say which clusters, or --all');
      const res = await client.call('autostop', {
        clusters: names,
        idleMinutes: parseMinutes(opts.idleMinutes),
        down: opts.down ?? false,
        cancel: opts.cancel,
      });
      for (const c of res.clusters) {
        note(c.autostop ? `${c.name}: auto${c.autostop.down ? 'down' : 'stop'} after ${c.autostop.idleMinutes} idle minute(s)` : `${c.name}: autostop cancelled`);
      }
    });
}
