// Builders for optimizer tests: tasks and resources in the normalized spec shape.
import type { ResourcesSpec, Task } from '../../src/spec/types.js';
import type { LiveOffering } from '../../src/providers/types.js';

export function rs(over: Partial<ResourcesSpec> = {}): ResourcesSpec {
  return { infra: {}, useSpot: false, ports: [], labels: {}, ...over };
}

export function task(
  candidates: ResourcesSpec[] = [rs()],
  opts: { mode?: 'single' | 'any_of' | 'ordered'; numNodes?: number; name?: string } = {},
): Task {
  return {
    name: opts.name ?? 't',
    numNodes: opts.numNodes ?? 1,
    resources: { mode: opts.mode ?? (candidates.length > 1 ? 'any_of' : 'single'), candidates },
    envs: {},
    secrets: {},
    fileMounts: [],
  };
}

export const acc = (name: string, count = 1) => [{ name, count }];

export function localOffering(cpus = 4, memoryGiB = 8, accelerators: Record<string, number> = {}): LiveOffering {
  return { cloud: 'local', region: 'local', resources: { cpus, memoryGiB, accelerators }, available: 1 };
}
