import { type Command, Option } from 'commander';
import { note, outputOption, printJson } from '../context.js';
import { aloftHome, homePaths } from '../../util/paths.js';

export function register(program: Command): void {
  const d = program.command('daemon').description("Manage aloft's background daemon");

  d.command('start')
    .description('start the daemon (it starts by itself on first use)')
    .action(async () => {
      const { ensureDaemon } = await import('../../client/spawn.js');
      const info = await ensureDaemon(aloftHome());
      note(`daemon running (pid ${info.pid}, ${info.socket})`);
    });

  d.command('stop')
    .description('stop the daemon (clusters and jobs keep running)')
    .action(async () => {
      const pid = await stopDaemon(homePaths());
      note(pid === undefined ? 'daemon not running' : `daemon stopped (pid ${pid})`);
    });

  d.command('status')
    .description('pid, version, socket and uptime of the daemon')
    .addOption(new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption))
    .action(async (opts: { output: string }) => {
      const { probe } = await import('../../client/spawn.js');
      const { DaemonBusy } = await import('../../client/http.js');
      const paths = homePaths();
      let info;
      try {
        info = await probe(paths.socket);
      } catch (err) {
        if (!(err instanceof DaemonBusy)) throw err;
        const { liveDaemonPid } = await import('../../util/process.js');
        const pid = liveDaemonPid(paths.pidFile);
        if (opts.output === 'json') printJson({ running: true, busy: true, pid: pid ?? null, socket: paths.socket, home: paths.home });
        else process.stdout.write(`daemon: running but busy (${err.message})\npid: ${pid ?? 'unknown'}\nsocket: ${paths.socket}\n`);
        return;
      }
      if (opts.output === 'json') {
        printJson(info ? { running: true, ...info } : { running: false, socket: paths.socket, home: paths.home });
      } else if (!info) {
        process.stdout.write(`daemon: not running (socket ${paths.socket})\n`);
      } else {
        process.stdout.write(
          `daemon: running\npid: ${info.pid}\nversion: ${info.version} (api ${info.apiVersion})\nsocket: ${info.socket}\nhome: ${info.home}\nuptime: ${info.uptimeSeconds}s\n`,
        );
      }
      if (!info) process.exitCode = 1;
    });

  d.command('logs')
    .description("print the daemon's log")
    .option('--tail <lines>', 'only the last N lines', '200')
    .action(async (opts: { tail: string }) => {
      const { tailFile } = await import('../../client/spawn.js');
      process.stdout.write(tailFile(homePaths().log, Number(opts.tail)) + '\n');
    });
}

/**
 * Asks this home's daemon to stop and waits until it has; its pid, or undefined if none ran. A
 * daemon too busy to answer gets the same signal as `kill`, since it was asked by hand to stop.
 */
export async function stopDaemon(paths: ReturnType<typeof homePaths>): Promise<number | undefined> {
  const { probe } = await import('../../client/spawn.js');
  const { DaemonBusy, DaemonUnreachable, postJson } = await import('../../client/http.js');
  const { liveDaemonPid, waitForExit } = await import('../../util/process.js');
  let pid: number | undefined;
  try {
    const info = await probe(paths.socket);
    if (!info) return undefined;
    pid = info.pid;
    // A daemon that leaves before its answer is out has done what was asked.
    await postJson(paths.socket, '/v1/rpc/shutdown', {}).catch((err) => {
      if (!(err instanceof DaemonUnreachable)) throw err;
    });
  } catch (err) {
    pid = err instanceof DaemonBusy ? liveDaemonPid(paths.pidFile) : undefined;
    if (pid === undefined) throw err;
    note(`daemon (pid ${pid}) does not answer; sending it SIGTERM`);
    process.kill(pid, 'SIGTERM');
  }
  if (await waitForExit(pid, 10_000)) return pid;
  throw new Error(`daemon (pid ${pid}) did not stop within 10s`);
}
