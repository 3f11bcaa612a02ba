import { type Command, Option } from 'commander';
import { daemon, ExitCode, note, outputOption, printJson } from '../context.js';
import type { TaskFlags } from '../task-input.js';
import { taskOptions } from './launch.js';

const STRATEGIES = ['EAGER_NEXT_REGION', 'FAILOVER'] as const;
const TERMINAL = new Set(['SUCCEEDED', 'CANCELLED', 'FAILED', 'FAILED_SETUP', 'FAILED_NO_RESOURCE', 'FAILED_CONTROLLER']);

export function register(program: Command): void {
  const jobs = program.command('jobs').description('Managed jobs: survive preemptions and failures by moving between clusters');

  taskOptions(
    jobs
      .command('launch')
      .description('Launch a managed job (its own cluster, torn down when it ends)')
      .argument('[yaml_or_command...]', 'task YAML, or a command after --')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('-d, --detach', 'do not stream the job output')
      .option('--job-recovery <strategy>', `recovery strategy: ${STRATEGIES.join(' | ')}`)
      .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption)),
  ).action(async (args: string[], opts: TaskFlags & { detach?: boolean; jobRecovery?: string; output: string }) => {
    const strategy = opts.jobRecovery?.toUpperCase();
    if (strategy !== undefined && !(STRATEGIES as readonly string[]).includes(strategy)) {
      throw new Error(`--job-recovery takes ${STRATEGIES.join(' or ')}, not '${opts.jobRecovery}'`);
    }
    const { buildChain } = await import('../task-input.js');
    const chain = await buildChain(args, opts);
    if (chain.tasks.length === 0) throw new Error('this YAML has no task');
    const client = await daemon();
    // A pipeline (multi-document YAML) runs its tasks in order, each on its own cluster.
    const { job } = await client.call('jobsLaunch', {
      task: chain.tasks[0]!,
      ...(chain.tasks.length > 1 ? { tasks: chain.tasks } : {}),
      name: opts.name ?? chain.name,
      strategy: strategy as (typeof STRATEGIES)[number] | undefined,
    });
    if (opts.output === 'json' && opts.detach) return printJson(job);
    note(`Managed job ${job.id}${job.name ? ` (${job.name})` : ''} submitted.`);
    if (opts.detach) {
      note(`Follow it with: aloft jobs logs ${job.id}`);
      return;
    }
    const code = await followManaged(job.id);
    if (code !== 0) throw new ExitCode(code);
  });

  jobs
    .command('queue')
    .description('Show managed jobs')
    .option('-s, --skip-finished', 'hide finished jobs')
    .option('-a, --all', 'show every field')
    .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption))
    .action(async (opts: { skipFinished?: boolean; all?: boolean; output: string }) => {
      const client = await daemon();
      const { jobs: list } = await client.call('jobsQueue', { skipFinished: opts.skipFinished });
      if (opts.output === 'json') return printJson(list);
      if (list.length === 0) return void process.stdout.write('No managed jobs.\n');
      const { table, ago, duration, color } = await import('../table.js');
      const now = Date.now();
      const headers = ['ID', 'TASK', 'NAME', 'USER', 'RESOURCES', 'SUBMITTED', 'TOT. DURATION', 'JOB DURATION', '#RECOVERIES', 'STATUS', 'CLUSTER'];
      if (opts.all) headers.push('RESTARTS', 'STRATEGY', 'REASON');
      const paint = (st: string) => {
        const c = st === 'SUCCEEDED' ? 'green' : st === 'RUNNING' ? 'cyan' : st === 'RECOVERING' || st === 'STARTING' || st === 'PENDING' || st === 'CANCELLING' ? 'yellow' : st === 'CANCELLED' ? 'gray' : 'red';
        return color(st, c);
      };
      const rows: string[][] = [];
      for (const j of list) {
        const jobMs = j.jobDurationMs + (j.runningSince ? now - j.runningSince : 0);
        const row = [
          String(j.id),
          '-',
          j.name ?? '-',
          j.user ?? '-',
          j.resources,
          ago(j.submittedAt, now),
          duration((j.endedAt ?? now) - j.submittedAt),
          duration(jobMs),
          String(j.recoveries),
          paint(j.status),
          j.endedAt ? '-' : (j.cluster ?? '-'),
        ];
        if (opts.all) row.push(String(j.restartsOnErrors), j.strategy, j.failureReason ?? '-');
        rows.push(row);
        // A pipeline (SkyPilot's `jobs queue`): one row per task under the job's own.
        if (j.numTasks && j.numTasks > 1) {
          row[1] = '';
          row[4] = '-';
          for (let t = 0; t < j.numTasks; t++) {
            const current = t === (j.taskIndex ?? 0);
            const attempts = j.attempts.filter((a) => (a.task ?? 0) === t);
            const ran = attempts.reduce((ms, a) => ms + ((a.endedAt ?? (current && j.runningSince ? now : a.startedAt)) - a.startedAt), 0);
            const st = t < (j.taskIndex ?? 0) ? 'SUCCEEDED' : current ? j.status : TERMINAL.has(j.status) ? 'CANCELLED' : 'PENDING';
            const sub = [' ↳', String(t), j.taskNames?.[t] ?? '-', '', current ? j.resources : '-', '', '', attempts.length ? duration(ran) : '-', '', paint(st), current && !j.endedAt ? (j.cluster ?? '-') : '-'];
            if (opts.all) sub.push('', '', '');
            rows.push(sub);
          }
        }
      }
      process.stdout.write(table(headers, rows) + '\n');
    });

  jobs
    .command('cancel')
    .description('Cancel managed jobs')
    .argument('[ids...]')
    .option('-n, --name <name>', 'by name')
    .option('-a, --all', 'every active managed job of yours')
    .option('-u, --all-users', "with -a: every user's (admins)")
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ids: string[], opts: { name?: string; all?: boolean; allUsers?: boolean; yes?: boolean }) => {
      const nums = ids.map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 1) throw new Error(`managed job ids are positive whole numbers, not '${s}'`);
        return n;
      });
      if (nums.length === 0 && !opts.name && !opts.all) throw new Error('say which managed jobs to cancel: IDs, -n NAME or --all');
      if (!opts.yes) {
        const what = opts.all ? 'all managed jobs' : [nums.length ? `managed job(s) ${nums.join(', ')}` : '', opts.name ? `managed jobs named ${opts.name}` : ''].filter(Boolean).join(' and ');
        const { confirm } = await import('../confirm.js');
        if (!(await confirm(`Cancel ${what}?`))) {
          note('Aborted.');
          throw new ExitCode(1);
        }
      }
      const client = await daemon();
      const { cancelled } = await client.call('jobsCancel', { ids: nums, name: opts.name, all: opts.all, ...(opts.allUsers ? { allUsers: true } : {}) });
      note(cancelled.length ? `Cancelling managed job(s) ${cancelled.join(', ')}.` : 'No active managed job to cancel.');
    });

  jobs
    .command('logs')
    .description("Show a managed job's output across all its recoveries (the latest job by default)")
    .argument('[id]')
    .option('-n, --name <name>', 'by name')
    .option('--no-follow', 'print what is there and exit')
    .option('--controller', "show the controller's log (state changes, recoveries)")
    .action(async (id: string | undefined, opts: { name?: string; follow: boolean; controller?: boolean }) => {
      const n = id !== undefined ? Number(id) : undefined;
      if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new Error(`managed job ids are positive whole numbers, not '${id}'`);
      const code = await followManaged(n, { name: opts.name, follow: opts.follow, controller: opts.controller });
      if (code !== 0 && opts.follow && !opts.controller) throw new ExitCode(code);
    });
}

