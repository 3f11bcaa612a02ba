import { type Command, Option } from 'commander';
import { daemon, ExitCode, note, OPTIONAL_JSON_FIELDS, outputOption, printJson, withNulls } from '../context.js';
import { UserError } from '../../util/errors.js';
import type { TaskFlags } from '../task-input.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Flags that shape the task, shared by launch, exec and jobs launch. */
export function taskOptions(cmd: Command, o: { name?: boolean } = {}): Command {
  if (o.name !== false) cmd.option('-n, --name <name>', 'task name');
  return cmd
    .option('--env <KEY[=VALUE]>', 'set an env var (KEY alone takes it from this shell); repeatable', collect)
    .option('--env-file <path>', 'a dotenv file of env vars (--env wins over it)')
    .option('--secret <KEY[=VALUE]>', 'set a secret env var, never stored or printed; repeatable', collect)
    .option('--num-nodes <n>', 'number of nodes')
    .option('--gpus <NAME[:COUNT]>', 'accelerators, e.g. A100:8')
    .option('--cpus <n>', 'vCPUs per node, e.g. 4 or 4+')
    .option('--memory <GiB>', 'memory per node, e.g. 16 or 16+')
    .option('--infra <infra>', 'where to run: local, ssh/POOL, aws/us-east-1, k8s/CONTEXT, */REGION')
    .option('--cloud <cloud>', 'same as --infra CLOUD (SkyPilot\'s older flag)')
    .option('--region <region>', 'with --cloud: the region')
    .option('--zone <zone>', 'with --cloud and --region: the zone')
    .option('--use-spot', 'use spot instances')
    .option('--instance-type <type>', 'instance type')
    .option('--disk-size <GiB>', 'disk size in GiB')
    .option('--ports <port>', 'ports to open; repeatable', collect)
    .option('--workdir <dir>', 'directory to sync to the nodes (~/sky_workdir)');
}

interface LaunchOpts extends TaskFlags {
  cluster?: string;
  yes?: boolean;
  detach?: boolean;
  detachRun?: boolean;
  fast?: boolean;
  dryrun?: boolean;
  explain?: boolean;
  idleMinutesToAutostop?: string;
  down?: boolean;
  setup?: boolean;
  retryUntilUp?: boolean;
  output: 'table' | 'json';
}

