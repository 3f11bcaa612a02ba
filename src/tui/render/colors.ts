// The one place that decides what colour a status is (k9s: render → colour, never in views).
import type { ClusterStatus, JobStatus, ManagedJobStatus, RequestStatus } from '../../protocol/model.js';

export type Colour = 'green' | 'yellow' | 'red' | 'gray' | 'cyan' | 'blue' | 'magenta' | 'white';

const COLOURS: Record<string, Colour> = {
  // clusters
  UP: 'green',
  INIT: 'yellow',
  STOPPED: 'gray',
  TERMINATED: 'gray',
  // jobs
  PENDING: 'yellow',
  SETTING_UP: 'cyan',
  RUNNING: 'green',
  SUCCEEDED: 'blue',
  FAILED: 'red',
  FAILED_SETUP: 'red',
  FAILED_DRIVER: 'red',
  CANCELLED: 'gray',
  // managed jobs (shared names above keep their colour: RUNNING, SUCCEEDED, FAILED*, CANCELLED)
  STARTING: 'yellow',
  RECOVERING: 'yellow',
  CANCELLING: 'gray',
  FAILED_NO_RESOURCE: 'red',
  FAILED_CONTROLLER: 'red',
  // services and their replicas (SkyServe's colours; READY, PENDING, STARTING, FAILED above)
  READY: 'green',
  NOT_READY: 'yellow',
  PROVISIONING: 'blue',
  SHUTTING_DOWN: 'magenta',
  PREEMPTED: 'magenta',
  FAILED_INITIAL_DELAY: 'red',
  FAILED_PROBING: 'red',
  FAILED_PROVISION: 'red',
  FAILED_CLEANUP: 'red',
  UNKNOWN: 'red',
  CONTROLLER_INIT: 'blue',
  REPLICA_INIT: 'blue',
  CONTROLLER_FAILED: 'red',
  NO_REPLICA: 'magenta',
  // notice levels
  info: 'white',
  warn: 'yellow',
  error: 'red',
};

export function statusColour(status: ClusterStatus | JobStatus | ManagedJobStatus | RequestStatus | string | undefined): Colour {
  return (status && COLOURS[status]) || 'white';
}

/** Requests are RUNNING while in flight; show them cyan so they do not read as healthy jobs. */
export function requestColour(status: RequestStatus): Colour {
  return status === 'RUNNING' ? 'cyan' : statusColour(status);
}
