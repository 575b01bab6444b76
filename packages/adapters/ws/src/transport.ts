import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttpsServer,
  type Server as HttpsServer,
  type ServerOptions as HttpsServerOptions,
} from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { PlumblineError } from '@plumbline/core';
import type { DriftSession, DriftTransport, DriftTransportHandler } from '@plumbline/core/drift';
import type { NodeAuthenticator, NodeIdentity, UpgradeRequestInfo } from './auth.js';
import { CloseCode, closeReason } from './close-codes.js';
import { resolveLimits, TokenBucket, type ControlPlaneLimits } from './limits.js';
import { StatsRecorder, type UpgradeRejection, type WsTransportStats } from './stats.js';

/**
 * The default path of the data-plane WebSocket endpoint.
 *
 * @public
 */
export const DEFAULT_WS_PATH = '/ws/data-plane';

/**
 * Options of {@link createWsTransport}.
 *
 * @public
 */
export interface WsTransportOptions {
  /**
   * An existing `http`/`https` server to attach to (its other routes keep working). Without it the
   * transport listens itself on `port`/`host`, with TLS when `tls` is given.
   */
  readonly server?: HttpServer | HttpsServer;
  /** Port to listen on when no `server` is given (default 0: a free port). */
  readonly port?: number;
  /** Host to bind when no `server` is given (default `127.0.0.1`). */
  readonly host?: string;
  /** TLS (and mTLS: `requestCert`, `ca`) options when listening itself. */
  readonly tls?: HttpsServerOptions;
  /** Path of the endpoint (default `/ws/data-plane`). */
  readonly path?: string;
  /** Authenticates each upgrade before it completes. */
  readonly auth: NodeAuthenticator;
  /** Limits; each has a finite default (see {@link ControlPlaneLimits}). */
  readonly limits?: Partial<ControlPlaneLimits>;
  /** Monotonic-enough clock in ms for rate limiting (default `performance.now`). */
  readonly now?: () => number;
}

/**
 * The WebSocket implementation of core's `DriftTransport`, with its address and counters.
 *
 * @public
 */
export interface WsTransport extends DriftTransport {
  /** The `ws://` or `wss://` URL of the endpoint once started (host as bound). */
  readonly url: string;
  /** The bound address once started. */
  address(): AddressInfo;
  /** Current counters (see {@link WsTransportStats}). */
  stats(): WsTransportStats;
  /** The effective limits. */
  readonly limits: ControlPlaneLimits;
}

interface Conn {
  readonly ws: WebSocket;
  readonly session: DriftSession;
  readonly identity: NodeIdentity;
  readonly bucket: TokenBucket;
  alive: boolean;
  gotFrame: boolean;
  /** The close code this side decided, reported instead of the peer's echo. */
  closeCode: number | undefined;
  helloTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

const CLOSE_GRACE_MS = 5000;

/** A short error frame before a close (the protocol's `error` message). */
function errorFrame(code: string, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}

function rejectUpgrade(socket: Socket, status: number, text: string, extra: string[] = []): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: text });
  socket.end(
    [
      `HTTP/1.1 ${status} ${text}`,
      'Connection: close',
      'Content-Type: application/json',
      'Cache-Control: no-store',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...extra,
      '',
      body,
    ].join('\r\n'),
  );
  socket.destroySoon?.();
}

/**
 * Creates the control-plane side of the WebSocket drift transport. Authentication runs on the
 * HTTP upgrade request, before the upgrade completes: refused peers get HTTP 401 (and never a
 * session). Each session is bound to its authenticated identity. Limits close offending
 * connections with the protocol's close codes (1009 oversized frame, 4400 binary frame, 4408 no
 * first frame in time, 4429 too many messages) and count them in {@link WsTransport.stats}.
 *
 * Usually used through {@link createControlPlaneServer}; use it directly to serve core's
 * `serveDrift` yourself.
 *
 * @example
 * ```ts
 * import { createWsTransport, createTokenAuthenticator } from '@plumbline/ws';
 * const transport = createWsTransport({ port: 0, auth: createTokenAuthenticator({ nodes }) });
 * await transport.start(handler);
 * console.log(transport.url);
 * ```
 * @throws {@link @plumbline/core#PlumblineError} `PLB_WS_LIMIT_INVALID` for a limit that is not a positive finite number.
 * @public
 */
