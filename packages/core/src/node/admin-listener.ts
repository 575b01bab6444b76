import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import { adminFastPathOf, type AdminHandler } from '../admin/handler.js';
import type { AdminRequestContext, ClientCertificateInfo } from '../admin/auth.js';
import { bodyBytesOf, SECURITY_HEADERS } from '../admin/responses.js';
import { uriSubjectAltNames } from './subject-alt-name.js';
import { guardConnections } from './connection-guard.js';

/**
 * TLS settings of the admin listener (PEM strings or buffers).
 *
 * @public
 */
export interface AdminListenerTlsOptions {
  /** The server's private key, PEM. */
  readonly key: string | Buffer;
  /** The server's certificate chain, PEM. */
  readonly cert: string | Buffer;
  /** CA certificates client certificates must chain to (mTLS). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * `none`: no client certificates. `optional` (default when `ca` is set): asked for; a missing,
   * unverified or expired one is passed to the handler as unverified (answered 401 unless a token
   * authenticates). `required`: the TLS handshake fails without a valid one.
   */
  readonly clientCertificates?: 'none' | 'optional' | 'required';
  /** Lowest TLS version. Default `TLSv1.2`. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/**
 * Options for {@link startAdminListener}.
 *
 * @public
 */
export interface AdminListenerOptions {
  /** The handler to serve, usually from `createAdminHandler`. */
  readonly handler: AdminHandler;
  /** Bind address. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; `0` picks a free one. Default `0`. */
  readonly port?: number;
  /** Serves HTTPS with these settings. Absent: plain HTTP, which only a loopback bind allows by default. */
  readonly tls?: AdminListenerTlsOptions;
  /** Allow a non-loopback bind without TLS. Default `false`: such a bind is refused. */
  readonly allowInsecureBind?: boolean;
  /** Largest request head (request line and headers) in bytes. Default 8192; more answers 431. */
  readonly maxHeaderSize?: number;
  /** Largest request body accepted (admin routes read none). Default 0; more answers 413. */
  readonly maxBodyBytes?: number;
  /**
   * Most simultaneous connections. Default 256. Past it, the oldest connection without a request
   * in progress is closed to make room (see {@link guardConnections}).
   */
  readonly maxConnections?: number;
  /** Most simultaneous connections from one client address. Default 32. */
  readonly maxConnectionsPerClient?: number;
  /**
   * Time a connection may stay without a complete request head (silent since it connected, or
   * idle after a response) before it is closed. Default 5 000 ms.
   */
  readonly idleTimeoutMs?: number;
  /** Time to receive the request head. Default 10 000 ms. */
  readonly headersTimeoutMs?: number;
  /** Time to receive a whole request. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Idle keep-alive time. Default 5 000 ms. */
  readonly keepAliveTimeoutMs?: number;
  /** Closes the listener (gracefully) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * A running admin listener.
 *
 * @public
 */
export interface AdminListener {
  /** `http://127.0.0.1:port` or `https://…`. */
  readonly url: string;
  /** The address actually bound (such as `127.0.0.1` or `::1`). */
  readonly host: string;
  /** The port actually bound (the one picked when `0` was asked for). */
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs` (default 5 000), then closes. */
  close(options?: { readonly graceMs?: number }): Promise<void>;
}

/**
 * Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0'); // false
 * ```
 * @public
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) return h.slice(7).startsWith('127.');
  return false;
}

const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * Whether a request target is a plain origin-form path the admin routes can match: no dot
 * segments, no percent-encoding, no backslashes, no empty segments.
 *
 * @internal
 */
export function isCanonicalTarget(target: string): boolean {
  if (!target.startsWith('/')) return false;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path.includes('%') || path.includes('\\') || path.includes('//')) return false;
  if (target.includes('#')) return false;
  // A "." or ".." segment.
  if (path.includes('/./') || path.includes('/../')) return false;
  return !path.endsWith('/.') && !path.endsWith('/..');
}

