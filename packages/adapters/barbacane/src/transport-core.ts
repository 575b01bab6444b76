/**
 * The Barbacane transport built from named steps: limits, the handling of each Barbacane
 * message, connections, and the listening server.
 *
 * @packageDocumentation
 */
import { limitOption, PlumblineError } from '@plumbline/core';
import { RateLimiter } from '@plumbline/core/admin';
import { DRIFT_PROTOCOL, DriftCloseCode, type DriftTransportHandler } from '@plumbline/core/drift';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  checkCredentials,
  dataPlaneId,
  matchCredential,
  type BarbacaneCredential,
} from './credentials.js';
import {
  barbacaneArtifactDownloadedSchema,
  barbacaneHeartbeatSchema,
  barbacaneRegisterSchema,
} from './protocol.js';
import {
  closeConn,
  makeSession,
  newConnection,
  sendRaw,
  stopTimer,
  type Connection,
} from './transport-connection.js';
import { DIGEST, type BarbacaneTransportSteps } from './transport-steps.js';
import {
  BARBACANE_DATA_PLANE_PATH,
  type BarbacaneTransport,
  type BarbacaneTransportOptions,
} from './transport-options.js';

const NODE = /^[\x21-\x7e]{1,128}$/;

/** The checked limits of a transport. */
interface Limits {
  readonly maxFrameBytes: number;
  readonly registerTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxFramesPer10s: number;
}

function limitsOf(options: BarbacaneTransportOptions): Limits {
  const limit = (name: keyof Limits, fallback: number): number =>
    limitOption(options[name], { name, code: 'PLB_USAGE', fallback });
  return {
    maxFrameBytes: limit('maxFrameBytes', 64 * 1024),
    registerTimeoutMs: limit('registerTimeoutMs', 10_000),
    maxConnections: limit('maxConnections', 10_000),
    maxFramesPer10s: limit('maxFramesPer10s', 100),
  };
}

/** What every step of a transport shares. */
interface Context {
  readonly options: BarbacaneTransportOptions;
  readonly monitor: BarbacaneTransportOptions['monitor'];
  readonly credentials: readonly BarbacaneCredential[];
  readonly limits: Limits;
  readonly steps: BarbacaneTransportSteps;
  readonly rate: RateLimiter;
  handler: DriftTransportHandler | null;
}

function malformed(ctx: Context, conn: Connection, message: string): void {
  ctx.monitor.countRejected('malformed');
  sendRaw(conn, { type: 'error', message });
  closeConn(conn, DriftCloseCode.Malformed, 'malformed message');
}

function deliver(ctx: Context, conn: Connection, frame: Record<string, unknown>): void {
  if (conn.session === null || ctx.handler === null || conn.closed) return;
  ctx.handler.onMessage(conn.session, JSON.stringify(frame));
}

function deliverHeartbeat(ctx: Context, conn: Connection): void {
  conn.seq += 1;
  deliver(ctx, conn, {
    type: 'heartbeat',
    seq: conn.seq,
    artifact_hash: conn.reported,
    last_load_error: conn.loadError,
  });
}

/** Refuses a register before a session exists: the drift server counts, logs and audits it. */
function refuseRegister(ctx: Context, conn: Connection, reason: string): void {
  ctx.handler?.onAuthFailure?.({
    reason,
    ...(conn.remoteAddress === undefined ? {} : { remoteAddress: conn.remoteAddress }),
  });
  sendRaw(conn, { type: 'registration_failed', reason });
  closeConn(conn, DriftCloseCode.Unauthenticated, reason);
}

/**
 * Whether a project key may name `node_id` in `cluster`: not a node bound to its own key, nor a
 * node the monitor knows in another cluster (another project, or a Plumbline node).
 */
function nameTaken(ctx: Context, node_id: string, cluster: string): boolean {
  const known = ctx.monitor.node(node_id);
  return (
    ctx.credentials.some((c) => c.node === node_id) ||
    (known !== undefined && known.cluster !== cluster)
  );
}

