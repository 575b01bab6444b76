import type { Server as NetServer, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PlumblineError } from '../errors.js';

/**
 * Limits of {@link guardConnections}.
 *
 * @public
 */
export interface ConnectionGuardOptions {
  /** Most simultaneous connections. Default 256. */
  readonly maxConnections?: number;
  /** Most simultaneous connections from one client address. Default 32. */
  readonly maxConnectionsPerClient?: number;
  /**
   * Time a connection may wait without a complete request head — after connecting, or after
   * its last response — before it is closed. Default 5 000 ms.
   */
  readonly idleTimeoutMs?: number;
}

/**
 * Counts of a guarded server's connections.
 *
 * @public
 */
export interface ConnectionGuard {
  /** Open connections. */
  readonly open: () => number;
  /** Connections closed to make room or because they stayed silent. */
  readonly evicted: () => number;
}

interface Entry {
  readonly socket: Socket;
  readonly address: string;
  timer: NodeJS.Timeout | undefined;
}

function limit(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new PlumblineError('PLB_ADMIN_CONFIG_INVALID', `${name} must be an integer >= 1`);
  }
  return v;
}

/**
 * Keeps an HTTP(S) server answering while idle or slow connections pile up. A connection that
 * has no request in progress (silent since it connected, a request head still arriving, or
 * idle after a response) is "waiting": it is closed after `idleTimeoutMs`, and when a client
 * address holds more than `maxConnectionsPerClient` connections, or the server more than
 * `maxConnections`, the oldest waiting connection (of that address, then of any) is closed to
 * make room for the new one. A connection that completed its request head is never evicted;
 * the new connection is refused only when every other one is busy. Slow request heads are
 * bounded by the server's own `headersTimeout`.
 *
 * @example
 * ```ts
 * const server = http.createServer(handler);
 * guardConnections(server, { maxConnections: 256, maxConnectionsPerClient: 32, idleTimeoutMs: 5_000 });
 * ```
 * @throws {@link PlumblineError} `PLB_ADMIN_CONFIG_INVALID` for a limit that is not a positive integer.
 * @public
 */
export function guardConnections(
  server: NetServer,
  options: ConnectionGuardOptions = {},
): ConnectionGuard {
  const maxConnections = limit('maxConnections', options.maxConnections, 256);
  const perClient = limit('maxConnectionsPerClient', options.maxConnectionsPerClient, 32);
  const idleMs = limit('idleTimeoutMs', options.idleTimeoutMs, 5_000);
  // Keyed by remote address and port: a TLS server's request socket is not its TCP socket.
  const all = new Map<string, Entry>();
  const waiting = new Map<string, Entry>();
  const waitingByAddress = new Map<string, Map<string, Entry>>();
  const perAddress = new Map<string, number>();
  let evicted = 0;

  const keyOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
    `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
  const stopWaiting = (key: string, entry: Entry): void => {
    waiting.delete(key);
    const mine = waitingByAddress.get(entry.address);
    mine?.delete(key);
    if (mine?.size === 0) waitingByAddress.delete(entry.address);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
  };
  const evict = (entry: Entry): void => {
    evicted++;
    entry.socket.destroy();
  };
  const startWaiting = (key: string, entry: Entry): void => {
    waiting.set(key, entry);
    let mine = waitingByAddress.get(entry.address);
    if (mine === undefined) waitingByAddress.set(entry.address, (mine = new Map()));
    mine.set(key, entry);
    entry.timer = setTimeout(() => evict(entry), idleMs);
    entry.timer.unref?.();
  };
  const oldestOther = (map: Map<string, Entry> | undefined, key: string): Entry | undefined => {
    if (map === undefined) return undefined;
    for (const [k, e] of map) if (k !== key) return e;
    return undefined;
  };

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    const entry: Entry = { socket, address, timer: undefined };
    all.set(key, entry);
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    startWaiting(key, entry);
    socket.once('close', () => {
      stopWaiting(key, entry);
      all.delete(key);
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n === 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    if (perAddress.get(address)! > perClient) {
      const victim = oldestOther(waitingByAddress.get(address), key);
      evict(victim ?? entry);
      if (victim === undefined) return;
    }
    if (all.size > maxConnections) evict(oldestOther(waiting, key) ?? entry);
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const key = keyOf(req.socket);
    const entry = all.get(key);
    if (entry === undefined) return;
    stopWaiting(key, entry);
    res.once('finish', () => {
      if (!entry.socket.destroyed && all.get(key) === entry && !waiting.has(key)) {
        startWaiting(key, entry);
      }
    });
  });

  return { open: () => all.size, evicted: () => evicted };
}
