/**
 * A drift transport that speaks Barbacane's data-plane WebSocket protocol, so unmodified
 * Barbacane gateways report to a Plumbline control plane.
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import {
  DRIFT_PROTOCOL,
  DriftCloseCode,
  serveDrift,
  type DriftServer,
  type DriftSession,
  type DriftTransport,
  type DriftTransportHandler,
  type FleetMonitor,
  type LoadError,
  type ServeDriftOptions,
} from '@plumbline/core/drift';
import type { DigestString } from '@plumbline/core/hash';
import type { AuditLogger } from '@plumbline/core/audit';
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
  type BarbacaneControlMessage,
} from './protocol.js';

/** The path Barbacane data planes connect to. @public */
export const BARBACANE_DATA_PLANE_PATH = '/ws/data-plane';

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const NODE = /^[\x21-\x7e]{1,128}$/;

/**
 * Options of {@link createBarbacaneTransport}.
 *
 * @public
 */
export interface BarbacaneTransportOptions {
  /** Accepted API keys (hashed). */
  readonly credentials: readonly BarbacaneCredential[];
  /** The monitor: read for the heartbeat interval, node states (`heartbeat_ack`) and desired hashes. */
  readonly monitor: Pick<
    FleetMonitor,
    'node' | 'desired' | 'heartbeatIntervalMs' | 'countRejected'
  >;
  /** Listen host (default `127.0.0.1`), ignored with `server`. */
  readonly host?: string;
  /** Listen port (default 0: a free port), ignored with `server`. */
  readonly port?: number;
  /** Attach to this HTTP(S) server instead of listening (upgrades on other paths are left alone). */
  readonly server?: Server;
  /** The WebSocket path. Default `/ws/data-plane`. */
  readonly path?: string;
  /** Largest frame in bytes; larger frames close the connection with 1009. Default 64 KiB. */
  readonly maxFrameBytes?: number;
  /** A connection that sends no `register` within this time is closed with 4408. Default 10,000 ms. */
  readonly registerTimeoutMs?: number;
  /** Most open connections; more are refused with HTTP 503. Default 10,000. */
  readonly maxConnections?: number;
  /** Most frames per connection per 10-second window; more close it with 4429. Default 100. */
  readonly maxFramesPer10s?: number;
  /**
   * Maps a Barbacane `artifact_id` (UUID) to the artifact's `artifact_hash`, for `register` and
   * `artifact_downloaded`. Without it (or when it returns `undefined`) a failed download is
   * attributed to the node's desired artifact.
   */
  readonly resolveArtifact?: (artifact_id: string) => DigestString | undefined;
}

/**
 * A running Barbacane transport.
 *
 * @public
 */
export interface BarbacaneTransport extends DriftTransport {
  /** `ws://host:port/ws/data-plane` once started. */
  readonly url: string;
  /** The bound address once started. */
  address(): AddressInfo;
  /** Open connections (registered or not). */
  readonly connections: number;
}

interface Connection {
  readonly ws: WebSocket;
  readonly remoteAddress: string | undefined;
  session: (DriftSession & { project_id: string }) | null;
  registered: boolean;
  closed: boolean;
  seq: number;
  reported: DigestString | null;
  loadError: LoadError | null;
  timer: NodeJS.Timeout | null;
  frames: number;
  windowStart: number;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new PlumblineError('PLB_USAGE', `${name} must be a positive integer`);
  }
  return value;
}

