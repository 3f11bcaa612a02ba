// What the daemon's service controller and a service's load balancer process say to each other,
// over HTTP on the balancer's unix socket (DIR/lb.sock, 0600 in the 0700 home):
//   PUT  /config   the whole desired state (ready replicas, policy, timeouts): level-triggered,
//                  so a controller that restarted just sends it again
//   GET  /state    what the balancer runs now (replicas, in-flight counts, ejections)
//   GET  /stats    request counts per second and latency percentiles (the autoscaler's input)
//   GET  /events   ndjson: `demand` (a request waits and no replica can take it: scale from
//                  zero), `ejected` / `restored` (a replica stopped answering / answers again)
// The same config is kept in DIR/config.json, so a balancer started again (by the daemon after a
// crash of either) comes up with the replicas it had.
import { join } from 'node:path';

/** Bumped when the control API changes incompatibly: a daemon replaces a balancer of another version. */
export const LB_PROTOCOL = 1;

export interface LbReplica {
  id: number;
  /** http://ADDRESS:PORT */
  url: string;
  version: number;
  /** first accelerator of its nodes (instance_aware_least_load) */
  accelerator?: string;
}

export interface LbConfig {
  service: string;
  /** replicas that may take new requests */
  replicas: LbReplica[];
  policy: 'round_robin' | 'least_load' | 'instance_aware_least_load';
  /** per-accelerator target QPS (instance_aware_least_load) */
  targetQps?: Record<string, number>;
  /** an idle gap this long in a proxied response ends it (load_balancer.stream_timeout_seconds) */
  streamTimeoutMs: number;
  /** a request that finds no replica waits this long for one (scale from zero) before a 503 */
  holdMs: number;
}

export interface LbReplicaState extends LbReplica {
  inflight: number;
  /** the balancer stopped sending it requests: it refused a connection */
  ejected: boolean;
  /** no longer in the config, finishing its requests in flight */
  draining: boolean;
}

export interface LbState {
  protocol: number;
  pid: number;
  port: number;
  service: string;
  startedAt: number;
  replicas: LbReplicaState[];
  /** requests waiting for a replica */
  waiting: number;
  /** processes serving the port now (1: this one; more: workers sharing it, `workerPids`) */
  workers?: number;
  workerPids?: number[];
}

export interface LbStats {
  now: number;
  /** requests that arrived in each of the last `window` seconds, oldest first */
  perSecond: number[];
  /** requests in the window */
  requests: number;
  window: number;
  /** time to response headers, ms, over the window */
  p50Ms?: number;
  p99Ms?: number;
  inflight: number;
  /** in-flight requests per replica URL (a draining replica is torn down at 0) */
  inflightByUrl: Record<string, number>;
  /** responses the balancer itself answered with an error (no replica, all attempts failed) */
  errors: number;
  retries: number;
  /** requests in the window by worker process (several share the port): how evenly they spread */
  perWorker?: number[];
}

export type LbEvent = { type: 'demand'; ts: number } | { type: 'ejected'; url: string; ts: number; reason: string } | { type: 'restored'; url: string; ts: number };

/** How the balancer is started: `node lb/main.js DIR`; DIR holds these. */
export const lbFiles = (dir: string) => ({
  socket: join(dir, 'lb.sock'),
  pid: join(dir, 'lb.pid'),
  /** LbConfig plus the listening settings (LbStart) */
  config: join(dir, 'config.json'),
  log: join(dir, 'lb.log'),
  /** written once the port is bound: {pid, port} */
  ready: join(dir, 'lb.ready'),
});

/** What the balancer needs to start listening (kept in config.json with the LbConfig). */
export interface LbStart {
  /** the port to bind; with `portSearch`, the first of a range to try */
  port: number;
  /** try port, port+1, ... up to this many (a new service); absent: exactly `port` (a restart) */
  portSearch?: number;
  host: string;
  tls?: { keyfile: string; certfile: string };
}

export type LbConfigFile = LbConfig & { listen: LbStart };
