// `aloft top` in a real terminal: alternate screen, one Ink app fed by the daemon's event stream,
// stepping aside for `s` (shell) and restoring the terminal however we leave.
import { spawnSync } from 'node:child_process';
import { render, type Instance } from 'ink';
import type { ApiClient } from '../client/types.js';
import type { DaemonInfo } from '../protocol/api.js';
import { App } from './App.js';
import type { TopDeps } from './context.js';
import type { Keymap } from './keys/commands.js';
import type { NavState } from './state/nav.js';
import { TuiStore, type Subscribe } from './state/store.js';

/** Events are applied together at most this often (one state change per batch). */
export const FLUSH_MS = 25;
/** Ink's output throttle: keeps a 1,000-lines/s log from costing 1,000 frames/s. */
export const MAX_FPS = 30;

const ENTER_ALT = '\u001B[?1049h\u001B[H\u001B[2J\u001B[?25l';
const LEAVE_ALT = '\u001B[?25h\u001B[?1049l';

export interface RunTopOptions extends Omit<TopDeps, 'quit' | 'shell' | 'info'> {
  client: ApiClient;
  subscribe: Subscribe;
  info?: DaemonInfo;
  keymap?: Keymap;
  /** the command that opens an interactive shell on a cluster (`aloft ssh CLUSTER`) */
  shellCommand?(cluster: string): { command: string; args: string[] };
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

/** Runs until the user quits. */
export async function runTop(opts: RunTopOptions): Promise<void> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const store = new TuiStore(FLUSH_MS);
  store.connect(opts.subscribe);

  let onScreen = false;
  const enter = () => {
    if (!onScreen) stdout.write(ENTER_ALT);
    onScreen = true;
  };
  const restore = () => {
    if (!onScreen) return;
    onScreen = false;
    try {
      if (stdin.isTTY) stdin.setRawMode(false);
    } catch {
      /* the terminal may already be gone */
    }
    stdout.write(LEAVE_ALT);
  };
  // Whatever ends the process (crash, signal, exit) gives the terminal back as it was.
  const onExit = () => restore();
  const onCrash = (err: unknown) => {
    instance?.unmount();
    restore();
    process.stderr.write(`aloft top: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };
  const onSignal = () => {
    instance?.unmount();
    restore();
    process.exit(130);
  };
  process.on('exit', onExit);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  let nav: NavState | undefined;
  let instance: Instance | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  let inShell = false;
  let failure: unknown;

  const deps: TopDeps = {
    client: opts.client,
    home: opts.home,
    info: opts.info,
    listTaskFiles: opts.listTaskFiles,
    completePath: opts.completePath,
    taskVariables: opts.taskVariables,
    prepareLaunch: opts.prepareLaunch,
    reviveDaemon: opts.reviveDaemon,
    loadGpus: opts.loadGpus,
    streamManagedLogs: opts.streamManagedLogs,
    streamServeLogs: opts.streamServeLogs,
    quit: () => finish(),
    shell: opts.shellCommand ? (cluster) => setImmediate(() => shell(cluster)) : undefined,
  };

  const mount = () => {
    enter();
    instance = render(<App store={store} deps={deps} keymap={opts.keymap} initialNav={nav} onNavChange={(n) => (nav = n)} />, {
      stdin,
      stdout,
      exitOnCtrlC: false,
      patchConsole: true,
      maxFps: MAX_FPS,
    });
    // A render error ends Ink's app; end ours too instead of leaving its error screen up.
    instance.waitUntilExit().catch((err: unknown) => {
      failure = err;
      finish();
    });
  };

  const shell = (cluster: string) => {
    if (inShell || !opts.shellCommand) return;
    inShell = true;
    const { command, args } = opts.shellCommand(cluster);
    // Ink lets go of stdin (raw mode off, listeners removed) so the child owns the terminal.
    instance?.unmount();
    instance = undefined;
    restore();
    stdin.pause();
    stdout.write(`aloft: shell on ${cluster}; exit it to return to aloft top\n`);
    // Ctrl-C in the session is the session's business, not a reason to kill the dashboard.
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    try {
      // Synchronous on purpose: while the session runs, this process must not read the terminal
      // (an interactive shell takes the foreground and our reads would fail with EIO). Events
      // from the daemon wait in the socket and are applied when the dashboard comes back.
      const r = spawnSync(command, args, { stdio: 'inherit' });
      if (r.error) stdout.write(`aloft: could not start a shell: ${r.error.message}\n`);
    } finally {
      process.off('SIGINT', ignore);
      inShell = false;
      mount();
    }
  };

  mount();
  try {
    await finished;
  } finally {
    instance?.unmount();
    store.close();
    restore();
    process.off('exit', onExit);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  if (failure) throw failure;
}
