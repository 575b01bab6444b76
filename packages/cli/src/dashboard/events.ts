import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FleetEvent, FleetMonitor } from '@plumbline/core/drift';
import { fleetDocument } from '../control-plane/fleet-api.js';
import { httpStatusOf } from '../control-plane/http-errors.js';

/**
 * Options of {@link createFleetEventStream}.
 *
 * @internal
 */
export interface FleetEventStreamOptions {
  readonly monitor: FleetMonitor;
  /** How many recent events are kept for `Last-Event-ID` resumption and snapshots. Default 1,000. */
  readonly ringSize?: number;
  /**
   * Most bytes queued for one client beyond its opening snapshot; a client that falls further
   * behind is dropped (it reconnects and resumes). Default 1 MiB.
   */
  readonly maxQueuedBytes?: number;
  /** Interval of keep-alive comments, in milliseconds. Default 15,000. */
  readonly heartbeatMs?: number;
  /** Most concurrent stream clients; further ones get HTTP 503. Default 100. */
  readonly maxClients?: number;
  /** The reconnection delay advertised to clients (`retry:`), in milliseconds. Default 2,000. */
  readonly retryMs?: number;
  /**
   * Interval of `last_seen` frames (the nodes seen since the previous frame, as ages in
   * milliseconds at the frame's server time), in milliseconds. Default: the monitor's heartbeat
   * interval, so the ages the page shows stay true within one heartbeat interval.
   */
  readonly lastSeenMs?: number;
  /** What the page needs to know beyond the fleet, sent as a `dashboard` frame at every (re)connection. */
  readonly about?: (req?: IncomingMessage) => unknown;
}

/** One event of the ring: its stream id and its encoded frame. */
interface RingEntry {
  readonly seq: number;
  readonly event: FleetEvent;
  readonly frame: string;
}