export function register(program: Command): void {
  taskOptions(
    program
      .command('launch')
      .description('Launch a cluster (or reuse one) and run a task on it')
      .argument('[yaml_or_command...]', 'task YAML, or a command after --')
      .option('-c, --cluster <name>', 'cluster name (generated when omitted)')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('-d, --detach', 'do not stream the job output')
      .option('--detach-run', "same as -d (SkyPilot's name)")
      .option('--fast', 'reuse the cluster if it is UP: no plan shown, no confirmation, no setup')
      .option('--dryrun', 'show the plan without launching')
      .option('--explain', 'with --dryrun: say why each offering was excluded')
      .option('-i, --idle-minutes-to-autostop <minutes>', 'stop the cluster after this many idle minutes')
      .option('--down', 'tear the cluster down (not stop) when idle / when done')
      .option('--no-setup', 'skip setup on an existing cluster')
      .option('-s, --detach-setup', "SkyPilot's flag, accepted: setup always runs inside the job on the node, so a launch never waits for it")
      .option('-r, --retry-until-up', 'keep retrying provisioning until it succeeds')
      .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption)),
  ).action(async (args: string[], opts: LaunchOpts) => {
    const { buildChain, singleTask } = await import('../task-input.js');
    if (opts.cluster !== undefined) (await import('../../util/names.js')).validateClusterName(opts.cluster);
    const chain = await buildChain(args, opts, { dryrun: opts.dryrun });
    if (chain.tasks.some((t) => t.service)) {
      // SkyPilot's `sky launch` of a service YAML: the task runs once, the section is ignored.
      note('aloft: warning: the service section is ignored by `aloft launch` (it runs the task once); to spin up a service, use `aloft serve up`');
      chain.tasks = chain.tasks.map(({ service: _s, ...t }) => t);
    }
    const client = await daemon();
    if (opts.dryrun) {
      const plan = await client.call('plan', { tasks: chain.tasks, explain: opts.explain });
      if (opts.output === 'json') printJson(plan.plans.length === 1 ? plan.plans[0] : plan.plans);
      else process.stdout.write(plan.text + '\n');
      return;
    }
    const task = singleTask(chain, 'launch');
    const detach = opts.detach || opts.detachRun;
    const idle = opts.idleMinutesToAutostop !== undefined ? parseMinutes(opts.idleMinutesToAutostop) : undefined;
    // --fast (SkyPilot's): an UP cluster is reused as it is — no plan, no question, no setup.
    const reuse = opts.fast && opts.cluster ? (await client.call('status', { clusters: [opts.cluster] })).clusters[0] : undefined;
    const fastReuse = reuse?.status === 'UP';
    if (!opts.yes && !opts.fast && process.stdin.isTTY && process.stdout.isTTY) {
      const plan = await client.call('plan', { tasks: [task] });
      process.stderr.write(plan.text + '\n');
      const { confirm } = await import('../confirm.js');
      if (!(await confirm(`Launch ${opts.cluster ? `cluster ${opts.cluster}` : 'a new cluster'}?`, true))) throw new ExitCode(1);
    }
    const { followRequest, followLogs, jobExitCode, describeEnd, newRequestId, retrying } = await import('../follow.js');
    // The key makes the call safe to repeat if the daemon dies before it answers.
    const key = newRequestId('launch');
    const { requestId, cluster } = await retrying(() =>
      client.call('launch', {
        task,
        cluster: opts.cluster,
        noSetup: opts.setup === false || fastReuse,
        idleMinutes: idle,
        down: opts.down,
        retryUntilUp: opts.retryUntilUp,
        requestId: key,
      }),
    );
    if (opts.output !== 'json') note(`Launching on cluster ${cluster} (request ${requestId})`);
    const req = await followRequest(client, requestId, { quiet: opts.output === 'json', interruptible: true });
    if (req.status === 'CANCELLED') throw new UserError(`launch cancelled at ${req.stage ?? 'start'} (\`aloft requests cancel\`); what it had created is removed`);
    if (req.status !== 'SUCCEEDED') {
      // a problem with the YAML (file:line:col: …, e.g. a bucket mount) reads best as it is
      if (req.error && /^\S+:\d+:\d+: /.test(req.error)) throw new Error(req.error);
      throw new Error(`launch failed at ${req.stage ?? 'start'}: ${req.error ?? 'unknown error'}`);
    }
    if (opts.output === 'json' && detach) {
      printJson({ cluster, request_id: requestId, job_id: req.jobId ?? null });
      return;
    }
    if (req.jobId === undefined) {
      note(`Cluster ${cluster} is UP (no run command).`);
      return;
    }
    if (detach) {
      note(`Job submitted, ID: ${req.jobId}. Follow it with: aloft logs ${cluster} ${req.jobId}`);
      return;
    }
    if (opts.output !== 'json') note(`Job submitted, ID: ${req.jobId}`);
    // With -o json, stdout carries only the JSON; the job's output goes to stderr.
    const sink = opts.output === 'json' ? process.stderr : process.stdout;
    const { job, detached } = await followLogs(client, { cluster, job: req.jobId, follow: true }, true, sink);
    if (detached) throw new ExitCode(130);
    if (opts.output === 'json') printJson({ cluster, request_id: requestId, job: job ? withNulls([job], OPTIONAL_JSON_FIELDS.job)[0] : null });
    else note(`${job ? describeEnd(job) : `Job ${req.jobId} ended.`}  (aloft logs ${cluster} ${req.jobId} / aloft down ${cluster})`);
    const code = jobExitCode(job);
    if (code !== 0) throw new ExitCode(code);
  });

  taskOptions(
    program
      .command('exec')
      .description('Run a task on an existing cluster (no provisioning, no setup)')
      .argument('<cluster>', 'cluster name')
      .argument('[yaml_or_command...]', 'task YAML, or a command after --')
      .option('-d, --detach', 'do not stream the job output')
      .option('--detach-run', "same as -d (SkyPilot's name)")
      .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption)),
  ).action(async (cluster: string, args: string[], opts: TaskFlags & { detach?: boolean; detachRun?: boolean; output: string }) => {
    const { buildChain, singleTask } = await import('../task-input.js');
    const task = singleTask(await buildChain(args, opts), 'exec');
    const client = await daemon();
    const { followLogs, jobExitCode, describeEnd, newRequestId, retrying } = await import('../follow.js');
    // The key makes the call safe to repeat if the daemon dies before it answers: the agent
    // answers the job it already took instead of starting a second one.
    const key = newRequestId('exec');
    const { jobId, warnings } = await retrying(() => client.call('exec', { cluster, task, requestId: key }));
    for (const w of warnings ?? []) note(`aloft: warning: ${w}`);
    if (opts.detach || opts.detachRun) {
      if (opts.output === 'json') printJson({ cluster, job_id: jobId });
      else note(`Job submitted, ID: ${jobId}. Follow it with: aloft logs ${cluster} ${jobId}`);
      return;
    }
    if (opts.output !== 'json') note(`Job submitted, ID: ${jobId}`);
    const sink = opts.output === 'json' ? process.stderr : process.stdout;
    const { job, detached } = await followLogs(client, { cluster, job: jobId, follow: true }, true, sink);
    if (detached) throw new ExitCode(130);
    if (opts.output === 'json') printJson({ cluster, job: job ? withNulls([job], OPTIONAL_JSON_FIELDS.job)[0] : null });
    else if (job) note(describeEnd(job));
    const code = jobExitCode(job);
    if (code !== 0) throw new ExitCode(code);
  });
}

export function parseMinutes(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`idle minutes must be a number ≥ 0, not '${v}'`);
  return n;
}

