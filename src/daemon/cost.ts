// `aloft cost-report`: what each cluster incarnation cost, live or torn down, like `sky
// cost-report`. The store keeps, per cluster uid, the intervals it was billed (from launch, and
// from each start, until it stopped or was torn down) and its last record; the hourly price is the
// catalog's, fixed when the launch chose its offering (per node × nodes).
import type { CostReportRow } from '../protocol/api.js';
import type { ClusterRecord } from '../protocol/model.js';

export type Interval = [number, number | null];

export type CostRow = CostReportRow;

/** The intervals after a cluster's status became `next` (undefined = torn down): billed unless STOPPED. */
export function nextIntervals(intervals: Interval[], next: string | undefined, now: number): Interval[] {
  const open = intervals.length > 0 && intervals[intervals.length - 1]![1] === null;
  const billed = next !== undefined && next !== 'STOPPED';
  if (billed && !open) return [...intervals, [now, null]];
  if (!billed && open) return [...intervals.slice(0, -1), [intervals[intervals.length - 1]![0], now]];
  return intervals;
}

export function billedHours(intervals: Interval[], now: number): number {
  let ms = 0;
  for (const [a, b] of intervals) ms += Math.max(0, (b ?? now) - a);
  return ms / 3_600_000;
}

export function costRow(record: ClusterRecord, intervals: Interval[], ended: number | undefined, live: boolean, now: number): CostRow {
  const hours = billedHours(intervals, now);
  return {
    name: record.name,
    uid: record.uid,
    cloud: record.cloud,
    infra: record.infra,
    resources: record.resources,
    useSpot: record.useSpot,
    status: live ? record.status : 'TERMINATED',
    launchedAt: record.launchedAt,
    ...(ended !== undefined ? { endedAt: ended } : {}),
    hours,
    hourlyPrice: record.hourlyPrice,
    cost: Math.round(hours * record.hourlyPrice * 1e6) / 1e6,
  };
}
