// CLI flags layered over a parsed task (flags win, as in SkyPilot), tasks made from a bare
// command (`aloft launch -- echo hi`), and --env/--secret KEY[=VALUE] lists.
import { statSync } from 'node:fs';
import { SpecError, ValueProblem } from './errors.js';
import { blankTask } from './resources.js';
import { ENV_NAME_RE } from './patterns.js';
import { resolveLocalPath } from './task.js';
import type { ResourcesSpec, Task } from './types.js';
import { parseAccelerators, parseDiskSize, parseInfra, parsePorts, parseQuantity, parseSize } from './values.js';

export interface TaskOverrides {
  name?: string;
  workdir?: string;
  numNodes?: number;
  cpus?: string | number;
  memory?: string | number;
  /** same syntax as resources.accelerators written as a string: "A100:8", "A100", "{A100:1,V100:1}" */
  gpus?: string;
  infra?: string;
  useSpot?: boolean;
  instanceType?: string;
  diskSize?: number | string;
  envs?: Record<string, string>;
  secrets?: Record<string, string>;
  ports?: Array<string | number> | string | number;
}

function flagValue<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValueProblem) throw new SpecError(`${flag}: ${err.message}`);
    throw err;
  }
}

/**
 * `--env K=V` / `--env K` (K's value taken from this shell, as SkyPilot does) → {K: V}.
 * A later flag for the same key wins.
 */
export function parseKeyValueFlags(list: string[], flag: '--env' | '--secret'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (!ENV_NAME_RE.test(key)) {
      throw new SpecError(`${flag} ${item}: '${key}' is not a valid variable name (letters, digits and _, not starting with a digit)`);
    }
    if (eq >= 0) {
      out[key] = item.slice(eq + 1);
      continue;
    }
    const fromShell = process.env[key];
    if (fromShell === undefined) throw new SpecError(`${flag} ${key}: ${key} is not set in this shell; pass ${flag} ${key}=VALUE`);
    out[key] = fromShell;
  }
  return out;
}

function overrideResources(rs: ResourcesSpec, o: TaskOverrides): ResourcesSpec {
  const out: ResourcesSpec = structuredClone(rs);
  if (o.infra !== undefined) out.infra = flagValue('--infra', () => parseInfra(o.infra!));
  if (o.cpus !== undefined) out.cpus = flagValue('--cpus', () => parseQuantity(o.cpus));
  if (o.memory !== undefined) out.memory = flagValue('--memory', () => parseSize(o.memory));
  if (o.gpus !== undefined) out.accelerators = flagValue('--gpus', () => parseAccelerators(o.gpus)).items;
  if (o.useSpot !== undefined) out.useSpot = o.useSpot;
  if (o.instanceType !== undefined) {
    if (!o.instanceType.trim()) throw new SpecError('--instance-type: expected an instance type name');
    out.instanceType = o.instanceType.trim();
  }
  if (o.diskSize !== undefined) out.diskSize = flagValue('--disk-size', () => parseDiskSize(o.diskSize));
  if (o.ports !== undefined) out.ports = flagValue('--ports', () => parsePorts(o.ports));
  return out;
}

/** A copy of `task` with the flags applied; resource flags apply to every candidate. */
export function applyOverrides(task: Task, o: TaskOverrides = {}): Task {
  const t: Task = structuredClone(task);
  if (o.name !== undefined) {
    if (!o.name.trim()) throw new SpecError('--name: expected a name');
    t.name = o.name.trim();
  }
  if (o.numNodes !== undefined) {
    if (!Number.isInteger(o.numNodes) || o.numNodes < 1) throw new SpecError(`--num-nodes: expected a whole number of 1 or more, got ${o.numNodes}`);
    t.numNodes = o.numNodes;
  }
  if (o.workdir !== undefined) {
    const dir = resolveLocalPath(o.workdir, process.cwd());
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new SpecError(`--workdir: ${dir} does not exist`);
    }
    if (!isDir) throw new SpecError(`--workdir: ${dir} is not a directory`);
    t.workdir = dir;
    delete t.gitWorkdir;
  }
  if (o.envs) t.envs = { ...t.envs, ...o.envs };
  if (o.secrets) t.secrets = { ...t.secrets, ...o.secrets };
  t.resources = { ...t.resources, candidates: t.resources.candidates.map((c) => overrideResources(c, o)) };
  return t;
}

/** The task for `aloft launch -- CMD...`: run = the command, then the flags. */
export function taskFromCommand(command: string, o: TaskOverrides = {}): Task {
  const t = blankTask();
  if (command.trim()) t.run = command;
  return applyOverrides(t, o);
}