/**
 * Creates a {@link DriftTransport} speaking Barbacane's data-plane protocol on `/ws/data-plane`.
 * A data plane's `register` is authenticated by its project id and API key (compared as SHA-256
 * in constant time); a key bound to a node name makes the data plane that node. The node's
 * identity is its name, so it keeps its state across reconnects. The transport turns `register`
 * into a Plumbline `hello`, each `heartbeat` into a `heartbeat` (with a rising `seq`), and
 * `artifact_downloaded` into a heartbeat carrying (or clearing) `last_load_error`; it answers
 * `registered` (with the monitor's heartbeat interval in seconds and a stable `data_plane_id`),
 * `heartbeat_ack` with `drift_detected` from the node's state against the declared desired state,
 * and `registration_failed`, `disconnect` or `error` before a close. Run it with core's
 * `serveDrift` (or {@link serveBarbacane}).
 *
 * @example
 * ```ts
 * const transport = createBarbacaneTransport({ credentials, monitor, port: 9090 });
 * const server = serveDrift({ transport, monitor });
 * await server.start();
 * console.log(transport.url);
 * ```
 * @throws PlumblineError `PLB_BARBACANE_CREDENTIALS` for bad credentials, `PLB_USAGE` for bad limits.
 * @public
 */
export function createBarbacaneTransport(options: BarbacaneTransportOptions): BarbacaneTransport {
  const credentials = checkCredentials(options.credentials);
  const { monitor } = options;
  const path = options.path ?? BARBACANE_DATA_PLANE_PATH;
  const maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? 64 * 1024);
  const registerTimeoutMs = positive('registerTimeoutMs', options.registerTimeoutMs ?? 10_000);
  const maxConnections = positive('maxConnections', options.maxConnections ?? 10_000);
  const maxFrames = positive('maxFramesPer10s', options.maxFramesPer10s ?? 100);
  const connections = new Set<Connection>();
  let handler: DriftTransportHandler | null = null;
  let ownServer: Server | null = null;
  let httpServer: Server | null = null;
  let wss: WebSocketServer | null = null;
  let closing = false;
  let url = '';

  const sendRaw = (conn: Connection, message: BarbacaneControlMessage): void => {
    if (conn.closed || conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(JSON.stringify(message));
  };

  const closeConn = (conn: Connection, code: number, reason: string): void => {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    try {
      conn.ws.close(code, reason.slice(0, 120));
    } catch {
      conn.ws.terminate();
    }
  };

  const malformed = (conn: Connection, message: string): void => {
    monitor.countRejected('malformed');
    sendRaw(conn, { type: 'error', message });
    closeConn(conn, DriftCloseCode.Malformed, 'malformed message');
  };

  const deliver = (conn: Connection, frame: Record<string, unknown>): void => {
    if (conn.session === null || handler === null) return;
    handler.onMessage(conn.session, JSON.stringify(frame));
  };

  const heartbeatFrame = (conn: Connection): Record<string, unknown> => {
    conn.seq += 1;
    return {
      type: 'heartbeat',
      seq: conn.seq,
      artifact_hash: conn.reported,
      last_load_error: conn.loadError,
    };
  };

  const makeSession = (
    conn: Connection,
    node_id: string,
    cluster: string,
    principal: string,
    project_id: string,
  ): DriftSession & { project_id: string } => ({
    id: randomUUID(),
    identity: { node_id, cluster, principal },
    project_id,
    // A register names no running artifact unless resolveArtifact knew its id: until the first
    // heartbeat with a hash, the node is awaiting its report, not judged.
    awaitsFirstReport: conn.reported === null,
    ...(conn.remoteAddress === undefined ? {} : { remoteAddress: conn.remoteAddress }),
    send(text: string): void {
      let frame: {
        type?: unknown;
        code?: unknown;
        message?: unknown;
        heartbeat_interval_ms?: unknown;
      };
      try {
        frame = JSON.parse(text) as typeof frame;
      } catch {
        return;
      }
      const message = typeof frame.message === 'string' ? frame.message : '';
      if (frame.type === 'welcome') {
        conn.registered = true;
        const ms =
          typeof frame.heartbeat_interval_ms === 'number' ? frame.heartbeat_interval_ms : 30_000;
        sendRaw(conn, {
          type: 'registered',
          data_plane_id: dataPlaneId(project_id, node_id),
          heartbeat_interval_secs: Math.max(1, Math.ceil(ms / 1000)),
        });
      } else if (frame.type === 'error') {
        if (!conn.registered) sendRaw(conn, { type: 'registration_failed', reason: message });
        else if (frame.code === 'PLB_DRIFT_REPLACED')
          sendRaw(conn, { type: 'disconnect', reason: message });
        else sendRaw(conn, { type: 'error', message });
      }
    },
    close(code: number, reason?: string): void {
      closeConn(conn, code, reason ?? '');
    },
  });

  const register = (conn: Connection, json: unknown): void => {
    const parsed = barbacaneRegisterSchema.safeParse(json);
    if (!parsed.success) {
      malformed(conn, 'the first message must be a valid register');
      return;
    }
    const reg = parsed.data;
    // Refused before a session exists: the drift server counts, logs and audits it.
    const refuse = (reason: string): void => {
      handler?.onAuthFailure?.({
        reason,
        ...(conn.remoteAddress === undefined ? {} : { remoteAddress: conn.remoteAddress }),
      });
      sendRaw(conn, { type: 'registration_failed', reason });
      closeConn(conn, DriftCloseCode.Unauthenticated, reason);
    };
    const credential = matchCredential(credentials, reg.project_id, reg.api_key);
    if (credential === undefined) {
      refuse('unknown project or API key');
      return;
    }
    const name = reg.name ?? undefined;
    let node_id: string;
    if (credential.node !== undefined) {
      // A bound key is its node. A different name is passed on as the claimed name, so the
      // drift server refuses it as an identity mismatch (4403) and audits the claim.
      node_id = credential.node;
    } else {
      if (name === undefined || !NODE.test(name)) {
        refuse(
          'a data plane name (printable ASCII, no spaces, at most 128 characters) is required',
        );
        return;
      }
      node_id = name;
    }
    const cluster = credential.cluster ?? credential.project_id;
    if (credential.node === undefined) {
      // A project key names its node freely, but not a node bound to its own key, nor a node
      // the monitor knows in another cluster (another project, or a Plumbline node).
      const taken =
        credentials.some((c) => c.node === node_id) ||
        (monitor.node(node_id) !== undefined && monitor.node(node_id)?.cluster !== cluster);
      if (taken) {
        monitor.countRejected('identity_mismatch');
        const reason = 'this data plane name belongs to another key or cluster';
        sendRaw(conn, { type: 'registration_failed', reason });
        closeConn(conn, DriftCloseCode.IdentityMismatch, reason);
        return;
      }
    }
    const claimed = name ?? node_id;
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    const label = credential.label ?? credential.key_sha256.slice(0, 8);
    const artifactHash =
      reg.artifact_id === undefined || reg.artifact_id === null
        ? undefined
        : options.resolveArtifact?.(reg.artifact_id.toLowerCase());
    conn.reported = artifactHash !== undefined && DIGEST.test(artifactHash) ? artifactHash : null;
    conn.session = makeSession(
      conn,
      node_id,
      cluster,
      `barbacane:${credential.project_id}/${label}`,
      credential.project_id,
    );
    handler?.onOpen(conn.session);
    deliver(conn, {
      type: 'hello',
      protocol: DRIFT_PROTOCOL,
      node_id: claimed,
      cluster,
      instance_id: conn.session.id,
      artifact_hash: conn.reported,
      sdk: 'barbacane',
    });
  };

  const heartbeat = (conn: Connection, json: unknown): void => {
    const parsed = barbacaneHeartbeatSchema.safeParse(json);
    if (!parsed.success) {
      malformed(conn, 'invalid heartbeat');
      return;
    }
    const hash = parsed.data.artifact_hash;
    if (hash !== undefined && hash !== null && !DIGEST.test(hash)) {
      malformed(conn, 'artifact_hash is not sha256:<64 lowercase hex>');
      return;
    }
    if (hash !== undefined) conn.reported = (hash as DigestString | null) ?? null;
    else if (parsed.data.artifact_id !== undefined && parsed.data.artifact_id !== null) {
      const resolved = options.resolveArtifact?.(parsed.data.artifact_id.toLowerCase());
      if (resolved !== undefined && DIGEST.test(resolved)) conn.reported = resolved;
    }
    deliver(conn, heartbeatFrame(conn));
    if (conn.closed || conn.session === null) return;
    const state = monitor.node(conn.session.identity.node_id)?.state;
    sendRaw(conn, {
      type: 'heartbeat_ack',
      drift_detected: state === 'drift' || state === 'rejected',
    });
  };

  const downloaded = (conn: Connection, json: unknown): void => {
    const parsed = barbacaneArtifactDownloadedSchema.safeParse(json);
    if (!parsed.success || conn.session === null) {
      malformed(conn, 'invalid artifact_downloaded');
      return;
    }
    const { artifact_id, success, error } = parsed.data;
    const resolved = options.resolveArtifact?.(artifact_id.toLowerCase());
    const target =
      resolved !== undefined && DIGEST.test(resolved)
        ? resolved
        : (monitor.node(conn.session.identity.node_id)?.desired_hash ??
          monitor.desired(conn.session.identity.cluster)?.artifact_hash ??
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
      monitor.countRejected('unresolved_artifact');
      return;
    }
    deliver(conn, heartbeatFrame(conn));
  };

  const onMessage = (conn: Connection, data: RawData, isBinary: boolean): void => {
    if (conn.closed) return;
    const now = Date.now();
    if (now - conn.windowStart >= 10_000) {
      conn.windowStart = now;
      conn.frames = 0;
    }
    conn.frames += 1;
    if (conn.frames > maxFrames) {
      monitor.countRejected('rate_limited');
      sendRaw(conn, { type: 'error', message: 'too many messages' });
      closeConn(conn, DriftCloseCode.RateLimited, 'rate limited');
      return;
    }
    if (isBinary) {
      malformed(conn, 'binary messages are not part of the protocol');
      return;
    }
    let json: unknown;
    try {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      json = JSON.parse(text);
    } catch {
      malformed(conn, 'not a JSON message');
      return;
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      malformed(conn, 'a message is a JSON object');
      return;
    }
    const type = (json as { type?: unknown }).type;
    if (conn.session === null) {
      if (type !== 'register') {
        malformed(conn, 'the first message must be register');
        return;
      }
      register(conn, json);
      return;
    }
    if (type === 'heartbeat') heartbeat(conn, json);
    else if (type === 'artifact_downloaded') downloaded(conn, json);
    else if (type === 'register') malformed(conn, 'register was already sent on this connection');
    // Unknown message types are ignored (forward compatibility).
  };

  const onConnection = (ws: WebSocket, request: IncomingMessage): void => {
    const conn: Connection = {
      ws,
      remoteAddress: request.socket.remoteAddress,
      session: null,
      registered: false,
      closed: false,
      seq: 0,
      reported: null,
      loadError: null,
      timer: null,
      frames: 0,
      windowStart: Date.now(),
    };
    connections.add(conn);
    conn.timer = setTimeout(() => {
      monitor.countRejected('timeout');
      sendRaw(conn, { type: 'registration_failed', reason: 'no register in time' });
      closeConn(conn, DriftCloseCode.HelloTimeout, 'register timeout');
    }, registerTimeoutMs);
    conn.timer.unref();
    ws.on('message', (data, isBinary) => onMessage(conn, data, isBinary));
    ws.on('error', () => {
      /* reported through close */
    });
    ws.on('close', (code, reason) => {
      conn.closed = true;
      if (conn.timer !== null) clearTimeout(conn.timer);
      connections.delete(conn);
      if (code === 1009) monitor.countRejected('too_big');
      if (conn.session !== null) handler?.onClose(conn.session, code, reason.toString('utf8'));
    });
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      if (ownServer !== null) socket.destroy();
      return;
    }
    if (closing || connections.size >= maxConnections) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    wss?.handleUpgrade(request, socket, head, (ws) => onConnection(ws, request));
  };

  return {
    get url() {
      return url;
    },
    get connections() {
      return connections.size;
    },
    address(): AddressInfo {
      const address = httpServer?.address();
      if (address === null || address === undefined || typeof address === 'string') {
        throw new PlumblineError('PLB_BARBACANE_NOT_LISTENING', 'the transport is not listening');
      }
      return address;
    },
    async start(h: DriftTransportHandler): Promise<void> {
      if (handler !== null)
        throw new PlumblineError('PLB_USAGE', 'the transport was already started');
      handler = h;
      wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes });
      if (options.server !== undefined) {
        httpServer = options.server;
      } else {
        ownServer = createServer((_req, res) => {
          res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
        });
        httpServer = ownServer;
        await new Promise<void>((resolvePromise, rejectPromise) => {
          ownServer!.once('error', (error) =>
            rejectPromise(
              new PlumblineError(
                'PLB_BARBACANE_LISTEN',
                'cannot listen for Barbacane data planes',
                {
                  cause: error,
                },
              ),
            ),
          );
          ownServer!.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolvePromise());
        });
      }
      httpServer.on('upgrade', onUpgrade);
      const address = httpServer.address();
      if (address !== null && typeof address === 'object') {
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        const scheme = 'setSecureContext' in httpServer ? 'wss' : 'ws';
        url = `${scheme}://${host}:${address.port}${path}`;
      }
    },
    async close(): Promise<void> {
      closing = true;
      httpServer?.off('upgrade', onUpgrade);
      const waits = [...connections].map(
        (conn) =>
          new Promise<void>((resolvePromise) => {
            if (conn.ws.readyState === conn.ws.CLOSED) {
              resolvePromise();
              return;
            }
            conn.ws.once('close', () => resolvePromise());
            closeConn(conn, DriftCloseCode.Shutdown, 'shutdown');
            setTimeout(() => {
              conn.ws.terminate();
              resolvePromise();
            }, 2000).unref();
          }),
      );
      await Promise.all(waits);
      wss?.close();
      if (ownServer !== null) {
        await new Promise<void>((resolvePromise) => ownServer!.close(() => resolvePromise()));
      }
    },
  };
}

