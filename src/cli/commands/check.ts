// `aloft check`: which infra this machine can use, and what is missing for the others.
import type { Command } from 'commander';
import { outputOption, printJson, type OutputFormat } from '../context.js';

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
      if (opts.output === 'json') return printJson(ssh ? statuses.map((s) => (s === ssh ? { ...s, hosts } : s)) : statuses);
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
    });
}
