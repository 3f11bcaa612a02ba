// `aloft gpus list [NAME]`: accelerators in the catalog, where, and at what price.
import type { Command } from 'commander';
import { outputOption, printJson, type OutputFormat } from '../context.js';

interface GpusOptions {
  infra?: string;
  allRegions?: boolean;
  output: OutputFormat;
}

const money = (p: number | undefined) => (p === undefined ? '-' : `$${p < 10 ? p.toFixed(3) : p.toFixed(2)}`);

async function kubernetesGpus(context: string | undefined, name: string | undefined, output: OutputFormat): Promise<void> {
  const [{ inspectContexts }, { table }, { aloftHome }, { canonicalAccelerator }] = await Promise.all([
    import('../../providers/kubernetes/inspect.js'),
    import('../table.js'),
    import('../../util/paths.js'),
    import('../../catalog/accelerators.js'),
  ]);
  const { files, reports } = await inspectContexts({ home: aloftHome(), ...(context ? { only: context } : {}) });
  if (context && !reports.length) throw new Error(`kubernetes context '${context}' is not in ${files.join(':') || 'any kubeconfig'}`);
  const want = name ? (canonicalAccelerator(name) ?? name) : undefined;
  const shown = reports.filter((r) => r.used || context);
  const summary = shown.flatMap((r) => r.summary).filter((s) => !want || s.gpu === want);
  const nodes = shown.flatMap((r) => r.rows).filter((n) => !want || n.gpu === want);
  if (output === 'json') return printJson({ contexts: shown.map(({ rows: _r, summary: _s, ...c }) => c), gpus: summary, nodes });
  const problems = shown.filter((r) => !r.reachable);
  for (const p of problems) process.stdout.write(`context ${p.context}: ${p.reason ?? 'unreachable'}\n`);
  if (!shown.some((r) => r.reachable)) {
    if (!problems.length) process.stdout.write('no kubernetes context is in use (see `aloft check`)\n');
    return;
  }
  process.stdout.write(
    'Kubernetes GPUs\n' +
      table(
        ['CONTEXT', 'GPU', 'VENDOR', 'REQUESTABLE_QTY_PER_NODE', 'UTILIZATION'],
        summary.map((s) => [s.context, s.gpu, s.vendor, s.requestable.join(', '), `${s.free} of ${s.total} free`]),
      ) +
      '\n\nKubernetes per-node GPU availability\n' +
      table(
        ['CONTEXT', 'NODE', 'GPU', 'VENDOR', 'TOTAL', 'FREE', 'LABEL'],
        nodes.map((n) => [n.context, n.node + (n.ready ? '' : ' (not ready)'), n.gpu, n.vendor, String(n.total), String(n.free), n.source]),
      ) +
      '\n',
  );
}

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
      if (opts.infra && /^(kubernetes|k8s)(\/|$)/.test(opts.infra)) {
        // Kubernetes contexts have no catalog: their nodes are read live (GPU labels, capacity, pods).
        return kubernetesGpus(opts.infra.split('/').slice(1).join('/') || undefined, name, opts.output);
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
