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
import { PlumblineError, TokenBucket } from '@plumbline/core';
import type { DriftSession, DriftTransport, DriftTransportHandler } from '@plumbline/core/drift';
import type { NodeAuthenticator, NodeIdentity, UpgradeRequestInfo } from './auth.js';
import { CloseCode, closeReason } from './close-codes.js';
import { frameText } from './frame-text.js';
import { resolveLimits, type ControlPlaneLimits } from './limits.js';
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
/** How often a slice of the sessions is pinged (see `#startPinging`). */
const PING_SLICE_MS = 100;

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
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_LIMIT_INVALID` for a limit that is not a positive finite number.
 * @public
 */
export function createWsTransport(options: WsTransportOptions): WsTransport {
  const endpoint = new WsEndpoint(options);
  const transport: WsTransport = {
    limits: endpoint.limits,
    get url() {
      const addr = transport.address();
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `${endpoint.scheme()}://${host}:${addr.port}${endpoint.path}`;
    },
    address: () => endpoint.address(),
    stats: () => endpoint.stats.snapshot(),
    start: (handler) => endpoint.start(handler),
    close: () => endpoint.close(),
  };
  return transport;
}

type AuthResult = Awaited<ReturnType<NodeAuthenticator['authenticate']>>;

/** The state of one transport and the named steps of its life: start, upgrade, session, close. */
class WsEndpoint {
  readonly limits: ControlPlaneLimits;
  readonly path: string;
  readonly stats = new StatsRecorder();
  readonly #options: WsTransportOptions;
  readonly #now: () => number;
  readonly #conns = new Set<Conn>();
  readonly #owned: boolean;
  readonly #pendingSockets = new Map<Socket, NodeJS.Timeout>();
  #server: HttpServer | HttpsServer | undefined;
  #handler: DriftTransportHandler | undefined;
  #wss: WebSocketServer | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #offAuthChange: (() => void) | undefined;
  #started = false;
  #closing = false;
  #allClosed: (() => void) | undefined;

  constructor(options: WsTransportOptions) {
    this.limits = resolveLimits(options.limits);
    this.path = options.path ?? DEFAULT_WS_PATH;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#owned = options.server === undefined;
    this.#server = options.server;
  }

  scheme(): 'ws' | 'wss' {
    const server = this.#server;
    return this.#options.tls !== undefined || (server !== undefined && 'setSecureContext' in server)
      ? 'wss'
      : 'ws';
  }

  address(): AddressInfo {
    const addr = this.#server?.address();
    if (!addr || typeof addr === 'string') {
      throw new PlumblineError('PLB_WS_NOT_LISTENING', 'the WebSocket transport is not listening');
    }
    return addr;
  }

