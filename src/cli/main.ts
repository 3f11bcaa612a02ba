// aloft's CLI. Only commander and the command definitions load at start-up; each action imports
// what it needs (the daemon client, the YAML parser, Ink) when it runs.
import { Command, CommanderError } from 'commander';
import { ExitCode } from './context.js';
import { register as registerLaunch } from './commands/launch.js';
import { register as registerClusters } from './commands/clusters.js';
import { register as registerJobs } from './commands/cluster-jobs.js';
import { register as registerDaemon } from './commands/daemon.js';
import { registerOptional } from './optional.js';
import { aloftVersion } from '../util/version.js';

async function main(argv: string[]): Promise<void> {
  const program = new Command('aloft')
    .description('Run AI and batch workloads on any infrastructure from one task YAML.')
    .version(aloftVersion(), '-v, --version')
    .showSuggestionAfterError(true)
    // `-v` is the version only before a verb: `status -v` is status's verbose flag, as in SkyPilot.
    .enablePositionalOptions()
    .exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'aloft: ')) });
  registerLaunch(program);
  registerClusters(program);
  registerJobs(program);
  registerDaemon(program);
  registerOptional(program);
  await program.parseAsync(argv);
}

function report(err: unknown): number {
  if (err instanceof ExitCode) return err.code;
  if (err instanceof CommanderError) {
    // commander already printed its one line (or help/version, which exit 0)
    return err.exitCode;
  }
  const e = err as Error & { code?: string };
  const msg = e?.message ?? String(err);
  process.stderr.write(`aloft: ${msg}\n`);
  if (process.env.ALOFT_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  return 1;
}

/**
 * Exits once everything written to stdout and stderr has left the process. On a pipe both are
 * asynchronous: exiting straight away cuts `aloft logs … | grep` or `-o json | jq` short.
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

// A reader that goes away (`aloft logs … | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

main(process.argv).then(
  () => exitAfterFlush(Number(process.exitCode ?? 0)),
  (err) => exitAfterFlush(report(err)),
);
