// A container's log as the kubelet keeps it: every chunk of stdout/stderr with the time it
// arrived, read back by GET .../log with the real options (follow, tailLines, timestamps,
// sinceSeconds/sinceTime, limitBytes). One ContainerLog per container instance, so `previous`
// shows the one before a restart.
import { EventEmitter } from 'node:events';

interface Entry {
  time: Date;
  data: Buffer;
  /** the entry starts a new line */
  lineStart: boolean;
}

const MAX_BYTES = 16 * 2 ** 20;

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceTime?: Date;
  limitBytes?: number;
}

function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export class ContainerLog {
  private readonly entries: Entry[] = [];
  private bytes = 0;
  private readonly atLineStart = { stdout: true, stderr: true };
  private readonly emitter = new EventEmitter();
  ended = false;

  append(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const time = new Date();
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0x0a) continue;
      this.push({ time, data: chunk.subarray(start, i + 1), lineStart: this.atLineStart[stream] });
      this.atLineStart[stream] = true;
      start = i + 1;
    }
    if (start < chunk.length) {
      this.push({ time, data: chunk.subarray(start), lineStart: this.atLineStart[stream] });
      this.atLineStart[stream] = false;
    }
  }

  private push(e: Entry): void {
    this.entries.push(e);
    this.bytes += e.data.length;
    // Rotation: the kubelet keeps a bounded log too.
    while (this.bytes > MAX_BYTES && this.entries.length > 1) this.bytes -= this.entries.shift()!.data.length;
    this.emitter.emit('entry', e);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emitter.emit('end');
  }

  get text(): string {
    return Buffer.concat(this.entries.map((e) => e.data)).toString();
  }

  /** Streams the log into `write`; resolves when done (at once without follow, at the container's end with it). */
  read(opts: LogOptions, write: (b: Buffer) => void, signal: AbortSignal): Promise<void> {
    let budget = opts.limitBytes ?? Infinity;
    const emit = (e: Entry): boolean => {
      if (budget <= 0) return false;
      let b = opts.timestamps && e.lineStart ? Buffer.concat([Buffer.from(rfc3339Nano(e.time) + ' '), e.data]) : e.data;
      if (b.length > budget) b = b.subarray(0, budget);
      budget -= b.length;
      write(b);
      return budget > 0;
    };
    let list = this.entries.filter((e) => !opts.sinceTime || e.time >= opts.sinceTime);
    if (opts.tailLines !== undefined) {
      let lines = 0;
      let i = list.length;
      while (i > 0 && lines < opts.tailLines) {
        i--;
        if (list[i]!.lineStart) lines++;
      }
      list = list.slice(i);
    }
    for (const e of list) if (!emit(e)) return Promise.resolve();
    if (!opts.follow || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.emitter.off('entry', onEntry);
        this.emitter.off('end', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const onEntry = (e: Entry) => {
        if (!emit(e)) done();
      };
      this.emitter.on('entry', onEntry);
      this.emitter.once('end', done);
      signal.addEventListener('abort', done);
    });
  }
}