  async start(handler: DriftTransportHandler): Promise<void> {
    if (this.#started)
      throw new PlumblineError('PLB_WS_ALREADY_STARTED', 'the transport was already started');
    this.#started = true;
    this.#handler = handler;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    if (this.#owned) this.#server = this.#createOwnServer();
    this.#server!.on('upgrade', this.#onUpgrade);
    if (this.#owned) await this.#listen(this.#server!);
    this.#startPinging();
    this.#offAuthChange = this.#options.auth.onChange?.(() => this.#closeRevoked());
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#offAuthChange?.();
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    const drained =
      this.#conns.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#allClosed = resolve;
          });
    for (const conn of [...this.#conns]) this.#closeConn(conn, CloseCode.Shutdown);
    await drained;
    for (const [socket, timer] of this.#pendingSockets) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.#pendingSockets.clear();
    this.#server?.off('upgrade', this.#onUpgrade);
    this.#wss?.close();
    const server = this.#server;
    if (this.#owned && server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  /** The HTTP(S) server the transport listens on itself: plain requests get 426. */
  #createOwnServer(): HttpServer | HttpsServer {
    const { tls } = this.#options;
    const serverOptions = {
      maxHeaderSize: 16 * 1024,
      headersTimeout: this.limits.handshakeTimeoutMs,
      requestTimeout: this.limits.handshakeTimeoutMs,
    };
    const server = tls
      ? createHttpsServer({ ...serverOptions, ...tls }, answerPlainRequest)
      : createHttpServer(serverOptions, answerPlainRequest);
    server.on(tls ? 'secureConnection' : 'connection', this.#onRawConnection);
    server.on('tlsClientError', (_error: Error, socket: Socket) => {
      this.stats.violations.protocol_error += 1;
      socket.destroy();
    });
    server.on('clientError', (_error: Error, socket: Socket) => {
      this.stats.upgradesRejected.bad_request += 1;
      if (!socket.destroyed) socket.destroy();
    });
    return server;
  }

  async #listen(server: HttpServer | HttpsServer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Pings every session once per interval (one that missed the previous pong is terminated),
   * spread over the interval: every PING_SLICE_MS the share of this round's sessions that is due,
   * catching up at most two slices at a time after the loop was held up. Pinging thousands of
   * sockets in one callback blocks the event loop (every frame and alert waits) for hundreds of
   * milliseconds.
   */
  #startPinging(): void {
    const interval = this.limits.pingIntervalMs;
    const step = Math.min(PING_SLICE_MS, interval);
    let round: Conn[] = [];
    let done = 0;
    let roundStart = this.#now();
    this.#pingTimer = setInterval(() => {
      const t = this.#now();
      if (done >= round.length && t - roundStart >= interval) {
        round = [...this.#conns];
        done = 0;
        roundStart = t;
      }
      const due = Math.min(
        done + 2 * Math.ceil((round.length * step) / interval),
        Math.ceil((round.length * Math.min(interval, t - roundStart + step)) / interval),
      );
      while (done < due) this.#ping(round[done++]!);
      if (done >= round.length) round = [];
    }, step);
    this.#pingTimer.unref();
  }

  #ping(conn: Conn): void {
    if (conn.closed) return;
    if (!conn.alive) {
      this.stats.violations.liveness_timeout += 1;
      conn.closeCode ??= 1006;
      conn.ws.terminate();
      return;
    }
    conn.alive = false;
    try {
      conn.ws.ping();
    } catch {
      // A socket in the middle of closing.
    }
  }

  /** After the credentials changed: closes (4401) every session whose identity is no longer valid. */
  #closeRevoked(): void {
    const auth = this.#options.auth;
    for (const conn of this.#conns) {
      if (auth.isValid && !auth.isValid(conn.identity)) {
        this.stats.violations.credential_revoked += 1;
        this.#closeConn(conn, CloseCode.Unauthenticated, undefined, {
          code: 'PLB_WS_CREDENTIAL_REVOKED',
          message: 'the credentials of this session were revoked',
        });
      }
    }
  }

  /** Destroys a socket that has not completed its upgrade within `handshakeTimeoutMs`. */
  readonly #onRawConnection = (socket: Socket): void => {
    const timer = setTimeout(() => {
      this.#pendingSockets.delete(socket);
      this.stats.violations.handshake_timeout += 1;
      socket.destroy();
    }, this.limits.handshakeTimeoutMs);
    timer.unref();
    this.#pendingSockets.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.#pendingSockets.delete(socket);
    });
  };

  /** An upgrade request: path, shutdown and capacity checks, then authentication. */
  readonly #onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      this.#refuse(socket, 'bad_request');
      return;
    }
    if (pathname !== this.path) {
      // On a shared server another upgrade handler may own this path.
      if (!this.#owned && this.#server!.listenerCount('upgrade') > 1) return;
      this.#refuse(socket, 'not_found');
      return;
    }
    if (this.#closing) return this.#refuse(socket, 'shutting_down');
    if (
      this.#conns.size + this.stats.upgradesPending >= this.limits.maxConnections ||
      this.stats.upgradesPending >= this.limits.maxPendingUpgrades
    ) {
      return this.#refuse(socket, 'capacity');
    }
    this.stats.upgradesPending += 1;
    const done = (result: AuthResult | undefined): void =>
      this.#authenticated(req, socket, head, result);
    let outcome: ReturnType<NodeAuthenticator['authenticate']>;
    try {
      outcome = this.#options.auth.authenticate(upgradeInfo(req, socket));
    } catch {
      done(undefined);
      return;
    }
    if (outcome instanceof Promise) outcome.then(done, () => done(undefined));
    else done(outcome);
  };

  /** The authenticator's answer: completes the upgrade into a session, or refuses it (401). */
  #authenticated(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    result: AuthResult | undefined,
  ): void {
    this.stats.upgradesPending -= 1;
    if (socket.destroyed) return;
    if (this.#closing) return this.#refuse(socket, 'shutting_down');
    if (!result || !result.ok) {
      this.#refuse(socket, 'unauthenticated');
      try {
        this.#handler?.onAuthFailure?.({
          reason: result ? result.reason.replace(/_/g, ' ') : 'authenticator failed',
          ...(socket.remoteAddress === undefined ? {} : { remoteAddress: socket.remoteAddress }),
        });
      } catch {
        // Handlers never throw.
      }
      return;
    }
    this.#wss!.handleUpgrade(req, socket, head, (ws) => {
      const timer = this.#pendingSockets.get(socket);
      if (timer) clearTimeout(timer);
      this.#pendingSockets.delete(socket);
      this.#onConnection(ws, result.identity, socket.remoteAddress);
    });
  }

  #refuse(socket: Socket, reason: UpgradeRejection): void {
    this.stats.upgradesRejected[reason] += 1;
    const [status, text, extra] = REJECTIONS[reason];
    rejectUpgrade(socket, status, text, extra);
  }

  /** A completed upgrade: the session, bound to its identity, and its socket's events. */
  #onConnection(ws: WebSocket, identity: NodeIdentity, remoteAddress: string | undefined): void {
    const conn = this.#newConn(ws, identity, remoteAddress);
    this.#conns.add(conn);
    this.stats.sessionsOpen = this.#conns.size;
    this.stats.sessionsOpened += 1;
    conn.helloTimer = setTimeout(() => {
      if (conn.gotFrame || conn.closed) return;
      this.stats.violations.hello_timeout += 1;
      this.#closeConn(conn, CloseCode.HelloTimeout, undefined, {
        code: 'PLB_WS_HELLO_TIMEOUT',
        message: `no hello within ${this.limits.helloTimeoutMs} ms`,
      });
    }, this.limits.helloTimeoutMs);
    conn.helloTimer.unref();
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onFrame(conn, data, isBinary));
    ws.on('error', (error: Error & { code?: string }) => this.#onSocketError(conn, error));
    ws.on('close', (code: number, reason: Buffer) => {
      this.#finish(conn, code, reason.toString('utf8'));
    });
    try {
      this.#handler?.onOpen(conn.session);
    } catch {
      // Handlers never throw.
    }
  }

  #newConn(ws: WebSocket, identity: NodeIdentity, remoteAddress: string | undefined): Conn {
    // eslint-disable-next-line prefer-const
    let conn: Conn;
    const session: DriftSession = {
      id: randomUUID(),
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
      close: (code, reason) => {
        this.#closeConn(conn, code, reason);
      },
    };
    const { messagesPerSecond, messageBurst } = this.limits;
    conn = {
      ws,
      session,
      identity,
      bucket: new TokenBucket(messagesPerSecond, messageBurst, this.#now()),
      alive: true,
      gotFrame: false,
      closeCode: undefined,
      helloTimer: undefined,
      killTimer: undefined,
      closed: false,
    };
    return conn;
  }

  /** A frame from the peer: the rate limit (4429), text only (4400), then the handler. */
  #onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closed || conn.closeCode !== undefined) return;
    conn.alive = true;
    if (conn.bucket.take(this.#now()) > 0) {
      this.stats.violations.rate_limited += 1;
      this.#closeConn(conn, CloseCode.RateLimited, undefined, {
        code: 'PLB_WS_RATE_LIMITED',
        message: `more than ${this.limits.messagesPerSecond} messages per second`,
      });
      return;
    }
    if (isBinary) {
      this.stats.violations.binary_frame += 1;
      this.#closeConn(conn, CloseCode.Malformed, undefined, {
        code: 'PLB_DRIFT_MALFORMED',
        message: 'drift frames are JSON text frames',
      });
      return;
    }
    this.stats.framesReceived += 1;
    if (!conn.gotFrame) {
      conn.gotFrame = true;
      if (conn.helloTimer) clearTimeout(conn.helloTimer);
      conn.helloTimer = undefined;
    }
    const text = frameText(data);
    try {
      this.#handler?.onMessage(conn.session, text);
    } catch {
      // Handlers never throw.
    }
  }

  #onSocketError(conn: Conn, error: Error & { code?: string }): void {
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.stats.violations.frame_too_big += 1;
      conn.closeCode ??= CloseCode.FrameTooBig;
    } else {
      this.stats.violations.protocol_error += 1;
    }
    // ws closes the socket itself after a protocol error; make sure it goes.
    if (!conn.killTimer) {
      const ws = conn.ws;
      conn.killTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      conn.killTimer.unref();
    }
  }

  /** This side closes a session: an optional error frame, the close frame, a kill timer. */
  #closeConn(
    conn: Conn,
    code: number,
    reason?: string,
    error?: { code: string; message: string },
  ): void {
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
  }

  /** The socket closed: the session ends, reported with the code this side decided if any. */
  #finish(conn: Conn, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    if (conn.killTimer) clearTimeout(conn.killTimer);
    this.#conns.delete(conn);
    this.stats.sessionsOpen = this.#conns.size;
    const reported = conn.closeCode ?? code;
    this.stats.close(reported);
    try {
      this.#handler?.onClose(
        conn.session,
        reported,
        conn.closeCode !== undefined ? (closeReason[reported] ?? reason) : reason,
      );
    } catch {
      // Handlers never throw; a faulty one must not take the transport down.
    }
    if (this.#conns.size === 0 && this.#allClosed) this.#allClosed();
  }
}

