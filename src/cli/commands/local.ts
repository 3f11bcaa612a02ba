import type { Command } from 'commander';
import { daemon, note } from '../context.js';

export function register(program: Command): void {
  const local = program.command('local').description('The embedded local infra');
  local
    .command('preempt')
    .description('Kill a local spot cluster\'s nodes abruptly, the way a cloud reclaims spot instances')
    .argument('<cluster>')
    .action(async (cluster: string) => {
      const client = await daemon();
      await client.call('preempt', { cluster });
      note(`${cluster}: preempted`);
    });
}