function writeRaw(
  socket: Duplex,
  status: number,
  reason: string,
  code: string,
  message: string,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  const headers = Object.entries({
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${headers}\r\n${body}`);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}

/**
 * The value of header `name` (lowercase) in a request's raw header list; repeated fields are
 * joined with `", "` like the Fetch API's `Headers.get`. `null` when absent.
 *
 * @internal
 */
export function rawHeader(raw: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = raw[i]!;
    if (field.length === name.length && field.toLowerCase() === name) {
      value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
    }
  }
  return value;
}

/**
 * The body length a request declares: its `Content-Length` (0 without one), `Infinity` with a
 * `Transfer-Encoding`, `NaN` for a malformed or repeated length.
 *
 * @internal
 */
export function declaredBodyLength(raw: readonly string[]): number {
  let length: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = raw[i]!;
    if (field.length === 17 && field.toLowerCase() === 'transfer-encoding') return Infinity;
    if (field.length === 14 && field.toLowerCase() === 'content-length') {
      if (length !== null) return Number.NaN;
      length = raw[i + 1]!;
    }
  }
  if (length === null) return 0;
  return /^\d{1,15}$/.test(length.trim()) ? Number(length.trim()) : Number.NaN;
}

const certificates = new WeakMap<Socket, ClientCertificateInfo | null>();

function clientCertificate(socket: Socket): ClientCertificateInfo | undefined {
  const known = certificates.get(socket);
  if (known !== undefined) return known ?? undefined;
  const tls = socket as TLSSocket;
  let info: ClientCertificateInfo | null = null;
  const peer = tls.getPeerCertificate?.(false);
  if (peer !== undefined && peer !== null && Object.keys(peer).length > 0) {
    const error = tls.authorizationError;
    info = {
      verified: tls.authorized === true,
      uris: uriSubjectAltNames(peer.subjectaltname),
      ...(error === undefined || error === null
        ? {}
        : { error: String((error as Error).message ?? error) }),
      ...(peer.fingerprint256 ? { fingerprint256: peer.fingerprint256 } : {}),
    };
  }
  certificates.set(socket, info);
  return info ?? undefined;
}

async function writeResponse(
  res: http.ServerResponse,
  response: Response,
  head: boolean,
): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const bytes = bodyBytesOf(response);
  if (bytes !== undefined || head || response.body === null) {
    res.writeHead(response.status, headers);
    res.end(head || bytes === undefined ? undefined : bytes);
    return;
  }
  res.writeHead(response.status, headers);
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await once(res, 'drain');
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/**
 * Starts the admin listener: its own port, separate from the gateway's public listener, bound to
 * `127.0.0.1` by default. A non-loopback bind is refused unless TLS is configured or
 * `allowInsecureBind: true` is given. With `tls.ca` the listener asks for client certificates,
 * verifies them against that CA and hands the handler their URI SANs (the SPIFFE ID).
 *
 * Answers it gives itself, before the handler: 431 for a request head over `maxHeaderSize`, 400
 * for an unparsable request, 404 for a non-canonical path (dot segments, percent-encoding,
 * backslashes), 405 for `CONNECT`/`TRACE`/`TRACK`, 413 for a body over `maxBodyBytes`. All are
 * JSON with the admin security headers.
 *
 * @example
 * ```ts
 * import { createAdminHandler } from '@plumbline/core/admin';
 * import { startAdminListener } from '@plumbline/core/node';
 * const admin = await startAdminListener({ handler: createAdminHandler({ source: registry, auth }), port: 9901 });
 * console.log(admin.url); // http://127.0.0.1:9901
 * process.on('SIGTERM', () => void admin.close());
 * ```
 * @throws {@link PlumblineError} `PLB_ADMIN_INSECURE_BIND` for a non-loopback host without TLS;
 * `PLB_ADMIN_CONFIG_INVALID` for malformed options; `PLB_ADMIN_LISTEN_FAILED` when the port
 * cannot be bound (in use, permission).
 * @public
 */
export async function startAdminListener(options: AdminListenerOptions): Promise<AdminListener> {
  const config = listenerConfig(options);
  const server = createAdminServer(config);
  const state: ListenerState = { origin: '', shuttingDown: false };
  answerUnparsedRequests(server);
  server.on('request', requestListener(server, config, state));
  const bound = await listen(server, config.host, config.port);
  const authority = isIP(bound.host) === 6 ? `[${bound.host}]` : bound.host;
  state.origin = `${config.tls === undefined ? 'http' : 'https'}://${authority}:${bound.port}`;
  const close = closer(server, state);
  if (options.signal !== undefined) {
    if (options.signal.aborted) await close();
    else options.signal.addEventListener('abort', () => void close(), { once: true });
  }
  return { url: state.origin, host: bound.host, port: bound.port, close };
}

/** The listener's options, checked, with their defaults. */
interface ListenerConfig {
  readonly handler: AdminHandler;
  readonly host: string;
  readonly port: number;
  readonly tls: AdminListenerTlsOptions | undefined;
  readonly clientCerts: 'none' | 'optional' | 'required';
  readonly maxHeaderSize: number;
  readonly maxBodyBytes: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly idleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/** What the request listener and `close` share: the origin once bound, and whether closing. */
interface ListenerState {
  origin: string;
  shuttingDown: boolean;
}

function listenerConfig(options: AdminListenerOptions): ListenerConfig {
  const code = 'PLB_ADMIN_CONFIG_INVALID';
  if (typeof options?.handler !== 'function') {
    throw new PlumblineError(code, 'startAdminListener needs a handler');
  }
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PlumblineError(code, 'port must be an integer from 0 to 65535');
  }
  const tls = options.tls;
  if (!isLoopbackHost(host) && tls === undefined && options.allowInsecureBind !== true) {
    throw new PlumblineError(
      'PLB_ADMIN_INSECURE_BIND',
      `refusing to serve the admin endpoint on non-loopback address ${host} without TLS (configure tls, or pass allowInsecureBind: true)`,
      { details: { host } },
    );
  }
  const limits = {
    maxHeaderSize: limitOption(options.maxHeaderSize, {
      name: 'maxHeaderSize',
      code,
      fallback: 8192,
      min: 1024,
    }),
    maxBodyBytes: limitOption(options.maxBodyBytes, {
      name: 'maxBodyBytes',
      code,
      fallback: 0,
      min: 0,
    }),
    maxConnections: limitOption(options.maxConnections, {
      name: 'maxConnections',
      code,
      fallback: 256,
    }),
    headersTimeoutMs: limitOption(options.headersTimeoutMs, {
      name: 'headersTimeoutMs',
      code,
      fallback: 10_000,
    }),
    requestTimeoutMs: limitOption(options.requestTimeoutMs, {
      name: 'requestTimeoutMs',
      code,
      fallback: 30_000,
    }),
    keepAliveTimeoutMs: limitOption(options.keepAliveTimeoutMs, {
      name: 'keepAliveTimeoutMs',
      code,
      fallback: 5_000,
    }),
  };
  const clientCerts = tls?.clientCertificates ?? (tls?.ca === undefined ? 'none' : 'optional');
  if (clientCerts !== 'none' && tls?.ca === undefined) {
    throw new PlumblineError(code, 'client certificates need tls.ca');
  }
  return {
    handler: options.handler,
    host,
    port,
    tls,
    clientCerts,
    ...limits,
    maxConnectionsPerClient: limitOption(options.maxConnectionsPerClient, {
      name: 'maxConnectionsPerClient',
      code,
      fallback: 32,
    }),
    idleTimeoutMs: limitOption(options.idleTimeoutMs, {
      name: 'idleTimeoutMs',
      code,
      fallback: 5_000,
    }),
  };
}

/** The HTTP(S) server with its limits, its connections guarded. */
function createAdminServer(config: ListenerConfig): http.Server {
  const { tls, clientCerts, headersTimeoutMs, requestTimeoutMs } = config;
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: config.maxHeaderSize,
    headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Check the head and request deadlines often enough for short timeouts to hold.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 2))),
    // The handler never reads Host (the origin is the bound address), so a request without one
    // is answered like any other.
    requireHostHeader: false,
  };
  const server =
    tls === undefined
      ? http.createServer(serverOptions)
      : https.createServer({
          ...serverOptions,
          key: tls.key,
          cert: tls.cert,
          ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | (string | Buffer)[] }),
          requestCert: clientCerts !== 'none',
          rejectUnauthorized: clientCerts === 'required',
          minVersion: tls.minVersion ?? 'TLSv1.2',
        });
  // Not server.maxConnections: it refuses new connections once silent ones fill the slots.
  guardConnections(server, {
    maxConnections: config.maxConnections,
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    idleTimeoutMs: config.idleTimeoutMs,
  });
  return server;
}

