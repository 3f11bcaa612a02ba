// `aloft check`: which infra this machine can use, and what is missing for the others.
import type { Command } from 'commander';
import { outputOption, printJson, type OutputFormat } from '../context.js';

async function kubernetesContexts(probe: boolean) {
  const { inspectContexts } = await import('../../providers/kubernetes/inspect.js');
  const { aloftHome } = await import('../../util/paths.js');
  try {
    if (!probe) {
      // Without probing: the contexts as the kubeconfig and config name them, nothing fetched.
      const { loadKubeconfig, usableContexts, namespaceFor } = await import('../../providers/kubernetes/kubeconfig.js');
      const { loadConfig } = await import('../../spec/config.js');
      const { homePaths } = await import('../../util/paths.js');
      const { effectiveKubernetesConfig } = await import('../../spec/kubernetes-config.js');
      const k = loadKubeconfig();
      const cfg = loadConfig(homePaths(aloftHome()).config).kubernetes;
      const used = usableContexts(k, cfg).contexts;
      return [...k.contexts.values()].map((c) => ({
        context: c.name,
        current: k.current === c.name,
        used: used.includes(c.name),
        reachable: false,
        server: c.server,
        namespace: namespaceFor(c, effectiveKubernetesConfig(cfg, c.name)),
        nodes: 0,
        gpus: '-',
        reason: undefined as string | undefined,
        rows: [],
        summary: [],
      }));
    }
    return (await inspectContexts({ home: aloftHome() })).reports;
  } catch (err) {
    return [{ context: '-', current: false, used: false, reachable: false, server: '-', namespace: '-', nodes: 0, gpus: '-', reason: (err as Error).message, rows: [], summary: [] }];
  }
}

export function register(program: Command): void {
  program
    .command('check')
    .description('show which infra (local, ssh, kubernetes, aws, gcp) are usable here and why not')
    .option('--no-probe', 'do not try to reach the cloud APIs')
    .option('-o, --output <format>', 'table or json', outputOption, 'table' as OutputFormat)
    .action(async (opts: { probe: boolean; output: OutputFormat }) => {
      const [{ detectInfra }, { table, color }] = await Promise.all([import('../../catalog/detect.js'), import('../table.js')]);
      const statuses = await detectInfra({ probe: opts.probe });
      const ssh = statuses.find((s) => s.infra === 'ssh' && s.ok);
      // Pools are checked host by host: reachable, host key, Node.js, resources, who holds it.
      const hosts = ssh ? await (await import('../../providers/ssh/inspect.js')).sshPoolReport() : [];
      // Kubernetes contexts are checked one by one: reachable, namespace, GPU vendors on their nodes.
      const k8s = statuses.find((s) => s.infra === 'kubernetes' && s.ok);
      const contexts = k8s ? await kubernetesContexts(opts.probe) : undefined;
      if (k8s && contexts) {
        const usable = contexts.filter((c) => c.used && c.reachable);
        if (opts.probe && !usable.length) {
          k8s.reachable = false;
          k8s.reason += '; no usable context (see below)';
        }
      }
      if (opts.output === 'json') {
        return printJson(
          statuses.map((s) => (s === ssh ? { ...s, hosts } : s === k8s ? { ...s, contexts: contexts?.map(({ rows: _r, summary: _s, ...c }) => c) } : s)),
        );
      }
      process.stdout.write(
        table(
          ['INFRA', 'STATUS', 'DETAILS'],
          statuses.map((s) => [
            s.infra,
            s.ok ? (s.reachable === false ? color('unreachable', 'yellow') : color('enabled', 'green')) : color('disabled', 'gray'),
            s.reason + (s.targets?.length ? ` [${s.targets.join(', ')}]` : ''),
          ]),
        ) + '\n',
      );
      if (hosts.length) {
        const { poolReportRows } = await import('../../providers/ssh/inspect.js');
        process.stdout.write('\nSSH node pools:\n' + table(['POOL', 'HOST', 'STATUS', 'RESOURCES', 'CLUSTERS'], poolReportRows(hosts)) + '\n');
      }
      if (contexts?.length) {
        process.stdout.write(
          '\nKubernetes contexts:\n' +
            table(
              ['CONTEXT', 'STATUS', 'NAMESPACE', 'NODES', 'GPUS', 'DETAILS'],
              contexts.map((c) => [
                c.context + (c.current ? ' *' : ''),
                !c.used ? color('not used', 'gray') : c.reachable ? color('enabled', 'green') : !opts.probe ? color('not probed', 'gray') : color('unreachable', 'yellow'),
                c.namespace,
                c.reachable ? String(c.nodes) : '-',
                c.gpus,
                c.reason ?? c.server,
              ]),
            ) +
            '\n',
        );
      }
    });
}
