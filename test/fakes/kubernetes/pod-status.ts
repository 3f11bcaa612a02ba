// A pod's phase and container statuses from the kubelet's view of its containers (the rules of
// the kubelet's getPhase: init containers first, then waiting/running/terminated counts against
// the restartPolicy).
import { normalizeImage } from './context.js';
import type { ContainerLog } from './logs.js';
import type { RunningContainer } from './sandbox.js';

export interface ContainerRuntimeState {
  name: string;
  init: boolean;
  spec: any;
  state: Record<string, any>;
  lastState: Record<string, any>;
  restartCount: number;
  containerID?: string;
  running?: RunningContainer;
  env?: Record<string, string>;
  workingDir?: string;
  logs: ContainerLog[];
  /** ran to completion and will not run again */
  done: boolean;
}

export function podPhase(containers: ContainerRuntimeState[], failed: boolean, restartPolicy: string): string {
  if (failed) return 'Failed';
  if (containers.some((c) => c.init && !c.done)) return 'Pending';
  const main = containers.filter((c) => !c.init);
  let running = 0;
  let waiting = 0;
  let failures = 0;
  for (const c of main) {
    const t = c.state['terminated'] ?? c.lastState['terminated'];
    if (c.state['running']) running++;
    else if (t) failures += t.exitCode === 0 ? 0 : 1;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (restartPolicy === 'Always' && main.some((c) => !c.done)) return 'Running';
  if (restartPolicy === 'OnFailure' && failures > 0 && main.some((c) => !c.done)) return 'Running';
  if (main.every((c) => c.done)) return failures > 0 ? 'Failed' : 'Succeeded';
  return 'Running';
}

export function containerStatus(c: ContainerRuntimeState): Record<string, unknown> {
  return {
    name: c.name,
    state: c.state,
    lastState: c.lastState,
    ready: c.init ? c.done && !!c.state['terminated'] : !!c.state['running'],
    restartCount: c.restartCount,
    image: c.spec.image,
    imageID: c.containerID ? `${normalizeImage(c.spec.image)}@sha256:${'0'.repeat(64)}` : '',
    ...(c.containerID ? { containerID: c.containerID } : {}),
    started: !!c.state['running'],
    ...(c.spec.volumeMounts?.length ? { volumeMounts: c.spec.volumeMounts.map((m: any) => ({ name: m.name, mountPath: m.mountPath, ...(m.readOnly ? { readOnly: true } : {}) })) } : {}),
  };
}