export function createWsTransport(options: WsTransportOptions): WsTransport {
  const limits = resolveLimits(options.limits);
  const path = options.path ?? DEFAULT_WS_PATH;
  const now = options.now ?? (() => performance.now());
  const stats = new StatsRecorder();
  const conns = new Set<Conn>();
  const owned = options.server === undefined;
  let server: HttpServer | HttpsServer | undefined = options.server;
  let handler: DriftTransportHandler | undefined;
  let wss: WebSocketServer | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let offAuthChange: (() => void) | undefined;
  let started = false;
  let closing = false;
  let allClosed: (() => void) | undefined;
  const pendingSockets = new Map<Socket, NodeJS.Timeout>();
  const scheme = (): 'ws' | 'wss' =>
    options.tls !== undefined || (server !== undefined && 'setSecureContext' in server)
      ? 'wss'
      : 'ws';

  const refuse = (socket: Socket, reason: UpgradeRejection): void => {
    stats.upgradesRejected[reason] += 1;
    switch (reason) {
      case 'unauthenticated':
        rejectUpgrade(socket, 401, 'Unauthorized', ['WWW-Authenticate: Bearer']);
        return;
      case 'capacity':
        rejectUpgrade(socket, 503, 'Service Unavailable', ['Retry-After: 5']);
        return;
      case 'shutting_down':
        rejectUpgrade(socket, 503, 'Service Unavailable', ['Retry-After: 1']);
        return;
      case 'not_found':
        rejectUpgrade(socket, 404, 'Not Found');
        return;
      case 'bad_request':
        rejectUpgrade(socket, 400, 'Bad Request');
        return;
    }
  };

  const finish = (conn: Conn, code: number, reason: string): void => {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    if (conn.killTimer) clearTimeout(conn.killTimer);
    conns.delete(conn);
    stats.sessionsOpen = conns.size;
    const reported = conn.closeCode ?? code;
    stats.close(reported);
    try {
      handler?.onClose(
        conn.session,
        reported,
        conn.closeCode !== undefined ? (closeReason[reported] ?? reason) : reason,
      );
    } catch {
      // Handlers never throw; a faulty one must not take the transport down.
    }
    if (conns.size === 0 && allClosed) allClosed();
  };

  const closeConn = (
    conn: Conn,
    code: number,
    reason?: string,
    error?: { code: string; message: string },
  ): void => {
    if (conn.closed || conn.closeCode !== undefined) return;
    conn.closeCode = code;
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    const ws = conn.ws;
    if (error && ws.readyState === ws.OPEN) ws.send(errorFrame(error.code, error.message));
    try {
      ws.close(code, (reason ?? closeReason[code] ?? '').slice(0, 123));
    } catch {
      ws.terminate();
    }
    conn.killTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    conn.killTimer.unref();
  };

  const onConnection = (
    ws: WebSocket,
    identity: NodeIdentity,
    remoteAddress: string | undefined,
  ): void => {
    const id = randomUUID();
    // eslint-disable-next-line prefer-const
    let conn: Conn;
    const session: DriftSession = {
      id,
      identity: {
        node_id: identity.node_id,
        cluster: identity.cluster,
        principal: identity.principal,
      },
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
      send(text) {
        if (!conn.closed && conn.closeCode === undefined && ws.readyState === ws.OPEN)
          ws.send(text);
      },
      close(code, reason) {
        closeConn(conn, code, reason);
      },
    };
    conn = {
      ws,
      session,
      identity,
      bucket: new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now()),
      alive: true,
      gotFrame: false,
      closeCode: undefined,
      helloTimer: undefined,
      killTimer: undefined,
      closed: false,
    };
    conns.add(conn);
    stats.sessionsOpen = conns.size;
    stats.sessionsOpened += 1;
    conn.helloTimer = setTimeout(() => {
      if (conn.gotFrame || conn.closed) return;
      stats.violations.hello_timeout += 1;
      closeConn(conn, CloseCode.HelloTimeout, undefined, {
        code: 'PLB_WS_HELLO_TIMEOUT',
        message: `no hello within ${limits.helloTimeoutMs} ms`,
      });
    }, limits.helloTimeoutMs);
    conn.helloTimer.unref();
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (conn.closed || conn.closeCode !== undefined) return;
      conn.alive = true;
      if (!conn.bucket.take(now())) {
        stats.violations.rate_limited += 1;
        closeConn(conn, CloseCode.RateLimited, undefined, {
          code: 'PLB_WS_RATE_LIMITED',
          message: `more than ${limits.messagesPerSecond} messages per second`,
        });
        return;
      }
      if (isBinary) {
        stats.violations.binary_frame += 1;
        closeConn(conn, CloseCode.Malformed, undefined, {
          code: 'PLB_DRIFT_MALFORMED',
          message: 'drift frames are JSON text frames',
        });
        return;
      }
      stats.framesReceived += 1;
      if (!conn.gotFrame) {
        conn.gotFrame = true;
        if (conn.helloTimer) clearTimeout(conn.helloTimer);
        conn.helloTimer = undefined;
      }
      // ws hands over a Buffer (binaryType 'nodebuffer'): decode without copying.
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      try {
        handler?.onMessage(session, text);
      } catch {
        // Handlers never throw.
      }
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        stats.violations.frame_too_big += 1;
        conn.closeCode ??= CloseCode.FrameTooBig;
      } else {
        stats.violations.protocol_error += 1;
      }
      // ws closes the socket itself after a protocol error; make sure it goes.
      if (!conn.killTimer) {
        conn.killTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        conn.killTimer.unref();
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      finish(conn, code, reason.toString('utf8'));
    });
    try {
      handler?.onOpen(session);
    } catch {
      // Handlers never throw.
    }
  };

  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const timer = pendingSockets.get(socket);
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      refuse(socket, 'bad_request');
      return;
    }
    if (pathname !== path) {
      // On a shared server another upgrade handler may own this path.
      if (!owned && server!.listenerCount('upgrade') > 1) return;
      refuse(socket, 'not_found');
      return;
    }
    if (closing) return refuse(socket, 'shutting_down');
    if (
      conns.size + stats.upgradesPending >= limits.maxConnections ||
      stats.upgradesPending >= limits.maxPendingUpgrades
    ) {
      return refuse(socket, 'capacity');
    }
    stats.upgradesPending += 1;
    const tlsSocket = socket as Partial<TLSSocket>;
    const info: UpgradeRequestInfo = {
      headers: req.headers,
      remoteAddress: socket.remoteAddress,
      tlsAuthorized: tlsSocket.authorized === true,
      peerCertificate:
        typeof tlsSocket.getPeerCertificate === 'function'
          ? tlsSocket.getPeerCertificate(false)
          : undefined,
    };
    const done = (
      result: Awaited<ReturnType<NodeAuthenticator['authenticate']>> | undefined,
    ): void => {
      stats.upgradesPending -= 1;
      if (socket.destroyed) return;
      if (closing) return refuse(socket, 'shutting_down');
      if (!result || !result.ok) {
        refuse(socket, 'unauthenticated');
        try {
          handler?.onAuthFailure?.({
            reason: result ? result.reason.replace(/_/g, ' ') : 'authenticator failed',
            ...(socket.remoteAddress === undefined ? {} : { remoteAddress: socket.remoteAddress }),
          });
        } catch {
          // Handlers never throw.
        }
        return;
      }
      wss!.handleUpgrade(req, socket, head, (ws) => {
        if (timer) clearTimeout(timer);
        pendingSockets.delete(socket);
        onConnection(ws, result.identity, socket.remoteAddress);
      });
    };
    let outcome: ReturnType<NodeAuthenticator['authenticate']>;
    try {
      outcome = options.auth.authenticate(info);
    } catch {
      done(undefined);
      return;
    }
    if (outcome instanceof Promise) outcome.then(done, () => done(undefined));
    else done(outcome);
  };

  const onRawConnection = (socket: Socket): void => {
    const timer = setTimeout(() => {
      pendingSockets.delete(socket);
      stats.violations.handshake_timeout += 1;
      socket.destroy();
    }, limits.handshakeTimeoutMs);
    timer.unref();
    pendingSockets.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      pendingSockets.delete(socket);
    });
  };

  const onPlainRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    const body = JSON.stringify({ error: 'Upgrade Required' });
    res.writeHead(426, {
      Connection: 'Upgrade, close',
      Upgrade: 'websocket',
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const transport: WsTransport = {
    limits,
    get url() {
      const addr = transport.address();
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `${scheme()}://${host}:${addr.port}${path}`;
    },
    address() {
      const addr = server?.address();
      if (!addr || typeof addr === 'string') {
        throw new PlumblineError(
          'PLB_WS_NOT_LISTENING',
          'the WebSocket transport is not listening',
        );
      }
      return addr;
    },
    stats() {
      return stats.snapshot();
    },
    async start(h) {
      if (started)
        throw new PlumblineError('PLB_WS_ALREADY_STARTED', 'the transport was already started');
      started = true;
      handler = h;
      wss = new WebSocketServer({
        noServer: true,
        maxPayload: limits.maxFrameBytes,
        perMessageDeflate: false,
        clientTracking: false,
      });
      if (owned) {
        const serverOptions = {
          maxHeaderSize: 16 * 1024,
          headersTimeout: limits.handshakeTimeoutMs,
          requestTimeout: limits.handshakeTimeoutMs,
        };
        server = options.tls
          ? createHttpsServer({ ...serverOptions, ...options.tls }, onPlainRequest)
          : createHttpServer(serverOptions, onPlainRequest);
        server.on(options.tls ? 'secureConnection' : 'connection', onRawConnection);
        server.on('tlsClientError', (_error: Error, socket: Socket) => {
          stats.violations.protocol_error += 1;
          socket.destroy();
        });
        server.on('clientError', (_error: Error, socket: Socket) => {
          stats.upgradesRejected.bad_request += 1;
          if (!socket.destroyed) socket.destroy();
        });
      }
      server!.on('upgrade', onUpgrade);
      if (owned) {
        await new Promise<void>((resolve, reject) => {
          server!.once('error', reject);
          server!.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
            server!.off('error', reject);
            resolve();
          });
        });
      }
      pingTimer = setInterval(() => {
        for (const conn of conns) {
          if (conn.closed) continue;
          if (!conn.alive) {
            stats.violations.liveness_timeout += 1;
            conn.closeCode ??= 1006;
            conn.ws.terminate();
            continue;
          }
          conn.alive = false;
          try {
            conn.ws.ping();
          } catch {
            // A socket in the middle of closing.
          }
        }
      }, limits.pingIntervalMs);
      pingTimer.unref();
      offAuthChange = options.auth.onChange?.(() => {
        for (const conn of conns) {
          if (options.auth.isValid && !options.auth.isValid(conn.identity)) {
            stats.violations.credential_revoked += 1;
            closeConn(conn, CloseCode.Unauthenticated, undefined, {
              code: 'PLB_WS_CREDENTIAL_REVOKED',
              message: 'the credentials of this session were revoked',
            });
          }
        }
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      offAuthChange?.();
      if (pingTimer) clearInterval(pingTimer);
      const drained =
        conns.size === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              allClosed = resolve;
            });
      for (const conn of [...conns]) closeConn(conn, CloseCode.Shutdown);
      await drained;
      for (const [socket, timer] of pendingSockets) {
        clearTimeout(timer);
        socket.destroy();
      }
      pendingSockets.clear();
      server?.off('upgrade', onUpgrade);
      wss?.close();
      if (owned && server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
    },
  };
  return transport;
}
