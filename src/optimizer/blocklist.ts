// Places that failed to launch. The provisioner adds an entry per capacity, quota or credential
// error and re-plans: the blocked zone, region or cloud then drops out of the failover order.

export interface BlockEntry {
  cloud: string;
  /** undefined = the whole cloud */
  region?: string;
  /** undefined = the whole region */
  zone?: string;
  reason: string;
  /** epoch ms after which the entry no longer applies (retry-until-up) */
  until?: number;
}

export type LaunchErrorKind = 'capacity' | 'quota' | 'credentials' | 'other';

export class Blocklist {
  private readonly list: BlockEntry[] = [];

  constructor(entries: BlockEntry[] = []) {
    for (const e of entries) this.add(e);
  }

  add(entry: BlockEntry): this {
    this.list.push({ ...entry, cloud: entry.cloud.toLowerCase() });
    return this;
  }

  /** Blocks where `place` failed: capacity → its zone, quota → its region, credentials → its cloud. */
  addFailure(place: { cloud: string; region: string; zone?: string }, kind: LaunchErrorKind, message: string, until?: number): BlockEntry {
    const e: BlockEntry =
      kind === 'credentials'
        ? { cloud: place.cloud, reason: message, until }
        : kind === 'quota' || place.zone === undefined
          ? { cloud: place.cloud, region: place.region, reason: message, until }
          : { cloud: place.cloud, region: place.region, zone: place.zone, reason: message, until };
    this.add(e);
    return e;
  }

  /** The entry that blocks this place, if any. */
  blocked(cloud: string, region: string, zone?: string, now = Date.now()): BlockEntry | undefined {
    for (const e of this.list) {
      if (e.until !== undefined && e.until <= now) continue;
      if (e.cloud !== cloud) continue;
      if (e.region !== undefined && e.region !== region) continue;
      if (e.zone !== undefined && e.zone !== zone) continue;
      return e;
    }
    return undefined;
  }

  get size(): number {
    return this.list.length;
  }

  entries(): BlockEntry[] {
    return this.list.map((e) => ({ ...e }));
  }

  toJSON(): BlockEntry[] {
    return this.entries();
  }

  /** Clears entries whose time has passed (retry-until-up starts a new round). */
  prune(now = Date.now()): void {
    for (let i = this.list.length - 1; i >= 0; i--) if ((this.list[i]!.until ?? Infinity) <= now) this.list.splice(i, 1);
  }
}

/** Delay before the next --retry-until-up round: doubles from 30 s up to 10 min, with jitter. */
export function retryBackoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(600_000, 30_000 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}
