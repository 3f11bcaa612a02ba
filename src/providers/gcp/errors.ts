// GCE's errors, as the failover loop needs them. Provisioning failures arrive as a DONE operation
// with `error.errors[{code, message}]` (ZONE_RESOURCE_POOL_EXHAUSTED, QUOTA_EXCEEDED, …); request
// errors as google-gax GoogleErrors (gRPC code + message). Blocking follows SkyPilot's GCP
// handler: a zone out of resources blocks the zone, a quota the region, auth the cloud.
import type { ProvisionErrorKind } from '../types.js';

/** A zonal/global operation that finished with errors. */
export class GceOperationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly zone?: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'GceOperationError';
  }
}

const CAPACITY = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  // seen when a VM is preempted while being created, and for a zone not ready for the request
  'UNSUPPORTED_OPERATION',
  'RESOURCE_NOT_READY',
  'RESOURCE_OPERATION_RATE_EXCEEDED',
]);

/** gRPC status codes google-gax puts on request errors. */
const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
export const NOT_FOUND = 5;
export const ALREADY_EXISTS = 6;

export function grpcCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

export function classifyGce(err: unknown): ProvisionErrorKind | undefined {
  if (err instanceof GceOperationError) {
    if (CAPACITY.has(err.code)) return 'capacity';
    if (err.code === 'QUOTA_EXCEEDED') return 'quota';
    if (err.code === 'IAM_PERMISSION_DENIED' || err.code === 'PERMISSION_DENIED') return 'credentials';
    return undefined;
  }
  const code = grpcCode(err);
  if (code === UNAUTHENTICATED || code === PERMISSION_DENIED) return 'credentials';
  const msg = (err as Error)?.message ?? '';
  if (/does not have enough resources available/i.test(msg)) return 'capacity';
  if (/Quota '[A-Z_]+' exceeded/i.test(msg)) return 'quota';
  return undefined;
}

export function describeGce(err: unknown): string {
  if (err instanceof GceOperationError) return err.message;
  const e = err as { message?: string; code?: number; details?: string };
  const msg = (e?.message ?? String(err)).split('\n')[0]!;
  // gax prefixes messages with the gRPC code ("5 NOT_FOUND: ..."); keep it, it is the API's.
  return msg;
}
