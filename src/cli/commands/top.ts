// `aloft top`: the live dashboard. Ink and React load only inside the action.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('top')
    .description('Live dashboard of clusters, jobs, requests, events and logs (k9s-style keys; ? for help)')
    .option('--once', 'print the clusters view once as plain text and exit (works without a terminal)')
    .action(async (opts: { once?: boolean }) => {
      const [{ daemon, ExitCode }, { aloftHome }] = await Promise.all([
        import('../context.js'),
        import('../../util/paths.js'),
      ]);
      const home = aloftHome();
      if (!opts.once && !(process.stdout.isTTY && process.stdin.isTTY)) {
        process.stderr.write('aloft: top needs a terminal; use `aloft top --once` or `aloft status` in scripts and pipes\n');
        throw new ExitCode(2);
      }
      const client = await daemon();
      if (opts.once) {
        const [{ onceText }, snapshot, info] = await Promise.all([
          import('../../tui/once.js'),
          client.call('snapshot', {}),
          client.call('info', {}),
        ]);
        process.stdout.write(onceText(snapshot, { home, version: info.version, width: process.stdout.columns || 200 }));
        return;
      }
      // React's development build is several times slower per frame; nobody debugs React here.
      process.env.NODE_ENV ??= 'production';
      const [tui, { topOptions }, info] = await Promise.all([import('../../tui/index.js'), import('../top-deps.js'), client.call('info', {})]);
      // A bad keymap.yaml is the user's to fix: one line, before the screen switches.
      const keymap = tui.loadKeymap(home);
      await tui.runTop({ ...(await topOptions(client, home)), info, keymap });
    });
}
