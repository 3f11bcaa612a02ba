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

/**
 * A request error, whichever layer raised it: google-gax's GoogleError (a gRPC code) or, since the
 * REST transport fetches through the auth client, a GaxiosError (the HTTP status, the API's JSON
 * error body as its message).
 */
export function requestError(err: unknown): { status?: string; message: string } {
  const e = err as { code?: unknown; status?: unknown; message?: string; response?: { status?: number } };
  const http = typeof e?.status === 'number' ? e.status : e?.response?.status;
  let message = e?.message ?? String(err);
  let status: string | undefined;
  try {
    const body = JSON.parse(message) as { error?: { message?: string; status?: string } };
    if (body.error?.message) message = body.error.message;
    status = body.error?.status;
  } catch {
    /* not the API's JSON body */
  }
  const byHttp: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE' };
  const byGrpc: Record<number, string> = { 3: 'INVALID_ARGUMENT', 16: 'UNAUTHENTICATED', 7: 'PERMISSION_DENIED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 8: 'RESOURCE_EXHAUSTED', 14: 'UNAVAILABLE', 4: 'DEADLINE_EXCEEDED' };
  status ??= http !== undefined ? byHttp[http] : typeof e?.code === 'number' ? byGrpc[e.code] : undefined;
  return { status, message: message.split('\n')[0]! };
}

export const isStatus = (err: unknown, status: string): boolean => requestError(err).status === status;

export function classifyGce(err: unknown): ProvisionErrorKind | undefined {
  if (err instanceof GceOperationError) {
    if (CAPACITY.has(err.code)) return 'capacity';
    if (err.code === 'QUOTA_EXCEEDED') return 'quota';
    if (err.code === 'IAM_PERMISSION_DENIED' || err.code === 'PERMISSION_DENIED') return 'credentials';
    return undefined;
  }
  const { status, message: msg } = requestError(err);
  if (/Quota '[A-Z_]+' exceeded/i.test(msg)) return 'quota';
  if (status === 'UNAUTHENTICATED' || status === 'PERMISSION_DENIED') return 'credentials';
  if (/does not have enough resources available/i.test(msg)) return 'capacity';
  return undefined;
}

export function describeGce(err: unknown): string {
  if (err instanceof GceOperationError) return err.message;
  const { status, message } = requestError(err);
  return status && !message.includes(status) ? `${status}: ${message}` : message;
}