interface Client {
  readonly res: ServerResponse;
  readonly limit: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * A live fleet event stream: the handler answers `GET /v1/fleet/events` (authentication is the
 * caller's job) with `text/event-stream`.
 *
 * @internal
 */
export interface FleetEventStream {
  /** Serves one authenticated stream request. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Connected clients. */
  clients(): number;
  /** Clients dropped because they fell behind. */
  dropped(): number;
  /**
   * Streams one fleet event the monitor did not emit (a change another replica announced), like
   * the monitor's own: kept for resumption and snapshots.
   */
  publish(event: FleetEvent): void;
  /** Sends one frame without an id (not kept for resumption) to every client. */
  broadcast(event: string, data: unknown): void;
  /**
   * Ends every stream (each response's last chunk written) and stops listening to the monitor;
   * resolves when every response has finished, so that closing the sockets afterwards cuts none.
   */
  close(): Promise<void>;
}

const STREAM_ID = /^([0-9a-f]{16})-([0-9]{1,15})$/;

/** Encodes one SSE frame; `data` is one JSON line, so it never contains a newline. */
function frame(event: string, id: string | null, data: unknown): string {
  return `${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The `last_seen` frame of the nodes seen since the previous frame (`sent`: each node's
 * `last_seen` then, epoch ms), with their ages at the frame's server time (the page ticks ages
 * from it, corrected for its clock's offset); `null` when no node was seen. Answers what it sent.
 */
function lastSeenFrame(
  monitor: FleetMonitor,
  sent: ReadonlyMap<string, number>,
): { text: string | null; seen: Map<string, number> } {
  const at = Date.now();
  const ages: Record<string, number> = {};
  let any = false;
  const seen = monitor.lastSeen();
  for (const [node_id, last] of seen) {
    if (sent.get(node_id) === last) continue;
    ages[node_id] = Math.max(0, at - last);
    any = true;
  }
  const text = any ? frame('last_seen', null, { at: new Date(at).toISOString(), ages }) : null;
  return { text, seen };
}

/** Answers a stream request beyond the most clients: `PLB_DASHBOARD_BUSY`, retry after 5 s. */
function answerBusy(res: ServerResponse): void {
  const code = 'PLB_DASHBOARD_BUSY';
  const text = `${JSON.stringify({ error: { code, message: 'too many event stream clients' } })}\n`;
  res.writeHead(httpStatusOf(code), {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'retry-after': '5',
  });
  res.end(text);
}

/**
 * Ends every stream (each response's last chunk written); resolves when every response has
 * finished, or after 1 s: a client that reads nothing cannot hold the shutdown.
 */
async function endStreams(clients: Set<Client>): Promise<void> {
  const ending: Promise<void>[] = [];
  for (const client of [...clients]) {
    clients.delete(client);
    clearInterval(client.timer);
    ending.push(
      new Promise<void>((resolve) => {
        if (client.res.writableFinished || client.res.destroyed) resolve();
        else {
          client.res.once('finish', () => resolve());
          client.res.once('close', () => resolve());
        }
      }),
    );
    client.res.end();
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(ending),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/**
 * Creates the fleet event stream of the dashboard. Each monitor event becomes one SSE event
 * (`event:` is the fleet event type, `data:` its JSON, `id:` `<epoch>-<sequence>`). A new
 * client first receives a `snapshot` event (the `GET /v1/fleet` document plus the recent
 * events); a client reconnecting with a `Last-Event-ID` from this process that is still in the
 * ring receives only the events it missed. Keep-alive comments flow every `heartbeatMs`.
 *
 * @example
 * ```ts
 * const stream = createFleetEventStream({ monitor });
 * http.createServer((req, res) => stream.handle(req, res));
 * ```
 * @internal
 */
export function createFleetEventStream(options: FleetEventStreamOptions): FleetEventStream {
  const { monitor } = options;
  const ringSize = Math.max(1, options.ringSize ?? 1000);
  const maxQueued = options.maxQueuedBytes ?? 1024 * 1024;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxClients = options.maxClients ?? 100;
  const retryMs = options.retryMs ?? 2000;
  const epoch = randomBytes(8).toString('hex');
  const ring: RingEntry[] = [];
  const clients = new Set<Client>();
  let seq = 0;
  let dropped = 0;
  const lastSeenMs = Math.max(100, options.lastSeenMs ?? monitor.heartbeatIntervalMs);
  /** The `last_seen` each node had in the previous frame (epoch ms). */
  let sent = new Map<string, number>();

  const drop = (client: Client): void => {
    clients.delete(client);
    clearInterval(client.timer);
    client.res.destroy();
  };
  const write = (client: Client, text: string): void => {
    client.res.write(text);
    if (client.res.writableLength > client.limit) {
      dropped++;
      drop(client);
    }
  };

  const publish = (event: FleetEvent): void => {
    seq++;
    const entry: RingEntry = { seq, event, frame: frame(event.type, `${epoch}-${seq}`, event) };
    ring.push(entry);
    if (ring.length > ringSize) ring.shift();
    for (const client of clients) write(client, entry.frame);
  };
  const unsubscribe = monitor.onAny(publish);

  // One frame for every client: the nodes seen since the previous frame.
  const lastSeenTimer = setInterval(() => {
    if (clients.size === 0) return;
    const { text, seen } = lastSeenFrame(monitor, sent);
    sent = seen;
    if (text === null) return;
    for (const client of clients) write(client, text);
  }, lastSeenMs);
  lastSeenTimer.unref();

  const resumeFrom = (lastEventId: string | undefined): RingEntry[] | null => {
    if (lastEventId === undefined) return null;
    const match = STREAM_ID.exec(lastEventId.trim());
    if (!match || match[1] !== epoch) return null;
    const last = Number(match[2]);
    if (last > seq) return null;
    if (last === seq) return [];
    const first = ring[0];
    if (first === undefined || first.seq > last + 1) return null;
    return ring.filter((e) => e.seq > last);
  };

  return {
    handle(req, res) {
      if (clients.size >= maxClients) {
        answerBusy(res);
        return;
      }
      const header = req.headers['last-event-id'];
      const missed = resumeFrom(Array.isArray(header) ? header[0] : header);
      const opening =
        missed === null
          ? frame('snapshot', seq === 0 ? null : `${epoch}-${seq}`, {
              ...(fleetDocument(monitor) as object),
              recent: ring.map((e) => e.event),
            })
          : missed.map((e) => e.frame).join('');
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no',
      });
      req.socket.setNoDelay(true);
      req.socket.setTimeout(0);
      const timer = setInterval(() => write(client, `: keep-alive\n\n`), heartbeatMs);
      timer.unref();
      const client: Client = { res, timer, limit: Buffer.byteLength(opening) + maxQueued };
      clients.add(client);
      res.on('close', () => {
        clients.delete(client);
        clearInterval(timer);
      });
      const about = options.about === undefined ? '' : frame('dashboard', null, options.about(req));
      write(client, `retry: ${retryMs}\n: plumbline fleet events\n\n${about}${opening}`);
    },
    clients: () => clients.size,
    dropped: () => dropped,
    publish,
    broadcast(event, data) {
      const text = frame(event, null, data);
      for (const client of clients) write(client, text);
    },
    async close() {
      unsubscribe();
      clearInterval(lastSeenTimer);
      await endStreams(clients);
    },
  };
}