/** Answers requests node:http refuses before they reach the request listener (431, 408, 400, 405). */
function answerUnparsedRequests(server: http.Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      writeRaw(
        socket,
        431,
        'Request Header Fields Too Large',
        'PLB_ADMIN_HEADERS_TOO_LARGE',
        'the request head is too large',
      );
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      writeRaw(socket, 408, 'Request Timeout', 'PLB_ADMIN_TIMEOUT', 'the request took too long');
    } else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      socket.destroy();
    } else {
      writeRaw(
        socket,
        400,
        'Bad Request',
        'PLB_ADMIN_BAD_REQUEST',
        'the request could not be parsed',
      );
    }
  });
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    writeRaw(
      socket,
      405,
      'Method Not Allowed',
      'PLB_ADMIN_METHOD_NOT_ALLOWED',
      'CONNECT is not allowed',
    );
  });
  server.on('tlsClientError', (_error: Error, socket: Duplex) => {
    socket.destroy();
  });
}

/** What the handler learns of a connection does not change while it lasts: built once. */
function connectionContexts(config: ListenerConfig): (socket: Socket) => AdminRequestContext {
  const contexts = new WeakMap<Socket, AdminRequestContext>();
  return (socket) => {
    let context = contexts.get(socket);
    if (context === undefined) {
      const cert = config.clientCerts === 'none' ? undefined : clientCertificate(socket);
      const remoteAddress = socket.remoteAddress;
      context = {
        ...(remoteAddress === undefined ? {} : { remoteAddress }),
        ...(cert === undefined ? {} : { clientCertificate: cert }),
        connection: socket,
      };
      contexts.set(socket, context);
    }
    return context;
  };
}

