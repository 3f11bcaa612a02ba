// Builds the Task a launch/exec sends: from a YAML file or a command after `--`, with CLI flags
// layered on top (flags win, as in SkyPilot).
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { MAX_NUM_NODES } from '../protocol/limits.js';
import { ENV_NAME_RE } from '../spec/patterns.js';
import type { Task, TaskChain } from '../spec/types.js';
import { UserError } from '../util/errors.js';
import { errnoCode } from '../util/process.js';

export interface TaskFlags {
  name?: string;
  env?: string[];
  /** dotenv file of envs; --env wins over it */
  envFile?: string;
  secret?: string[];
  numNodes?: string;
  gpus?: string;
  cpus?: string;
  memory?: string;
  infra?: string;
  /** SkyPilot's older --cloud/--region/--zone, folded into infra */
  cloud?: string;
  region?: string;
  zone?: string;
  useSpot?: boolean;
  workdir?: string;
  instanceType?: string;
  diskSize?: string;
  ports?: string[];
}

export async function buildChain(yamlOrCommand: string[], flags: TaskFlags, opts: { dryrun?: boolean; requireService?: boolean } = {}): Promise<TaskChain> {
  const first = yamlOrCommand[0];
  const isYaml = first !== undefined && yamlOrCommand.length === 1 && /\.ya?ml$/i.test(first);
  const spec = isYaml ? await import('../spec/index.js') : await import('../spec/command.js');
  const envs = { ...(flags.envFile !== undefined ? readEnvFile(flags.envFile) : {}), ...spec.parseKeyValueFlags(flags.env ?? [], '--env') };
  const secrets = spec.parseKeyValueFlags(flags.secret ?? [], '--secret');
  const overrides = {
    name: flags.name,
    workdir: flags.workdir,
    numNodes: flags.numNodes !== undefined ? parseIntFlag('--num-nodes', flags.numNodes, MAX_NUM_NODES) : undefined,
    cpus: flags.cpus,
    memory: flags.memory,
    gpus: flags.gpus,
    infra: infraFlag(flags),
    useSpot: flags.useSpot,
    instanceType: flags.instanceType,
    diskSize: flags.diskSize !== undefined ? parseIntFlag('--disk-size', flags.diskSize) : undefined,
    ports: flags.ports,
    envs,
    secrets,
  };
  let chain: TaskChain;
  if (isYaml) {
    const { parseTaskFile } = spec as typeof import('../spec/index.js');
    // A dry run plans what it can and lists what aloft could not honour yet, instead of stopping.
    chain = parseTaskFile(first!, {
      envOverrides: envs,
      secretOverrides: secrets,
      allowUnsupported: opts.dryrun === true,
      checkPaths: opts.dryrun !== true,
      requireService: opts.requireService === true,
    });
    for (const w of chain.warnings ?? []) process.stderr.write(`aloft: warning: ${w}\n`);
    chain.tasks = chain.tasks.map((t: Task) => spec.applyOverrides(t, overrides));
  } else if (opts.requireService) {
    throw new UserError('SERVICE_YAML must be a task YAML with a `service:` section');
  } else if (yamlOrCommand.length > 0) {
    chain = { tasks: [spec.taskFromCommand(yamlOrCommand.join(' '), overrides)] };
  } else {
    chain = { tasks: [spec.taskFromCommand('', overrides)] };
  }
  return chain;
}

/** SkyPilot's --env-file: a dotenv file (KEY=VALUE lines, # comments, quotes). */
function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`--env-file ${path}: ${errnoCode(err) === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const vars = parseEnv(text) as Record<string, string>;
  for (const k of Object.keys(vars)) {
    if (!ENV_NAME_RE.test(k)) throw new UserError(`--env-file ${path}: '${k}' is not a valid variable name`);
  }
  return vars;
}

/** --infra, or the same place said the older way: --cloud aws --region us-east-1 --zone us-east-1a. */
function infraFlag(f: TaskFlags): string | undefined {
  if (f.cloud === undefined && f.region === undefined && f.zone === undefined) return f.infra;
  if (f.infra !== undefined) throw new UserError('--infra and --cloud/--region/--zone say the same thing; give one (e.g. --infra aws/us-east-1)');
  if (f.zone !== undefined && f.region === undefined) throw new UserError('--zone needs --region too (or --infra CLOUD/REGION/ZONE)');
  return [f.cloud ?? '*', f.region, f.zone].filter((p) => p !== undefined).join('/');
}

function parseIntFlag(flag: string, v: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} takes a positive whole number, not '${v}'`);
  if (n > max) throw new UserError(`${flag} takes at most ${max} (the limit), not ${v}`);
  return n;
}

export function singleTask(chain: TaskChain, verb: string): Task {
  if (chain.tasks.length !== 1) {
    throw new UserError(
      `this YAML is a pipeline of ${chain.tasks.length} tasks; \`aloft ${verb}\` runs one task (pipelines run with \`aloft jobs launch\`, or plan them with --dryrun)`,
    );
  }
  return chain.tasks[0]!;
}
