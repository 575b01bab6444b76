/**
 * The control-plane side of a drift transport an integrator wrote over plain HTTP: the control
 * plane pushes frames to a data plane as Server-Sent Events (`GET /drift/events`), and the data
 * plane sends its frames as HTTP POSTs (`POST /drift/sessions/<id>/frames`, one frame each).
 * Everything above the transport (hello checks, `seq`, welcome, the fleet state) comes from core:
 * this file only authenticates, moves text frames in order, enforces the frame limit and reports
 * closes, which is what `describeTransportConformance` checks.
 *
 * Wire format (all requests carry `Authorization: Bearer <node token>`):
 * - `GET /drift/events` → `200 text/event-stream`; the first event is `event: open` with
 *   `data: {"session":"<id>"}`, then `event: frame` per control-plane frame (multi-line `data:`
 *   for text with newlines) and at most one `event: close` with `data: {"code":N,"reason":"…"}`.
 *   Wrong credentials get `401` and never become a session.
 * - `POST /drift/sessions/<id>/frames` with the frame as the body → `204`; `413` (and the session
 *   closed with 1009) for a frame larger than `maxFrameBytes`; `410` once the session is closed.
 * - `POST /drift/sessions/<id>/close` with `{"code":N,"reason":"…"}` → `204`.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { PlumblineError } from '@plumbline/core';
import type {
  DriftIdentity,
  DriftSession,
  DriftTransport,
  DriftTransportHandler,
} from '@plumbline/core/drift';

/** Options of {@link createSseTransport}. */
export interface SseTransportOptions {
  /** Plain node tokens and the identity each one authenticates (kept only as SHA-256 hashes). */
  readonly tokens: Readonly<Record<string, DriftIdentity>>;
  /** Largest frame a data plane may POST, in UTF-8 bytes (default 64 KiB). */
  readonly maxFrameBytes?: number;
  /** Largest close request body, in bytes (default 1 KiB). */
  readonly maxCloseBodyBytes?: number;
  /** Listener address (default 127.0.0.1, port 0: a free port). */
  readonly host?: string;
  readonly port?: number;
}

/** The SSE transport: a {@link DriftTransport} with the URL data planes connect to. */
export interface SseTransport extends DriftTransport {
  /** `http://host:port`, known once `start()` resolved. */
  readonly url: string;
}

interface Session extends DriftSession {
  readonly tokenHash: Buffer;
  readonly response: http.ServerResponse;
  closed: boolean;
}

const sha = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function bearer(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice(7);
}

