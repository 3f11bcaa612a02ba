// `aloft serve up/update/status/logs/down`: SkyServe's verbs, flags and output.
import { type Command, Option } from 'commander';
import { daemon, ExitCode, note, outputOption, printJson } from '../context.js';
import type { TaskFlags } from '../task-input.js';
import { taskOptions } from './launch.js';
import { UserError } from '../../util/errors.js';
import type { DaemonClient } from '../../client/client.js';
import type { Task } from '../../spec/types.js';

const MODES = ['rolling', 'blue_green'] as const;

export function register(program: Command): void {
  const serve = program.command('serve').description('SkyServe: serve a task as replicas behind a load balancer, with autoscaling and rolling updates');

  taskOptions(
    serve
      .command('up')
      .description('Launch a service (SERVICE_YAML: a task with a `service:` section)')
      .argument('<service_yaml>', 'task YAML with a service section')
      .option('-n, --service-name <name>', 'service name (generated when omitted)')
      .option('-y, --yes', 'do not ask for confirmation'),
    { name: false },
  ).action(async (yaml: string, opts: TaskFlags & { serviceName?: string; yes?: boolean }) => {
    const name = opts.serviceName;
    // With -y nothing waits for the plan: the service starts while it is printed.
    const { task, client, up } = await serviceTask(yaml, opts, 'Each replica will use the following resources (estimated):', opts.yes ? (t, c) => c.call('serveUp', { task: t, name }) : undefined);
    if (!opts.yes && !(await ask(`Launching a new service${name ? ` '${name}'` : ''}. Proceed?`))) throw new ExitCode(1);
    const { service } = await (up ?? client.call('serveUp', { task, name }));
    // The controller starts the load balancer in the background: wait for its endpoint.
    const { waitFor } = await import('../serve-render.js');
    const s = await waitFor(client, service.name, (x) => x.status !== 'CONTROLLER_INIT', 60_000);
    if (!s) throw new UserError(`service '${service.name}' did not get a load balancer within 60s; see \`aloft serve logs --controller ${service.name}\``);
    if (s.status === 'CONTROLLER_FAILED') throw new UserError(`service '${service.name}': ${s.statusReason ?? 'the load balancer could not start'}`);
    const { upSummary } = await import('../serve-render.js');
    process.stdout.write(upSummary(s) + '\n');
  });

  taskOptions(
    serve
      .command('update')
      .description('Update a service to a new version (rolling: new replicas READY before old ones go; blue_green: switch once the new set is READY)')
      .argument('<service_name>')
      .argument('<service_yaml>')
      .addOption(new Option('--mode <mode>', 'rolling or blue_green').default('rolling'))
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(async (name: string, yaml: string, opts: TaskFlags & { mode: string; yes?: boolean }) => {
    const mode = opts.mode.toLowerCase();
    if (!(MODES as readonly string[]).includes(mode)) throw new UserError(`--mode takes rolling or blue_green, not '${opts.mode}'`);
    const { task, client } = await serviceTask(yaml, opts, 'New replica will use the following resources (estimated):');
    if (!opts.yes && !(await ask(`Updating service '${name}'. Proceed?`))) throw new ExitCode(1);
    const { service, reused } = await client.call('serveUpdate', { name, task, mode: mode as (typeof MODES)[number] });
    const { paint } = await import('../serve-render.js');
    process.stdout.write(
      `${paint(`Service '${name}' update scheduled.`, 'green')}\nPlease use aloft serve status ${name} to check the latest status.\n` +
        `${paint(`✓ Successfully updated service '${name}' to version ${service.version}.`, 'green')}\n` +
        (reused ? `Only the service section changed: the replicas stay and serve as version ${service.version}.\n` : `Replicas are updating, use \`aloft serve logs ${name} <replica_id>\` to check their status.\n`),
    );
  });

  serve
    .command('status')
    .description('Show services and their replicas')
    .argument('[service_names...]')
    .option('-v, --verbose', 'show every field (policies, resources, QPS and latency)')
    .option('--all', 'same as -v')
    .option('--endpoint', "print only the service's endpoint")
    .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption))
    .action(async (names: string[], opts: { verbose?: boolean; all?: boolean; endpoint?: boolean; output: string }) => {
      const client = await daemon();
      const { services } = await client.call('serveStatus', { names });
      if (opts.endpoint) {
        if (services.length !== 1) {
          throw new UserError(`${services.length || 'No'} service${services.length > 1 ? 's' : ''} found. Please specify an existing service to show its endpoint. Usage: aloft serve status --endpoint <service-name>`);
        }
        process.stdout.write(`${services[0]!.endpoint ?? '-'}\n`);
        return;
      }
      if (opts.output === 'json') return printJson(services);
      const { statusTables } = await import('../serve-render.js');
      process.stdout.write(statusTables(services, opts.verbose || opts.all) + '\n');
    });

  serve
    .command('logs')
    .description("Tail a service's logs: a replica's output, the load balancer's or the controller's")
    .argument('<service_name>')
    .argument('[replica_id]')
    .option('--controller', "the controller's log (replica states, scaling, updates)")
    .option('--load-balancer', "the load balancer's log")
    .option('--no-follow', 'print what is there and exit')
    .option('--tail <n>', 'only the last N lines (controller and load balancer logs)')
    .action(async (name: string, replica: string | undefined, opts: { controller?: boolean; loadBalancer?: boolean; follow: boolean; tail?: string }) => {
      const targets = [opts.controller, opts.loadBalancer, replica !== undefined].filter(Boolean).length;
      if (targets !== 1) throw new UserError('give one of: a REPLICA_ID, --controller or --load-balancer');
      if (replica !== undefined && !/^\d+$/.test(replica)) throw new UserError(`replica ids are whole numbers, not '${replica}'`);
      const tail = opts.tail !== undefined ? Number(opts.tail) : undefined;
      if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new UserError(`--tail takes a whole number, not '${opts.tail}'`);
      const client = await daemon();
      const sp = new URLSearchParams({ name, follow: opts.follow ? '1' : '0' });
      if (replica !== undefined) sp.set('replica', replica);
      if (opts.controller) sp.set('target', 'controller');
      if (opts.loadBalancer) sp.set('target', 'lb');
      if (tail !== undefined) sp.set('tail', String(tail));
      const { getNdjson } = await import('../../client/http.js');
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      const [{ reattaching }, { reviveFor }] = await Promise.all([import('../follow.js'), import('../context.js')]);
      try {
        await reattaching(
          (write) => ({
            done: getNdjson(client.endpoint, `/v1/stream/serveLogs?${sp}`, (item) => {
              if (item.type === 'text') write(item.text);
            }, ac.signal),
          }),
          { follow: opts.follow, stopped: () => ac.signal.aborted, revive: reviveFor(client) },
        );
      } finally {
        process.off('SIGINT', onSig);
      }
      if (ac.signal.aborted) throw new ExitCode(130);
    });

  serve
    .command('down')
    .description('Tear down services: the load balancer, then every replica')
    .argument('[service_names...]')
    .option('-a, --all', 'every service')
    .option('-p, --purge', 'forget a service even when tearing a replica down fails')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (names: string[], opts: { all?: boolean; purge?: boolean; yes?: boolean }) => {
      if (Boolean(names.length) === Boolean(opts.all)) {
        throw new UserError(`give SERVICE_NAMES or --all, not ${names.length ? 'both' : 'neither'}`);
      }
      if (!opts.yes) {
        const what = opts.all ? 'all services' : `service(s) ${names.map((n) => `'${n}'`).join(', ')}`;
        if (!(await ask(`Terminating ${what}. Proceed?`))) throw new ExitCode(1);
      }
      const client = await daemon();
      const { services, missing } = await client.call('serveDown', { names, all: opts.all, purge: opts.purge });
      for (const m of missing) note(`aloft: service '${m}' does not exist`);
      if (services.length === 0 && !missing.length) note('No existing services.');
      const { waitGone } = await import('../serve-render.js');
      const failed = await waitGone(client, services);
      for (const [n, why] of failed) note(`aloft: service '${n}' FAILED_CLEANUP: ${why}`);
      if (missing.length || failed.length) throw new ExitCode(1);
    });
}

async function serviceTask<T>(yaml: string, opts: TaskFlags, resourcesTitle: string, alongside?: (task: Task, client: DaemonClient) => Promise<T>) {
  const { buildChain, singleTask } = await import('../task-input.js');
  const chain = await buildChain([yaml], opts, { requireService: true });
  if (chain.tasks.length !== 1) throw new UserError('a service YAML has one task; pipelines (several documents) cannot be served');
  const task = singleTask(chain, 'serve up');
  const { checkServiceTask, serviceSpecText } = await import('../../spec/service.js');
  checkServiceTask(task);
  const client = await daemon();
  const { paint } = await import('../serve-render.js');
  const up = alongside?.(task, client);
  up?.catch(() => undefined); // awaited by the caller
  const plan = await client.call('plan', { tasks: [task] });
  process.stdout.write(`${paint('Service spec:', 'cyan')}\n${serviceSpecText(task.service!)}\n\n${paint(resourcesTitle, 'cyan')}\n${plan.text}\n`);
  return { task, client, up };
}

async function ask(question: string): Promise<boolean> {
  const { confirm } = await import('../confirm.js');
  const yes = await confirm(question, true);
  if (!yes) note('Aborted.');
  return yes;
}