async function followManaged(id: number | undefined, o: { name?: string; follow?: boolean; controller?: boolean } = {}): Promise<number> {
  const client = await daemon();
  const sp = new URLSearchParams({ follow: o.follow === false ? '0' : '1' });
  if (id !== undefined) sp.set('id', String(id));
  if (o.name) sp.set('name', o.name);
  if (o.controller) sp.set('controller', '1');
  const ac = new AbortController();
  const onSig = () => {
    ac.abort();
    note(`\naloft: detached; the managed job keeps running. Re-attach with: aloft jobs logs${id !== undefined ? ` ${id}` : ''}`);
  };
  process.once('SIGINT', onSig);
  const [{ reattaching }, { reviveFor }] = await Promise.all([import('../follow.js'), import('../context.js')]);
  try {
    await reattaching(
      (write) => {
        const h = client.stream(`/v1/stream/managedLogs?${sp}`, (item) => {
          if (item.type === 'text') write(item.text);
        });
        ac.signal.addEventListener('abort', () => h.abort(), { once: true });
        return h;
      },
      { follow: o.follow !== false && !o.controller, stopped: () => ac.signal.aborted, revive: reviveFor(client) },
    );
  } finally {
    process.off('SIGINT', onSig);
  }
  if (ac.signal.aborted) return 130;
  if (o.controller || o.follow === false) return 0;
  const { jobs } = await client.call('jobsQueue', {});
  const j = id !== undefined ? jobs.find((x) => x.id === id) : o.name ? jobs.find((x) => x.name === o.name) : jobs[0];
  if (j) note(`Managed job ${j.id}: ${j.status}${j.recoveries ? ` after ${j.recoveries} recover${j.recoveries === 1 ? 'y' : 'ies'}` : ''}${j.failureReason ? ` (${j.failureReason})` : ''}`);
  return j?.status === 'SUCCEEDED' ? 0 : 1;
}