/**
 * Options of {@link serveBarbacane}.
 *
 * @public
 */
export interface ServeBarbacaneOptions extends BarbacaneTransportOptions {
  /** The fleet monitor. */
  readonly monitor: FleetMonitor;
  /** Audit logger (`session.accepted` / `session.rejected`). */
  readonly audit?: AuditLogger;
  /** Called for every refused session (a name collision included), never with secrets. */
  readonly onRejected?: ServeDriftOptions['onRejected'];
  /** Called once when two gateways are found sharing a name (see `serveDrift`'s `collision`). */
  readonly onCollision?: ServeDriftOptions['onCollision'];
}

/**
 * Starts a Barbacane data-plane endpoint feeding a fleet monitor: {@link createBarbacaneTransport}
 * run by core's `serveDrift`. Plug it next to the Plumbline WebSocket endpoint (same monitor) to
 * monitor a mixed fleet.
 *
 * @example
 * ```ts
 * const monitor = await FleetMonitor.create({ heartbeatIntervalMs: 30_000 });
 * const { transport, server } = await serveBarbacane({ monitor, credentials, port: 9090 });
 * console.log(transport.url); // ws://127.0.0.1:9090/ws/data-plane
 * await server.close();
 * ```
 * @throws PlumblineError `PLB_BARBACANE_LISTEN` when the port cannot be bound, and the codes of
 *   {@link createBarbacaneTransport}.
 * @public
 */
export async function serveBarbacane(
  options: ServeBarbacaneOptions,
): Promise<{ transport: BarbacaneTransport; server: DriftServer }> {
  const transport = createBarbacaneTransport(options);
  const server = serveDrift({
    transport,
    monitor: options.monitor,
    ...(options.audit === undefined ? {} : { audit: options.audit }),
    ...(options.onRejected === undefined ? {} : { onRejected: options.onRejected }),
    ...(options.onCollision === undefined ? {} : { onCollision: options.onCollision }),
  });
  await server.start();
  return { transport, server };
}
