// The launch form's data: what the user filled in, and the `aloft launch` command line it stands
// for. The CLI turns a form into a task with its own flag handling (cli/top-deps.ts), so a launch
// from the dashboard is exactly the launch that command line would make.
import { shellQuote } from '../../util/shell.js';

export interface LaunchForm {
  /** the task YAML */
  path: string;
  /** -c; empty: a generated name */
  cluster?: string;
  /** --infra */
  infra?: string;
  /** --gpus */
  gpus?: string;
  /** --use-spot */
  useSpot: boolean;
  /** --env K=V for envs the YAML declares without a value; undefined: `--env K` (from the shell) */
  envs: Record<string, string | undefined>;
  /** --secret K=V; undefined: `--secret K`, the value taken from the shell that started aloft top */
  secrets: Record<string, string | undefined>;
}

export interface TaskVariable {
  name: string;
  /** the shell that started aloft top has it (`--env K` / `--secret K` take it from there) */
  inShell: boolean;
}

/** Envs and secrets a task YAML declares without a value: a launch must be given them. */
export interface TaskVariables {
  envs: TaskVariable[];
  secrets: TaskVariable[];
}

/** The CLI flags a form stands for, in `aloft launch`'s spelling. Secret values are never in it. */
export function launchArgs(f: LaunchForm, opts: { withSecretValues?: boolean } = {}): string[] {
  const args: string[] = [];
  if (f.cluster) args.push('-c', f.cluster);
  if (f.infra) args.push('--infra', f.infra);
  if (f.gpus) args.push('--gpus', f.gpus);
  if (f.useSpot) args.push('--use-spot');
  for (const [k, v] of Object.entries(f.envs)) args.push('--env', v === undefined ? k : `${k}=${v}`);
  for (const [k, v] of Object.entries(f.secrets)) args.push('--secret', opts.withSecretValues && v !== undefined ? `${k}=${v}` : k);
  return args;
}

/** `aloft launch …` as a user would type it (secrets by name only). */
export function launchCommand(f: LaunchForm): string {
  return ['aloft', 'launch', ...launchArgs(f), f.path].map((a) => (/^[\w./:=@+,-]+$/.test(a) ? a : shellQuote(a))).join(' ');
}
