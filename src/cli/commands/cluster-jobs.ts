import { type Command, Option } from 'commander';
import { OPTIONAL_JSON_FIELDS, withNulls, daemon, ExitCode, note, outputOption, printJson } from '../context.js';

const out = () => new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption);

function parseJobIds(ids: string[]): number[] {
  return ids.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`job ids are positive whole numbers, not '${s}'`);
    return n;
  });
}

export function register(program: Command): void {
  program
    .command('queue')
    .description("Show a cluster's job queue (all clusters when none is given)")
    .argument('[clusters...]')
    .option('-s, --skip-finished', 'hide finished jobs')
    .option('-a, --all', 'all clusters')
    .addOption(out())
    .action(async (clusters: string[], opts: { skipFinished?: boolean; output: string }) => {
      const client = await daemon();
      const targets = clusters.length ? clusters : [undefined];
      const results = await Promise.all(
        targets.map((c) => client.call('queue', { cluster: c, skipFinished: opts.skipFinished })),
      );
      const jobs = results.flatMap((r) => r.jobs);
      if (opts.output === 'json') return printJson(withNulls(jobs, OPTIONAL_JSON_FIELDS.job));
      const { table } = await import('../table.js');
      const { JOB_HEADERS, jobRow } = await import('../render.js');
      const byCluster = new Map<string, typeof jobs>();
      for (const j of jobs) byCluster.set(j.cluster, [...(byCluster.get(j.cluster) ?? []), j]);
      if (byCluster.size === 0) {
        process.stdout.write('No jobs.\n');
        return;
      }
      const parts: string[] = [];
      for (const [c, js] of byCluster) parts.push(`Job queue of cluster ${c}\n${table(JOB_HEADERS, js.map((j) => jobRow(j)))}`);
      process.stdout.write(parts.join('\n\n') + '\n');
    });

  program
    .command('logs')
    .description("Show a job's output (the latest job when none is given); follows by default")
    .argument('<cluster>')
    .argument('[job]')
    .option('--no-follow', 'print what is there and exit')
    .option('--tail <lines>', 'only the last N lines (0: all)')
    .option('--status', "print the job's status instead of its log; exit 0 only if it succeeded")
    .option('--rank <n>', 'only this rank of a multi-node job')
    .option('--worker <n>', 'same as --rank')
    .action(async (cluster: string, job: string | undefined, opts: { follow: boolean; tail?: string; status?: boolean; rank?: string; worker?: string }) => {
      const client = await daemon();
      const jobId = job !== undefined ? parseJobIds([job])[0] : undefined;
      if (opts.status) {
        const { jobs } = await client.call('queue', { cluster });
        const j = jobId !== undefined ? jobs.find((x) => x.id === jobId) : jobs[0];
        if (!j) throw new Error(`no job ${jobId ?? ''} on cluster '${cluster}'`);
        process.stdout.write(`Job ${j.id}: ${j.status}\n`);
        if (j.status !== 'SUCCEEDED') throw new ExitCode(j.status === 'RUNNING' || j.status === 'PENDING' ? 0 : 1);
        return;
      }
      const rankFlag = opts.rank ?? opts.worker;
      const rank = rankFlag !== undefined ? Number(rankFlag) : undefined;
      if (rank !== undefined && (!Number.isInteger(rank) || rank < 0)) throw new Error(`--rank takes a whole number ≥ 0, not '${rankFlag}'`);
      let tail = opts.tail !== undefined ? Number(opts.tail) : undefined;
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new Error(`--tail takes a whole number ≥ 0, not '${opts.tail}'`);
      if (tail === 0) tail = undefined; // SkyPilot: 0 means the whole log
      const { followLogs, logsExitCode, describeEnd, LOGS_NOT_FINISHED } = await import('../follow.js');
      const { job: last, detached } = await followLogs(client, { cluster, job: jobId, follow: opts.follow, tail, rank }, false);
      if (detached) throw new ExitCode(130);
      const code = logsExitCode(last);
      // How it ended, and why when the job could not say (its spot nodes were preempted, …).
      if (last && code !== 0 && code !== LOGS_NOT_FINISHED) note(describeEnd(last));
      if (code !== 0) throw new ExitCode(code);
    });

  program
    .command('cancel')
    .description('Cancel jobs on a cluster (kills their whole process tree on every node)')
    .argument('<cluster>')
    .argument('[jobs...]')
    .option('-a, --all', 'all jobs of the cluster')
    .option('-y, --yes', 'do not ask for confirmation (cancel --all asks)')
    .action(async (cluster: string, jobs: string[], opts: { all?: boolean; yes?: boolean }) => {
      const ids = parseJobIds(jobs);
      if (!opts.all && ids.length === 0) throw new Error('say which jobs to cancel, or --all');
      if (opts.all && !opts.yes) {
        const { confirm } = await import('../confirm.js');
        if (!(await confirm(`Cancel all jobs on cluster ${cluster}?`))) {
          note('Aborted.');
          throw new ExitCode(1);
        }
      }
      const client = await daemon();
      const res = await client.call('cancel', opts.all ? { cluster, all: true } : { cluster, jobIds: ids });
      note(res.cancelled.length ? `Cancelled job(s) ${res.cancelled.join(', ')} on ${cluster}.` : 'No job to cancel.');
      const left = ids.filter((id) => !res.cancelled.includes(id));
      if (left.length === 0) return;
      const { jobs: known } = await client.call('queue', { cluster });
      let missing = 0;
      for (const id of left) {
        const j = known.find((x) => x.id === id);
        if (j) note(`Job ${id} is already ${j.status}.`);
        else {
          missing++;
          note(`aloft: cluster '${cluster}' has no job ${id}`);
        }
      }
      if (missing) throw new ExitCode(1);
    });
}