/** The HTTP answer to each refused upgrade: status, reason phrase, extra headers. */
const REJECTIONS: Readonly<Record<UpgradeRejection, readonly [number, string, string[]]>> = {
  unauthenticated: [401, 'Unauthorized', ['WWW-Authenticate: Bearer']],
  capacity: [503, 'Service Unavailable', ['Retry-After: 5']],
  shutting_down: [503, 'Service Unavailable', ['Retry-After: 1']],
  not_found: [404, 'Not Found', []],
  bad_request: [400, 'Bad Request', []],
};

/** What the authenticator is told of an upgrade request. */
function upgradeInfo(req: IncomingMessage, socket: Socket): UpgradeRequestInfo {
  const tlsSocket = socket as Partial<TLSSocket>;
  return {
    headers: req.headers,
    remoteAddress: socket.remoteAddress,
    tlsAuthorized: tlsSocket.authorized === true,
    peerCertificate:
      typeof tlsSocket.getPeerCertificate === 'function'
        ? tlsSocket.getPeerCertificate(false)
        : undefined,
  };
}

/** A plain HTTP request to a server the transport owns: 426 Upgrade Required. */
function answerPlainRequest(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ error: 'Upgrade Required' });
  res.writeHead(426, {
    Connection: 'Upgrade, close',
    Upgrade: 'websocket',
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
