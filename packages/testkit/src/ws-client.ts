/**
 * A raw WebSocket peer for tests: JSON messages in and out, queued until read, and how the
 * connection closed. Used where a test speaks a protocol by hand (a Barbacane data plane, a
 * Plumbline agent) instead of through the SDK's client.
 */
import { WebSocket } from 'ws';

/** A raw WebSocket peer: its JSON messages in order, and its close. */
export interface RawClient {
  readonly ws: WebSocket;
  /** The next message received (parsed JSON), waiting for it if none is queued. */
  next(): Promise<Record<string, unknown>>;
  /** Sends a string as is, anything else as JSON. */
  send(message: unknown): void;
  /** The close code and reason, once the connection closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** Connects to `url` (with `headers` on the upgrade request) and resolves once it is open. */
export async function connectRaw(
  url: string,
  headers: Record<string, string> = {},
): Promise<RawClient> {
  const ws = new WebSocket(url, { headers });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: () =>
      new Promise((resolve) => {
        const queued = queue.shift();
        if (queued !== undefined) resolve(queued);
        else waiters.push(resolve);
      }),
  };
}
