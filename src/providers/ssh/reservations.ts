// Which pool hosts each ssh cluster holds. The provider only needs this small interface; the
// default keeps it in a JSON file (written atomically) and the daemon may back it with its DB.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ReservedNode {
  rank: number;
  /** PoolHost.key: user@ip:port */
  hostKey: string;
  ip: string;
  port: number;
  user: string;
  identityFile?: string;
  /** the login user's $HOME on the host */
  remoteHome: string;
  /** the node's runtime directory (NodeInfo.home) */
  home: string;
}

export interface SshReservation {
  cluster: string;
  clusterUid: string;
  pool: string;
  status: 'running' | 'stopped';
  nodes: ReservedNode[];
  createdAt: number;
}

export interface ReservationStore {
  get(cluster: string): SshReservation | undefined;
  list(): SshReservation[];
  put(r: SshReservation): void;
  remove(cluster: string): void;
}

/**
 * Records keyed by cluster in one JSON file (0600, written atomically): the ssh provider's
 * reservations, the VM clouds' and Kubernetes' cluster records.
 */
export class JsonClusterStore<T extends { cluster: string }> {
  constructor(
    readonly file: string,
    private readonly what = 'records',
    /** said after "fix or delete it" when the file cannot be read */
    private readonly hint = '',
  ) {}

  protected read(): Record<string, T> {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, T>;
    } catch {
      // A torn file cannot happen with rename-writes; anything else unreadable is not ours to fix.
      throw new Error(`cannot read ${this.what} in ${this.file}; fix or delete it${this.hint}`);
    }
  }

  protected write(all: Record<string, T>): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  get(cluster: string): T | undefined {
    return this.read()[cluster];
  }

  list(): T[] {
    return Object.values(this.read());
  }

  put(r: T): void {
    const all = this.read();
    all[r.cluster] = r;
    this.write(all);
  }

  remove(cluster: string): void {
    const all = this.read();
    if (!(cluster in all)) return;
    delete all[cluster];
    this.write(all);
  }
}

export class JsonReservationStore extends JsonClusterStore<SshReservation> implements ReservationStore {
  constructor(file: string) {
    super(file, 'ssh reservations');
  }
}

/** Serializes async sections (reserving hosts must not interleave between two launches). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
