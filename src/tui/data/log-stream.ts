// Following a log through a daemon restart: when the daemon goes away mid-stream, the job keeps
// running on its node, so the view starts the daemon again (as every CLI command would), re-opens
// the stream and skips what it already has: the reader sees one note, not a broken log.
import { DaemonUnreachable } from '../../client/http.js';
import { unseenText } from '../../client/resume.js';
import type { StreamHandle } from '../../client/types.js';
import type { LogStreamItem } from '../../protocol/api.js';
import { errorMessage } from '../../util/errors.js';

export interface FollowHandlers {
  text(chunk: string): void;
  end(item: Extract<LogStreamItem, { type: 'end' }>): void;
  /** the stream failed for good */
  fail(message: string): void;
  /** the daemon went away; the stream is being re-opened */
  reattaching?(): void;
}

const MAX_REATTACH = 5;

export function followLog(
  open: (onItem: (item: LogStreamItem) => void) => StreamHandle,
  on: FollowHandlers,
  revive?: () => Promise<void>,
): { abort(): void } {
  let received = 0; // characters passed on so far
  let current: StreamHandle | undefined;
  let aborted = false;
  const run = async () => {
    for (let attempt = 0; !aborted; attempt++) {
      const unseen = unseenText(received);
      current = open((item) => {
        if (aborted) return;
        if (item.type !== 'text') return on.end(item);
        const text = unseen(item.text);
        if (text === undefined) return;
        received += text.length;
        on.text(text);
      });
      try {
        await current.done;
        return;
      } catch (err) {
        if (aborted) return;
        if (!(err instanceof DaemonUnreachable) || !revive || attempt >= MAX_REATTACH) return on.fail(errorMessage(err));
        on.reattaching?.();
        try {
          await revive();
        } catch (e) {
          return on.fail(`the daemon is gone and could not be started again: ${errorMessage(e)}`);
        }
      }
    }
  };
  void run();
  return {
    abort() {
      aborted = true;
      current?.abort();
    },
  };
}
