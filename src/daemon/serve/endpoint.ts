// Where things of a service are reached, in one place.
import type { NodeInfo } from '../../providers/types.js';

/**
 * A replica's URL: its head node's address and the service's port. Local nodes with their own
 * network namespace have an address on their cluster's bridge, which this machine (where the load
 * balancer runs) reaches directly; ssh nodes are their host's address. When providers report
 * endpoints themselves (a Provider method for `aloft status --endpoints`), this is the one
 * function to change.
 */
export function replicaUrl(head: Pick<NodeInfo, 'ip'>, port: number): string {
  const host = head.ip.includes(':') ? `[${head.ip}]` : head.ip;
  return `http://${host}:${port}`;
}

/** The address users reach a service's load balancer at. */
export function serviceEndpoint(port: number, tls: boolean, host = process.env.ALOFT_SERVE_HOST): string {
  const shown = !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${tls ? 'https' : 'http'}://${shown}:${port}`;
}
