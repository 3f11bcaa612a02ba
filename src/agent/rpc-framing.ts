// Wire framing of the agent protocol: one JSON message per line (see protocol.ts).
import { StringDecoder } from 'node:string_decoder';

/** An error answered by an agent (or raised by the client: TIMEOUT, CLOSED, PROTOCOL). */
export class AgentError extends Error {
  constructor(
    message: string,
    readonly code: string = 'INTERNAL',
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** Largest single message accepted; a peer sending more is cut off rather than eating memory. */
const MAX_LINE = 256 * 1024 * 1024;

/** Splits a byte stream into lines without quadratic string growth on large messages. */
export class LineDecoder {
  private decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    /** longest line kept before the peer is cut off (a stranger on TCP gets far less: rpc-server.ts) */
    public maxLine = MAX_LINE,
  ) {}

  push(chunk: Buffer | string): void {
    let s = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl = s.indexOf('\n');
    while (nl !== -1) {
      let line = s.slice(0, nl);
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = this.parts.join('');
        this.parts = [];
        this.size = 0;
      }
      if (line.length > 0) this.onLine(line);
      s = s.slice(nl + 1);
      nl = s.indexOf('\n');
    }
    if (s.length > 0) {
      this.parts.push(s);
      this.size += s.length;
      if (this.size > this.maxLine) throw new AgentError('message too large', 'PROTOCOL');
    }
  }
}

export interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string; code?: string };
  stream?: number;
  data?: unknown;
  end?: boolean;
  /** client → agent: stop a streaming call (an addition to the protocol) */
  cancel?: number;
}

