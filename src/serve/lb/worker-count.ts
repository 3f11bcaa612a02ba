// How many processes proxy one service's traffic. One Node thread proxies one request at a time:
// requests arriving together wait for each other, which shows as added latency long before the
// CPU is used up. A worker per core (up to 4: a balancer is one of many processes on a machine)
// takes that queueing away; 1 keeps the balancer a single process.
export const LB_WORKERS_ENV = 'ALOFT_SERVE_LB_WORKERS';
export const MAX_LB_WORKERS = 64;

/** Workers for a balancer: the setting when given (1..64), else one per core up to 4. */
export function workerCount(setting: string | undefined, cores: number): number {
  if (setting === undefined || setting === '') return Math.max(1, Math.min(4, cores));
  const n = Number(setting);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LB_WORKERS) throw new Error(`${LB_WORKERS_ENV} must be a whole number from 1 to ${MAX_LB_WORKERS}, got '${setting}'`);
  return n;
}