/** Formats one SSE event; `data` may hold newlines (each line becomes a `data:` line). */
export function sseEvent(event: string, data: string): string {
  return `event: ${event}\n${data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

/**
 * Creates the control-plane side of the SSE + POST transport.
 *
 * @example
 * ```ts
 * const transport = createSseTransport({ tokens: { 's3cret': { node_id: 'gw-1', cluster: 'prod', principal: 'token:gw-1' } } });
 * const server = serveDrift({ transport, monitor: await FleetMonitor.create() });
 * await server.start();
 * console.log(transport.url);
 * ```
 * @throws PlumblineError `PLB_DRIFT_INVALID_OPTION` for a non-positive limit.
 */
export function createSseTransport(options: SseTransportOptions): SseTransport {
  const maxFrameBytes = options.maxFrameBytes ?? 64 * 1024;
  const maxCloseBodyBytes = options.maxCloseBodyBytes ?? 1024;
  for (const [name, value] of [
    ['maxFrameBytes', maxFrameBytes],
    ['maxCloseBodyBytes', maxCloseBodyBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new PlumblineError('PLB_DRIFT_INVALID_OPTION', `${name} must be a positive integer`);
    }
  }
  const identities = new Map<string, DriftIdentity>();
  for (const [token, identity] of Object.entries(options.tokens)) {
    identities.set(sha(token).toString('hex'), identity);
  }
  const sessions = new Map<string, Session>();
  let handler: DriftTransportHandler | undefined;
  let stopping = false;
  let url = '';

  const authenticate = (req: http.IncomingMessage) => {
    const token = bearer(req);
    if (token === undefined) return undefined;
    const hash = sha(token);
    const identity = identities.get(hash.toString('hex'));
    return identity === undefined ? undefined : { identity, hash };
  };

  /** Ends a session once: tells the peer (unless it vanished) and reports the close. */
  const finish = (session: Session, code: number, reason: string, notify: boolean): void => {
    if (session.closed) return;
    session.closed = true;
    sessions.delete(session.id);
    if (notify && !session.response.writableEnded) {
      session.response.end(sseEvent('close', JSON.stringify({ code, reason })));
    }
    handler?.onClose(session, code, reason);
  };

  /** Reads a request body up to `limit` bytes; `undefined` when it is larger. */
  const readBody = (req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.destroy();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  };

  const openStream = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const auth = authenticate(req);
    if (auth === undefined) {
      handler?.onAuthFailure?.({
        reason: bearer(req) === undefined ? 'no bearer token' : 'unknown token',
        ...(req.socket.remoteAddress === undefined
          ? {}
          : { remoteAddress: req.socket.remoteAddress }),
      });
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthenticated"}');
      return;
    }
    const id = randomUUID();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    const session: Session = {
      id,
      identity: auth.identity,
      ...(req.socket.remoteAddress === undefined
        ? {}
        : { remoteAddress: req.socket.remoteAddress }),
      tokenHash: auth.hash,
      response: res,
      closed: false,
      send(text: string) {
        if (!session.closed && !res.writableEnded) res.write(sseEvent('frame', text));
      },
      close(code: number, reason = '') {
        finish(session, code, reason.slice(0, 123), true);
      },
    };
    sessions.set(id, session);
    res.write(sseEvent('open', JSON.stringify({ session: id })));
    // The peer went away without a close request: an abrupt close.
    res.on('close', () => finish(session, 1006, '', false));
    handler?.onOpen(session);
  };

  const sessionRequest = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    id: string,
    action: string,
  ): Promise<void> => {
    const session = sessions.get(id);
    const token = bearer(req);
    if (
      session === undefined ||
      token === undefined ||
      !timingSafeEqual(sha(token), session.tokenHash)
    ) {
      // Unknown or closed sessions and foreign credentials look the same to the caller.
      req.resume();
      res.writeHead(410).end();
      return;
    }
    if (action === 'frames') {
      const body = await readBody(req, maxFrameBytes);
      if (body === undefined) {
        res.writeHead(413).end();
        finish(session, 1009, 'frame too big', true);
        return;
      }
      if (session.closed) {
        res.writeHead(410).end();
        return;
      }
      handler?.onMessage(session, body.toString('utf8'));
      res.writeHead(204).end();
      return;
    }
    const body = await readBody(req, maxCloseBodyBytes);
    let code = 1000;
    let reason = '';
    try {
      const parsed = JSON.parse(body?.toString('utf8') ?? '{}') as {
        code?: unknown;
        reason?: unknown;
      };
      if (typeof parsed.code === 'number' && Number.isInteger(parsed.code)) code = parsed.code;
      if (typeof parsed.reason === 'string') reason = parsed.reason.slice(0, 123);
    } catch {
      code = 1000;
    }
    res.writeHead(204).end();
    finish(session, code, reason, true);
  };

  const server = http.createServer((req, res) => {
    if (stopping) {
      req.resume();
      res.writeHead(503, { connection: 'close' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/drift/events') {
      openStream(req, res);
      return;
    }
    const match = /^\/drift\/sessions\/([0-9a-f-]{36})\/(frames|close)$/.exec(path);
    if (req.method === 'POST' && match) {
      sessionRequest(req, res, match[1]!, match[2]!).catch(() => {
        if (!res.headersSent) res.writeHead(400).end();
      });
      return;
    }
    req.resume();
    res.writeHead(404).end();
  });

  return {
    get url() {
      return url;
    },
    async start(h: DriftTransportHandler) {
      handler = h;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
      });
      const address = server.address() as { address: string; port: number };
      url = `http://${address.address}:${address.port}`;
    },
    async close() {
      stopping = true;
      for (const session of [...sessions.values()]) finish(session, 1001, 'shutdown', true);
      server.closeIdleConnections();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