function onRegister(ctx: Context, conn: Connection, json: unknown): void {
  const parsed = barbacaneRegisterSchema.safeParse(json);
  if (!parsed.success) return malformed(ctx, conn, 'the first message must be a valid register');
  const reg = parsed.data;
  const credential = matchCredential(ctx.credentials, reg.project_id, reg.api_key);
  if (credential === undefined) return refuseRegister(ctx, conn, 'unknown project or API key');
  const name = reg.name ?? undefined;
  const node_id = ctx.steps.nodeOf(credential, name);
  if (node_id === undefined || !NODE.test(node_id)) {
    const reason =
      'a data plane name (printable ASCII, no spaces, at most 128 characters) is required';
    return refuseRegister(ctx, conn, reason);
  }
  const cluster = credential.cluster ?? credential.project_id;
  if (credential.node === undefined && nameTaken(ctx, node_id, cluster)) {
    ctx.monitor.countRejected('identity_mismatch');
    const reason = 'this data plane name belongs to another key or cluster';
    sendRaw(conn, { type: 'registration_failed', reason });
    return closeConn(conn, DriftCloseCode.IdentityMismatch, reason);
  }
  stopTimer(conn);
  const label = credential.label ?? credential.key_sha256.slice(0, 8);
  const known =
    reg.artifact_id === undefined || reg.artifact_id === null
      ? undefined
      : ctx.options.resolveArtifact?.(reg.artifact_id.toLowerCase());
  conn.reported = known !== undefined && DIGEST.test(known) ? known : null;
  const principal = `barbacane:${credential.project_id}/${label}`;
  const session = makeSession(
    conn,
    randomUUID(),
    { node_id, cluster, principal },
    credential.project_id,
    dataPlaneId(credential.project_id, node_id),
  );
  conn.session = session;
  ctx.handler?.onOpen(session);
  // A bound key's different name is passed on as the claim: the drift server refuses it as an
  // identity mismatch (4403) and audits the claim.
  deliver(ctx, conn, {
    type: 'hello',
    protocol: DRIFT_PROTOCOL,
    node_id: name ?? node_id,
    cluster,
    instance_id: session.id,
    artifact_hash: conn.reported,
    sdk: 'barbacane',
  });
}

function onHeartbeat(ctx: Context, conn: Connection, json: unknown): void {
  const parsed = barbacaneHeartbeatSchema.safeParse(json);
  if (!parsed.success) return malformed(ctx, conn, 'invalid heartbeat');
  const resolve = (id: string) => ctx.options.resolveArtifact?.(id);
  const report = ctx.steps.reportOf(parsed.data, resolve);
  if (typeof report === 'object' && report !== null) {
    return malformed(ctx, conn, 'artifact_hash is not sha256:<64 lowercase hex>');
  }
  if (report !== undefined) conn.reported = report;
  deliverHeartbeat(ctx, conn);
  if (conn.closed || conn.session === null) return;
  const state = ctx.monitor.node(conn.session.identity.node_id)?.state;
  sendRaw(conn, {
    type: 'heartbeat_ack',
    drift_detected: state === 'drift' || state === 'rejected',
  });
}

