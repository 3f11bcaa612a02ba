// What the fake's parts (API server, scheduler, kubelet) share.
import type { EventRecorder } from './events.js';
import type { Store } from './store.js';

/** How the fake emulates an image (the root filesystem is always the host's). */
export interface ImageConfig {
  /** ENTRYPOINT; used when the container has no `command` */
  entrypoint?: string[];
  /** CMD; used when the container has neither `command` nor `args` */
  cmd?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  /** files and directories the image has: container path → host path (bind-mounted) */
  files?: Record<string, string>;
  /** paths the image does not have, e.g. ['/usr/bin/node'] for an image without Node */
  hide?: string[];
}

export interface Timing {
  /** time an image pull takes (default 0) */
  pullMs: number;
  /** ErrImagePull → ImagePullBackOff, and between pull retries (real: 10 s doubling) */
  imagePullBackoffMs: number;
  /** first CrashLoopBackOff delay, doubling up to 8× (real: 10 s doubling up to 5 min) */
  crashLoopBackoffMs: number;
}

export interface FakeContext {
  store: Store;
  events: EventRecorder;
  rootDir: string;
  /** host:port pods reach the API server on (KUBERNETES_SERVICE_HOST/PORT) */
  apiHost: string;
  apiPort: number;
  timing: Timing;
  image(ref: string): ImageConfig;
  isPullable(ref: string): boolean;
  allocatePodIp(): string;
  nodeIp(node: string): string;
}

/** "busybox" → "docker.io/library/busybox:latest", as containerd names it in errors. */
export function normalizeImage(ref: string): string {
  let name = ref;
  const first = name.split('/')[0]!;
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = `docker.io/${name.includes('/') ? '' : 'library/'}${name}`;
  const last = name.split('/').pop()!;
  if (!last.includes(':') && !name.includes('@')) name += ':latest';
  return name;
}
