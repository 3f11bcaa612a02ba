// Follows a growing file from an offset: fs.watch for low latency, a short poll as a fallback
// (watch events can be missed or unsupported), reads in bounded chunks so a slow reader applies
// backpressure instead of buffering a whole log.
import { closeSync, existsSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';

const CHUNK = 256 * 1024;

export class FileTailer {
  private fd: number | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private again = false;
  private stopped = false;
  private finishing: Array<() => void> = [];
  private buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly path: string,
    public offset: number,
    private readonly onData: (chunk: Buffer) => void | Promise<void>,
    private readonly pollMs = 100,
  ) {}

  start(): void {
    this.tryWatch();
    this.timer = setInterval(() => {
      if (!this.watcher) this.tryWatch();
      this.kick();
    }, this.pollMs);
    this.timer.unref();
    this.kick();
  }

  private tryWatch(): void {
    if (this.watcher || this.stopped || !existsSync(this.path)) return;
    try {
      this.watcher = watch(this.path, () => this.kick());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  /** Reads whatever is new. */
  kick(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        for (;;) {
          if (this.fd === undefined) {
            try {
              this.fd = openSync(this.path, 'r');
            } catch {
              break;
            }
          }
          const n = readSync(this.fd, this.buf, 0, CHUNK, this.offset);
          if (n <= 0) break;
          this.offset += n;
          await this.onData(Buffer.from(this.buf.subarray(0, n)));
          if (this.stopped) return;
        }
      } while (this.again && !this.stopped);
    } catch {
      /* file removed under us: treat as EOF */
    } finally {
      this.reading = false;
    }
    if (this.finishing.length > 0 && !this.again) {
      this.stop();
    } else if (this.again) this.kick();
  }

  /** Drains to EOF, then stops. */
  finish(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.finishing.push(resolve);
      this.again = true;
      if (!this.reading) this.kick();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const f = this.finishing;
    this.finishing = [];
    for (const r of f) r();
  }
}