function onDownloaded(ctx: Context, conn: Connection, json: unknown): void {
  const parsed = barbacaneArtifactDownloadedSchema.safeParse(json);
  if (!parsed.success || conn.session === null) {
    return malformed(ctx, conn, 'invalid artifact_downloaded');
  }
  const { artifact_id, success, error } = parsed.data;
  const { node_id, cluster } = conn.session.identity;
  const resolved = ctx.options.resolveArtifact?.(artifact_id.toLowerCase());
  const target =
    resolved !== undefined && DIGEST.test(resolved)
      ? resolved
      : (ctx.monitor.node(node_id)?.desired_hash ??
        ctx.monitor.desired(cluster)?.artifact_hash ??
        null);
  if (success) {
    if (conn.loadError !== null && (target === null || conn.loadError.artifact_hash === target)) {
      conn.loadError = null;
    }
  } else if (target !== null) {
    conn.loadError = {
      artifact_hash: target,
      code: 'PLB_BARBACANE_LOAD_FAILED',
      message: (error ?? 'the data plane could not download or load the artifact').slice(0, 1024),
      at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  } else {
    ctx.monitor.countRejected('unresolved_artifact');
    return;
  }
  deliverHeartbeat(ctx, conn);
}

/** A text frame as a JSON object, or the reason it is not one. */
function parseFrame(data: RawData): { json: Record<string, unknown> } | { error: string } {
  let json: unknown;
  try {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    json = JSON.parse(text);
  } catch {
    return { error: 'not a JSON message' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { error: 'a message is a JSON object' };
  }
  return { json: json as Record<string, unknown> };
}

function onFrame(ctx: Context, conn: Connection, data: RawData, isBinary: boolean): void {
  if (conn.closed) return;
  if (ctx.rate.take(conn.key) > 0) {
    ctx.monitor.countRejected('rate_limited');
    sendRaw(conn, { type: 'error', message: 'too many messages' });
    return closeConn(conn, DriftCloseCode.RateLimited, 'rate limited');
  }
  if (isBinary) return malformed(ctx, conn, 'binary messages are not part of the protocol');
  const frame = parseFrame(data);
  if ('error' in frame) return malformed(ctx, conn, frame.error);
  const type = frame.json['type'];
  if (conn.session === null) {
    if (type !== 'register') return malformed(ctx, conn, 'the first message must be register');
    return onRegister(ctx, conn, frame.json);
  }
  if (type === 'heartbeat') onHeartbeat(ctx, conn, frame.json);
  else if (type === 'artifact_downloaded') onDownloaded(ctx, conn, frame.json);
  else if (type === 'register')
    malformed(ctx, conn, 'register was already sent on this connection');
  // Unknown message types are ignored (forward compatibility).
}

function onConnection(
  ctx: Context,
  connections: Set<Connection>,
  ws: WebSocket,
  request: IncomingMessage,
): void {
  const conn = newConnection(randomUUID(), ws, request.socket.remoteAddress);
  connections.add(conn);
  conn.timer = setTimeout(() => {
    ctx.monitor.countRejected('timeout');
    sendRaw(conn, { type: 'registration_failed', reason: 'no register in time' });
    closeConn(conn, DriftCloseCode.HelloTimeout, 'register timeout');
  }, ctx.limits.registerTimeoutMs);
  conn.timer.unref();
  ws.on('message', (data, isBinary) => onFrame(ctx, conn, data, isBinary));
  ws.on('error', (error: Error & { code?: string }) => {
    // ws closes the socket after an oversized frame; the session is reported closed with 1009.
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.limitCode ??= 1009;
  });
  ws.on('close', (code, reason) => {
    conn.closed = true;
    stopTimer(conn);
    connections.delete(conn);
    const close = ctx.steps.closeOf(code, reason.toString('utf8'), conn.limitCode);
    if (close.code === 1009) ctx.monitor.countRejected('too_big');
    if (conn.session !== null) ctx.handler?.onClose(conn.session, close.code, close.reason);
  });
}

/** Listens on the transport's own server, or attaches to `options.server`. */
async function listen(
  options: BarbacaneTransportOptions,
): Promise<{ server: Server; own: boolean }> {
  if (options.server !== undefined) return { server: options.server, own: false };
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new PlumblineError('PLB_BARBACANE_LISTEN', 'cannot listen for Barbacane data planes', {
          cause: error,
        }),
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return { server, own: true };
}

function urlOf(server: Server, path: string): string {
  const address = server.address();
  if (address === null || typeof address !== 'object') return '';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = 'setSecureContext' in server ? 'wss' : 'ws';
  return `${scheme}://${host}:${address.port}${path}`;
}

/** Closes a connection with 1001 and resolves once it closed (or was dropped 2 s later). */
function shutDown(conn: Connection): Promise<void> {
  return new Promise<void>((resolve) => {
    if (conn.ws.readyState === conn.ws.CLOSED) return resolve();
    conn.ws.once('close', () => resolve());
    closeConn(conn, DriftCloseCode.Shutdown, 'shutdown');
    setTimeout(() => {
      conn.ws.terminate();
      resolve();
    }, 2000).unref();
  });
}

/**
 * @internal {@link createBarbacaneTransport} from its steps (the tests build broken variants
 * by replacing one).
 */
export function createTransportFromSteps(
  options: BarbacaneTransportOptions,
  steps: BarbacaneTransportSteps,
): BarbacaneTransport {
  const credentials = checkCredentials(options.credentials);
  const limits = limitsOf(options);
  const path = options.path ?? BARBACANE_DATA_PLANE_PATH;
  const rate = new RateLimiter(
    {
      requestsPerSecond: limits.maxFramesPer10s / 10,
      burst: limits.maxFramesPer10s,
      maxClients: limits.maxConnections,
    },
    Date.now,
  );
  const ctx: Context = {
    options,
    monitor: options.monitor,
    credentials,
    limits,
    steps,
    rate,
    handler: null,
  };
  const connections = new Set<Connection>();
  let http: { server: Server; own: boolean } | null = null;
  let wss: WebSocketServer | null = null;
  let closing = false;
  let url = '';

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      if (http?.own === true) socket.destroy();
      return;
    }
    if (closing || connections.size >= limits.maxConnections) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    wss?.handleUpgrade(request, socket, head, (ws) => onConnection(ctx, connections, ws, request));
  };

  return {
    get url() {
      return url;
    },
    get connections() {
      return connections.size;
    },
    address(): AddressInfo {
      const address = http?.server.address();
      if (address === null || address === undefined || typeof address === 'string') {
        throw new PlumblineError('PLB_BARBACANE_NOT_LISTENING', 'the transport is not listening');
      }
      return address;
    },
    async start(handler: DriftTransportHandler): Promise<void> {
      if (ctx.handler !== null) {
        throw new PlumblineError('PLB_USAGE', 'the transport was already started');
      }
      ctx.handler = handler;
      wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes });
      http = await listen(options);
      http.server.on('upgrade', onUpgrade);
      url = urlOf(http.server, path);
    },
    async close(): Promise<void> {
      closing = true;
      http?.server.off('upgrade', onUpgrade);
      await Promise.all([...connections].map(shutDown));
      wss?.close();
      const own = http?.own === true ? http.server : null;
      if (own !== null) await new Promise<void>((resolve) => own.close(() => resolve()));
    },
  };
}