/**
 * The request listener: the listener's own refusals (413, 405, 404), then the handler — through
 * its fast path when it has one, else through WHATWG `Request`/`Response`.
 */
function requestListener(
  server: http.Server,
  config: ListenerConfig,
  state: ListenerState,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { handler, maxBodyBytes } = config;
  const fastPath = adminFastPathOf(handler);
  const contextOf = connectionContexts(config);
  return (req, res) => {
    const target = req.url ?? '';
    const method = req.method ?? 'GET';
    // Headers are read straight from rawHeaders: building req.headers or req.headersDistinct
    // for every request costs more than the admin handler itself.
    const raw = req.rawHeaders;
    if (!(declaredBodyLength(raw) <= maxBodyBytes)) {
      res.shouldKeepAlive = false;
      sendJson(res, 413, 'PLB_ADMIN_BODY_TOO_LARGE', 'admin requests carry no body', {
        connection: 'close',
      });
      req.resume();
      return;
    }
    // A body within maxBodyBytes is discarded by node:http once the response is sent.
    if (FORBIDDEN_METHODS.has(method)) {
      sendJson(res, 405, 'PLB_ADMIN_METHOD_NOT_ALLOWED', 'this method is not allowed', {
        allow: 'GET, HEAD',
      });
      return;
    }
    if (!isCanonicalTarget(target)) {
      sendJson(res, 404, 'PLB_ADMIN_NOT_FOUND', 'no such admin resource');
      return;
    }
    const context = contextOf(req.socket);
    if (state.shuttingDown) res.shouldKeepAlive = false;
    if (fastPath !== undefined) {
      // The admin handler's own core: same answers, without building WHATWG objects.
      const q = target.indexOf('?');
      const result = fastPath(
        {
          method,
          pathname: q < 0 ? target : target.slice(0, q),
          search: q < 0 ? '' : target.slice(q),
          urlLength: state.origin.length + target.length,
          header: (name) => rawHeader(raw, name),
        },
        context,
      );
      res.writeHead(result.status, result.headers);
      res.end(method === 'HEAD' ? undefined : result.body);
      if (state.shuttingDown) res.on('finish', () => server.closeIdleConnections());
      return;
    }
    answerThroughFetchApi(server, handler, state, { req, res, target, method, context });
  };
}

/** Hands a request to `handler` as a WHATWG `Request` and writes its `Response`. */
function answerThroughFetchApi(
  server: http.Server,
  handler: AdminHandler,
  state: ListenerState,
  exchange: {
    readonly req: http.IncomingMessage;
    readonly res: http.ServerResponse;
    readonly target: string;
    readonly method: string;
    readonly context: AdminRequestContext;
  },
): void {
  const { req, res, target, method } = exchange;
  const raw = req.rawHeaders;
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header the Fetch API refuses is dropped.
    }
  }
  let request: Request;
  try {
    request = new Request(state.origin + target, { method, headers });
  } catch {
    sendJson(res, 400, 'PLB_ADMIN_BAD_REQUEST', 'the request could not be parsed');
    return;
  }
  handler(request, exchange.context)
    .then((response) => writeResponse(res, response, method === 'HEAD'))
    .then(() => {
      if (state.shuttingDown) server.closeIdleConnections();
    })
    .catch(() => {
      if (!res.headersSent) sendJson(res, 500, 'PLB_INTERNAL', 'internal error');
      else res.destroy();
    });
}

/** Binds the server: the address actually bound, or `PLB_ADMIN_LISTEN_FAILED`. */
async function listen(
  server: http.Server,
  host: string,
  port: number,
): Promise<{ host: string; port: number }> {
  try {
    server.listen({ host, port });
    await once(server, 'listening');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PlumblineError(
      'PLB_ADMIN_LISTEN_FAILED',
      `cannot listen on ${host}:${port}${code === undefined ? '' : ` (${code})`}`,
      { cause: error, details: { host, port } },
    );
  }
  const address = server.address();
  if (typeof address !== 'object' || address === null) return { host, port };
  return { host: address.address, port: address.port };
}

/** `close`: stops accepting, lets requests in flight finish for `graceMs`, then drops the rest. */
function closer(
  server: http.Server,
  state: ListenerState,
): (closeOptions?: { readonly graceMs?: number }) => Promise<void> {
  let closing: Promise<void> | undefined;
  return (closeOptions = {}) => {
    state.shuttingDown = true;
    closing ??= new Promise<void>((resolve) => {
      const grace = closeOptions.graceMs ?? 5_000;
      const timer = setTimeout(() => server.closeAllConnections(), grace);
      timer.unref?.();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
}
