/**
 * One Barbacane data-plane connection: its state, what it sends, how it closes, and the drift
 * session it becomes once registered (frames of the session handler translated into
 * Barbacane's messages).
 *
 * @packageDocumentation
 */
import type { DriftIdentity, DriftSession, LoadError } from '@plumbline/core/drift';
import type { DigestString } from '@plumbline/core/hash';
import type { WebSocket } from 'ws';
import type { BarbacaneControlMessage } from './protocol.js';

/** @internal A session with the Barbacane project it belongs to. */
export type BarbacaneSession = DriftSession & { readonly project_id: string };

/** @internal */
export interface Connection {
  /** A key for the rate limiter, never shown. */
  readonly key: string;
  readonly ws: WebSocket;
  readonly remoteAddress: string | undefined;
  session: BarbacaneSession | null;
  registered: boolean;
  closed: boolean;
  seq: number;
  reported: DigestString | null;
  loadError: LoadError | null;
  timer: NodeJS.Timeout | null;
  /** The close code of a limit the transport enforced (1009), reported instead of the socket's. */
  limitCode: number | null;
}

/** @internal A new connection's state. */
export function newConnection(key: string, ws: WebSocket, remoteAddress?: string): Connection {
  return {
    key,
    ws,
    remoteAddress,
    session: null,
    registered: false,
    closed: false,
    seq: 0,
    reported: null,
    loadError: null,
    timer: null,
    limitCode: null,
  };
}

/** @internal Sends a control-plane message unless the connection is closed. */
export function sendRaw(conn: Connection, message: BarbacaneControlMessage): void {
  if (conn.closed || conn.ws.readyState !== conn.ws.OPEN) return;
  conn.ws.send(JSON.stringify(message));
}

/** @internal Stops the connection's timer. */
export function stopTimer(conn: Connection): void {
  if (conn.timer !== null) clearTimeout(conn.timer);
  conn.timer = null;
}

/** @internal Closes once; nothing is sent or delivered afterwards. */
export function closeConn(conn: Connection, code: number, reason: string): void {
  if (conn.closed) return;
  conn.closed = true;
  stopTimer(conn);
  try {
    conn.ws.close(code, reason.slice(0, 120));
  } catch {
    conn.ws.terminate();
  }
}

interface SessionFrame {
  type?: unknown;
  code?: unknown;
  message?: unknown;
  heartbeat_interval_ms?: unknown;
}

/**
 * @internal The Barbacane message for a frame of the session handler: `welcome` → `registered`,
 * `error` → `registration_failed` before it, `disconnect` for a replaced session, else `error`.
 */
export function controlMessageOf(
  conn: Connection,
  text: string,
  data_plane_id: string,
): BarbacaneControlMessage | undefined {
  let frame: SessionFrame;
  try {
    frame = JSON.parse(text) as SessionFrame;
  } catch {
    return undefined;
  }
  const message = typeof frame.message === 'string' ? frame.message : '';
  if (frame.type === 'welcome') {
    conn.registered = true;
    const ms =
      typeof frame.heartbeat_interval_ms === 'number' ? frame.heartbeat_interval_ms : 30_000;
    return {
      type: 'registered',
      data_plane_id,
      heartbeat_interval_secs: Math.max(1, Math.ceil(ms / 1000)),
    };
  }
  if (frame.type !== 'error') return undefined;
  if (!conn.registered) return { type: 'registration_failed', reason: message };
  if (frame.code === 'PLB_DRIFT_REPLACED') return { type: 'disconnect', reason: message };
  return { type: 'error', message };
}

/** @internal The drift session of a registered connection. */
export function makeSession(
  conn: Connection,
  id: string,
  identity: DriftIdentity,
  project_id: string,
  data_plane_id: string,
): BarbacaneSession {
  return {
    id,
    identity,
    project_id,
    // A register names no running artifact unless resolveArtifact knew its id: until the first
    // heartbeat with a hash, the node is awaiting its report, not judged.
    awaitsFirstReport: conn.reported === null,
    ...(conn.remoteAddress === undefined ? {} : { remoteAddress: conn.remoteAddress }),
    send(text: string): void {
      if (conn.closed) return;
      const message = controlMessageOf(conn, text, data_plane_id);
      if (message !== undefined) sendRaw(conn, message);
    },
    close(code: number, reason?: string): void {
      closeConn(conn, code, reason ?? '');
    },
  };
}
