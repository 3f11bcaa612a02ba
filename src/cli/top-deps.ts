// What `aloft top` gets from the CLI: the daemon client and event stream (starting the daemon
// again when it is gone), and the CLI's own task handling for the launch form — the same
// buildChain and flags as `aloft launch`, so a launch from the dashboard is that command line.
import { join } from 'node:path';
import type { DaemonClient } from '../client/client.js';
import type { RunTopOptions } from '../tui/run.js';
import type { LaunchForm, TaskVariables } from '../tui/data/launch.js';
import type { Task } from '../spec/types.js';
import { packageRoot } from '../util/paths.js';
import type { TaskFlags } from './task-input.js';

/** `aloft launch`'s flags for a form (what launchArgs spells as a command line). */
export function launchFlags(form: LaunchForm): TaskFlags {
  const kv = (o: Record<string, string | undefined>) => Object.entries(o).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
  return {
    ...(form.infra ? { infra: form.infra } : {}),
    ...(form.gpus ? { gpus: form.gpus } : {}),
    ...(form.useSpot ? { useSpot: true } : {}),
    env: kv(form.envs),
    secret: kv(form.secrets),
  };
}

export async function prepareLaunch(form: LaunchForm): Promise<Task> {
  const { buildChain, singleTask } = await import('./task-input.js');
  return singleTask(await buildChain([form.path], launchFlags(form)), 'launch');
}

export async function taskVariables(path: string, env: NodeJS.ProcessEnv = process.env): Promise<TaskVariables> {
  const { unsetVariables } = await import('../spec/variables.js');
  const u = unsetVariables(path);
  const of = (names: string[]) => names.map((name) => ({ name, inShell: env[name] !== undefined }));
  return { envs: of(u.envs), secrets: of(u.secrets) };
}

export async function topOptions(client: DaemonClient, home: string): Promise<Omit<RunTopOptions, 'info' | 'keymap'>> {
  const [tui, { subscribeEvents }, { reviveFor }] = await Promise.all([
    import('../tui/index.js'),
    import('../client/events.js'),
    import('./context.js'),
  ]);
  const bin = join(packageRoot(), 'bin', 'aloft');
  const revive = () => reviveFor(client)().then(() => undefined);
  return {
    client,
    home,
    // A remote server's stream reconnects and resumes by itself; only a local daemon is started.
    subscribe: (o) => subscribeEvents({ ...o, home, endpoint: client.endpoint, ...(client.remote ? {} : { revive }) }),
    reviveDaemon: revive,
    shellCommand: (cluster) => ({ command: process.execPath, args: [bin, 'ssh', cluster] }),
    listTaskFiles: () => tui.listTaskFiles(process.cwd(), [join(packageRoot(), 'examples')]),
    completePath: (p) => tui.completePath(p),
    taskVariables: (p) => taskVariables(p),
    prepareLaunch,
    loadGpus: tui.loadGpuCatalog,
    streamManagedLogs: tui.managedLogStreamer(client.endpoint),
    streamServeLogs: tui.serveLogStreamer(client.endpoint),
  };
}
