// What the CLI and the TUI use to reach the daemon. Implemented in client.ts / events.ts.

import type { ApiMethod, ApiMethods, EventStreamMessage, LogStreamItem, RequestStreamItem } from '../protocol/api.js';

export interface StreamHandle {
  /** resolves when the stream ends (or rejects on a transport error) */
  done: Promise<void>;
  abort(): void;
}

export interface ApiClient {
  call<M extends ApiMethod>(method: M, params: ApiMethods[M]['params']): Promise<ApiMethods[M]['result']>;
  streamLogs(
    q: { cluster: string; job?: number; follow: boolean; tail?: number; rank?: number },
    onItem: (item: LogStreamItem) => void,
  ): StreamHandle;
  streamRequest(requestId: string, onItem: (item: RequestStreamItem) => void): StreamHandle;
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface EventSubscription {
  close(): void;
}

export interface SubscribeOptions {
  /** resume after this sequence number (0 = start with a snapshot) */
  since?: number;
  onMessage(msg: EventStreamMessage): void;
  onConnection?(state: ConnectionState, detail?: string): void;
}
