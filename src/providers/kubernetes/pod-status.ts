// Reading a pod's status the way a user reading `kubectl describe` would: is it running, is it
// waiting on the scheduler (and why), is it stuck on its image, or did it fail. Pure.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { MAIN_CONTAINER } from './pod-spec.js';

export type PodState =
  | { kind: 'running' }
  | { kind: 'unschedulable'; message: string }
  | { kind: 'pending'; message: string }
  | { kind: 'image'; image: string; reason: string; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'deleting' };

const IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PostStartHookError', 'CrashLoopBackOff']);

function statuses(pod: V1Pod): Array<{ s: V1ContainerStatus; init: boolean }> {
  return [
    ...(pod.status?.initContainerStatuses ?? []).map((s) => ({ s, init: true })),
    ...(pod.status?.containerStatuses ?? []).map((s) => ({ s, init: false })),
  ];
}

function imageOf(pod: V1Pod, name: string, init: boolean, fallback?: string): string {
  const list = init ? pod.spec?.initContainers : pod.spec?.containers;
  return list?.find((c) => c.name === name)?.image ?? fallback ?? '?';
}

export function podState(pod: V1Pod): PodState {
  const name = pod.metadata?.name ?? '?';
  if (pod.metadata?.deletionTimestamp) return { kind: 'deleting' };
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    const why = pod.status?.reason ? `${pod.status.reason}${pod.status.message ? `: ${pod.status.message}` : ''}` : undefined;
    const term = statuses(pod).find(({ s }) => s.state?.terminated && (s.state.terminated.exitCode ?? 0) !== 0)?.s;
    const t = term?.state?.terminated;
    return {
      kind: 'failed',
      message: `pod ${name} ${phase === 'Failed' ? 'failed' : 'exited'}${why ? ` (${why})` : t ? ` (container ${term!.name}: ${t.reason ?? 'exit'} ${t.exitCode}${t.message ? `: ${t.message.trim()}` : ''})` : ''}`,
    };
  }
  for (const { s, init } of statuses(pod)) {
    const w = s.state?.waiting;
    if (w?.reason && IMAGE_REASONS.has(w.reason)) {
      return { kind: 'image', image: imageOf(pod, s.name, init, s.image), reason: w.reason, message: (w.message ?? '').trim() };
    }
    if (w?.reason && CONFIG_REASONS.has(w.reason)) {
      return { kind: 'failed', message: `pod ${name}: container ${s.name}: ${w.reason}${w.message ? `: ${w.message.trim()}` : ''}` };
    }
    const t = s.state?.terminated;
    if (init && t && (t.exitCode ?? 0) !== 0) {
      return { kind: 'failed', message: `pod ${name}: init container ${s.name} failed (${t.reason ?? 'exit'} ${t.exitCode}${t.message ? `: ${t.message.trim()}` : ''})` };
    }
  }
  const main = pod.status?.containerStatuses?.find((s) => s.name === MAIN_CONTAINER) ?? pod.status?.containerStatuses?.[0];
  if (phase === 'Running' && main?.state?.running) return { kind: 'running' };
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched?.status === 'False' && sched.reason === 'Unschedulable') return { kind: 'unschedulable', message: sched.message ?? 'no node can take it' };
  const waiting = statuses(pod).find(({ s }) => s.state?.waiting)?.s.state?.waiting;
  return { kind: 'pending', message: waiting?.reason ?? (pod.spec?.nodeName ? 'starting' : 'waiting for the scheduler') };
}

/** Why an UP cluster's pod is gone, in one line, or undefined when it is fine. */
export function lossReason(pod: V1Pod | undefined, name: string, type?: string): string | undefined {
  if (!pod || type === 'DELETED') return `pod ${name} was deleted`;
  if (pod.metadata?.deletionTimestamp) return `pod ${name} is being deleted`;
  const phase = pod.status?.phase;
  if (phase === 'Failed' && pod.status?.reason === 'Evicted') return `pod ${name} was evicted${pod.status.message ? `: ${pod.status.message.trim()}` : ''}`;
  if (phase === 'Failed' || phase === 'Succeeded') return (podState(pod) as { message?: string }).message ?? `pod ${name} stopped`;
  return undefined;
}
