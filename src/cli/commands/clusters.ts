import { type Command, Option } from 'commander';
import { OPTIONAL_JSON_FIELDS, withNulls, daemon, ExitCode, note, outputOption, printJson } from '../context.js';

interface OutOpt {
  output: 'table' | 'json';
}

const out = () => new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption);

async function confirmOrYes(yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  const { confirm } = await import('../confirm.js');
  if (!(await confirm(question))) {
    note('Aborted.');
    throw new ExitCode(1);
  }
}

/** Names the daemon did not know: one line each, and the command fails once the rest is done. */
function reportMissing(missing: string[] | undefined): number {
  for (const m of missing ?? []) note(`aloft: cluster '${m}' does not exist (see \`aloft status\`)`);
  return missing?.length ?? 0;
}

async function runRequests(requestIds: string[], names: string[], verb: string, missing = 0): Promise<void> {
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
  if (failed || missing) throw new ExitCode(1);
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
    .option('--endpoints', "print where one cluster's ports answer, PORT: HOST:PORT per line")
    .option('--endpoint <port>', "print where one port of one cluster answers (HOST:PORT)")
    .option('-v, --verbose', 'more columns: region and zone, the cluster id, and the whole status reason')
    .addOption(out())
    .action(async (clusters: string[], opts: OutOpt & { refresh?: boolean; ip?: boolean; allIps?: boolean; endpoints?: boolean; endpoint?: string; verbose?: boolean }) => {
      const client = await daemon();
      if (opts.endpoints || opts.endpoint !== undefined) {
        const flag = opts.endpoints ? '--endpoints' : '--endpoint';
        if (clusters.length !== 1) throw new Error(`${flag} needs exactly one cluster name`);
        const port = opts.endpoint === undefined ? undefined : Number(opts.endpoint);
        if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`--endpoint takes a port number, not '${opts.endpoint}'`);
        const { endpoints } = await client.call('endpoints', { cluster: clusters[0]!, ...(port !== undefined ? { port } : {}) });
        if (opts.output === 'json') return printJson(endpoints);
        const lines = Object.entries(endpoints).map(([p, where]) => (port !== undefined ? where : `${p}: ${where}`));
        process.stdout.write(lines.join('\n') + '\n');
        return;
      }
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
      const { CLUSTER_HEADERS, CLUSTER_HEADERS_VERBOSE, clusterRow } = await import('../render.js');
      const headers = opts.verbose ? CLUSTER_HEADERS_VERBOSE : CLUSTER_HEADERS;
      process.stdout.write(table(headers, res.clusters.map((c) => clusterRow(c, Date.now(), opts.verbose))) + '\n');
    });

  program
    .command('requests')
    .description('Show launches and other long operations (in flight and recent), with their stage; `follow ID` re-attaches to one, `cancel ID` stops a launch and removes what it created')
    .argument('[action]', 'follow | cancel')
    .argument('[id]', 'request id (see the list)')
    .option('-a, --all', 'all kept requests, not only the recent ones')
    .addOption(out())
    .action(async (action: string | undefined, id: string | undefined, opts: OutOpt & { all?: boolean }) => {
      if (action !== undefined) {
        if (action !== 'follow' && action !== 'cancel') throw new Error(`requests takes follow ID or cancel ID, not '${action}'`);
        if (!id) throw new Error(`requests ${action} needs a request id (see \`aloft requests\`)`);
        const client = await daemon();
        const { followRequest } = await import('../follow.js');
        if (action === 'cancel') {
          await client.call('requestCancel', { id });
          note(`Cancelling ${id}…`);
        }
        const r = await followRequest(client, id, { quiet: action === 'cancel', interruptible: true });
        if (r.status === 'CANCELLED') return note(`${id}: cancelled at ${r.stage ?? 'start'}; what it had created is removed.`);
        if (r.status === 'FAILED') {
          note(`aloft: ${id} failed at ${r.stage ?? 'start'}: ${r.error ?? 'unknown error'}`);
          throw new ExitCode(1);
        }
        if (action === 'cancel') {
          note(`aloft: ${id} finished before it could be cancelled${r.jobId !== undefined ? `; its job runs on its own: aloft cancel ${r.cluster} ${r.jobId}` : ''}`);
          throw new ExitCode(1);
        }
        note(r.jobId !== undefined ? `Job submitted, ID: ${r.jobId}. Follow it with: aloft logs ${r.cluster} ${r.jobId}` : `${id}: ${r.status}`);
        return;
      }
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
        color(r.status, r.status === 'SUCCEEDED' ? 'green' : r.status === 'RUNNING' ? 'cyan' : r.status === 'CANCELLED' ? 'gray' : 'red'),
        r.stage ?? '-',
        ago(r.createdAt, now),
        duration((r.finishedAt ?? now) - r.createdAt),
        r.error ?? '',
      ]);
      process.stdout.write(table(['ID', 'KIND', 'CLUSTER', 'USER', 'STATUS', 'STAGE', 'CREATED', 'ELAPSED', 'ERROR'], rows) + '\n');
      // Each place a launch failed over from, with the cloud's reason.
      for (const r of requests.filter((q) => q.attempts?.length)) {
        process.stdout.write(`\n${r.id} (${r.cluster}) failed over ${r.attempts!.length} time(s):\n${r.attempts!.map((l) => `  ${l}`).join('\n')}\n`);
      }
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
        const all = (await client.call('status', {})).clusters.filter((c) => (c.status === 'UP' || c.status === 'INIT') && !owned.has(c.name) && mine(c));
        // Kubernetes pods have no stopped state: `stop -a` leaves those clusters as they are.
        const k8s = all.filter((c) => c.cloud === 'kubernetes').map((c) => c.name);
        if (k8s.length) note(`skipping ${k8s.join(', ')}: kubernetes clusters cannot be stopped (use \`aloft down\`)`);
        names = all.filter((c) => c.cloud !== 'kubernetes').map((c) => c.name);
      }
      if (names.length === 0) throw new Error(opts.all ? 'no cluster to stop' : 'say which clusters to stop, or --all');
      await confirmOrYes(opts.yes, `Stop ${names.join(', ')}?`);
      const res = await client.call('stop', { clusters: names });
      const missing = reportMissing(res.missing);
      await runRequests(res.requestIds, res.clusters ?? names, 'STOPPED', missing);
    });

  program
    .command('start')
    .description('Start stopped clusters (or repair unhealthy ones)')
    .argument('[clusters...]')
    .option('-a, --all', 'every stopped cluster of yours')
    .option('-i, --idle-minutes-to-autostop <minutes>', 'set autostop')
    .option('--down', 'autodown instead of autostop')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (clusters: string[], opts: { all?: boolean; idleMinutesToAutostop?: string; down?: boolean }) => {
      const client = await daemon();
      const { parseMinutes } = await import('./launch.js');
      const idle = opts.idleMinutesToAutostop !== undefined ? parseMinutes(opts.idleMinutesToAutostop) : undefined;
      const mine = opts.all ? await ownedBy(client, false) : () => true;
      const names = opts.all ? (await client.call('status', {})).clusters.filter((c) => c.status === 'STOPPED' && mine(c)).map((c) => c.name) : clusters;
      if (names.length === 0) {
        if (opts.all) return note('No stopped clusters.');
        throw new Error('say which clusters to start, or --all');
      }
      const res = await client.call('start', { clusters: names, idleMinutes: idle, down: opts.down });
      const missing = reportMissing(res.missing);
      await runRequests(res.requestIds, res.clusters ?? names, 'UP', missing);
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
      // Unknown names do not stop the others from going down; they are reported, and the exit is 1.
      const missing = reportMissing(res.missing);
      if (res.clusters.length === 0 && !missing) note('No clusters to tear down.');
      await runRequests(res.requestIds, res.clusters, 'terminated', missing);
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
