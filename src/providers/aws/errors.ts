// EC2's error codes (the SDK's `e.name`) as the failover loop sees them, the way SkyPilot treats
// them: a zone out of capacity (or not offering the type, or with spot too dear) is blocked and
// the next zone tried; a quota is per region, so the region is blocked; credentials block the
// cloud. Codes that are the user's mistake (a wrong image_id, a bad parameter) stop the launch
// with the cloud's message instead of walking every zone. Transient API trouble blocks the zone
// (SkyPilot's default for errors it does not know) so the launch moves on.
import type { ProvisionErrorKind } from '../types.js';

const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnHost',
  'InsufficientFreeAddressesInSubnet',
  'Unsupported',
  'SpotMaxPriceTooLow',
  'capacity-not-available',
  'SpotInstanceTermination',
]);

const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'MaxSpotFleetRequestCountExceeded',
  'VolumeLimitExceeded',
  'AddressLimitExceeded',
  'SecurityGroupLimitExceeded',
  'RulesPerSecurityGroupLimitExceeded',
  'OptInRequired',
  'PendingVerification',
]);

const CREDENTIALS = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'RequestExpired',
  'MissingAuthenticationToken',
  'Blocked',
  'CredentialsProviderError',
]);

const TRANSIENT = new Set(['RequestLimitExceeded', 'Unavailable', 'ServiceUnavailable', 'InternalError', 'InternalFailure', 'TimeoutError', 'RequestTimeout']);

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** The error's code: the SDK's name for EC2 errors, errno codes for network trouble. */
export function awsErrorCode(err: unknown): string {
  const e = err as { name?: string; code?: string; Code?: string };
  if (e?.code && NETWORK.has(e.code)) return e.code;
  return e?.name && e.name !== 'Error' ? e.name : (e?.Code ?? e?.code ?? 'Error');
}

export function classifyAwsError(err: unknown): ProvisionErrorKind | undefined {
  const code = awsErrorCode(err);
  if (CAPACITY.has(code)) return 'capacity';
  if (QUOTA.has(code)) return 'quota';
  if (CREDENTIALS.has(code)) return 'credentials';
  if (TRANSIENT.has(code) || NETWORK.has(code)) return 'capacity';
  return undefined;
}

/** "VcpuLimitExceeded: You have requested more vCPU capacity …" */
export function describeAwsError(err: unknown): string {
  const code = awsErrorCode(err);
  const msg = (err as Error)?.message ?? String(err);
  return msg.startsWith(code) ? msg : `${code}: ${msg}`;
}
