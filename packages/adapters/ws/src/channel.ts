import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import WebSocket from 'ws';
import { limitOption, PlumblineError } from '@plumbline/core';
import type { DriftChannel, DriftConnection, DriftConnectionHandler } from '@plumbline/core/drift';
import { frameText } from './frame-text.js';

/**
 * Credentials a data plane presents on the WebSocket upgrade.
 * With `tokenFile` the file is read again on every connection attempt, so a rotated token is
 * picked up without a restart. With mTLS, pass the client certificate in `tls` instead.
 *
 * @public
 */
export type DataPlaneCredentials =
  | { readonly token: string }
  | { readonly tokenFile: string }
  | { readonly getToken: () => string | Promise<string> }
  | { readonly mtls: true };

/**
 * TLS options of the data-plane client: a CA to trust and, for mTLS, the client certificate.
 *
 * @public
 */
export type DataPlaneTlsOptions = Pick<
  SecureContextOptions,
  'ca' | 'cert' | 'key' | 'passphrase' | 'pfx'
> & {
  /** Server name for SNI and certificate checks (default: the URL's host). */
  readonly servername?: string;
  /** Whether to verify the server certificate (default true; never turn off in production). */
  readonly rejectUnauthorized?: boolean;
};

/**
 * A data-plane WebSocket connection: core's `DriftConnection` plus an abrupt `terminate`.
 *
 * @public
 */
export interface WsConnection extends DriftConnection {
  /** Drops the connection without a close handshake (the peer sees 1006). */
  terminate(): void;
}

/**
 * Options of {@link createWsChannel}.
 *
 * @public
 */
export interface WsChannelOptions {
  /** `ws://` or `wss://` URL of the control plane's data-plane endpoint. */
  readonly url: string;
  /** How to authenticate. */
  readonly credentials: DataPlaneCredentials;
  /** TLS options for `wss://`. */
  readonly tls?: DataPlaneTlsOptions;
  /** Time allowed for the TCP, TLS and WebSocket handshakes, in ms (default 10,000). */
  readonly handshakeTimeoutMs?: number;
  /** Largest frame accepted from the control plane, in bytes (default 65,536). */
  readonly maxFrameBytes?: number;
  /** Longest token read from `tokenFile`, in bytes (default 4096). */
  readonly maxTokenBytes?: number;
}

/**
 * Reads a token file: the plain token and a trailing newline (docs/guides/control-plane-and-agent.md "Tokens"), at most `maxBytes`.
 *
 * @example
 * ```ts
 * import { readTokenFile } from '@plumbline/ws';
 * const token = await readTokenFile('/etc/plumbline/node.token');
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_TOKEN_FILE_INVALID` when it is empty, too large
 *   or holds more than one line; `PLB_IO` when it cannot be read.
 * @public
 */
export async function readTokenFile(path: string, maxBytes = 4096): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new PlumblineError('PLB_IO', `cannot read token file ${path}`, {
      cause,
      details: { path, errno: (cause as { code?: string }).code },
    });
  }
  if (bytes.length > maxBytes + 2) {
    throw new PlumblineError(
      'PLB_TOKEN_FILE_INVALID',
      `token file ${path} is larger than ${maxBytes} bytes`,
      {
        details: { path, limit: maxBytes },
      },
    );
  }
  const text = bytes.toString('utf8').replace(/\r?\n$/, '');
  if (text.length === 0 || /[\r\n]/.test(text) || /\s/.test(text)) {
    throw new PlumblineError(
      'PLB_TOKEN_FILE_INVALID',
      `token file ${path} must hold one token without spaces and a trailing newline`,
      { details: { path } },
    );
  }
  return text;
}

/**
 * The data-plane side of the WebSocket drift transport: core's `DriftChannel`. Each `connect`
 * opens one WebSocket with `Authorization: Bearer <token>` (or a client certificate);
 * an HTTP 401 answer rejects with `PLB_DRIFT_UNAUTHENTICATED`, anything else that fails with
 * `PLB_DRIFT_CONNECT`. Reconnecting is the caller's job (core's `DataPlaneReporter` does it
 * with exponential backoff and full jitter); {@link connectDataPlane} wires both.
 *
 * @example
 * ```ts
 * import { createWsChannel } from '@plumbline/ws';
 * const channel = createWsChannel({ url: 'wss://cp.example:8443/ws/data-plane', credentials: { tokenFile: '/run/secrets/node-token' } });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_URL_INVALID` for a URL that is not
 *   `ws://` or `wss://` or carries credentials; `PLB_WS_LIMIT_INVALID` for a limit that is not a
 *   positive finite number.
 * @public
 */
export function createWsChannel(options: WsChannelOptions): DriftChannel {
  checkControlPlaneUrl(options.url);
  const rule = { code: 'PLB_WS_LIMIT_INVALID', integer: false } as const;
  const limits: ChannelLimits = {
    handshakeTimeoutMs: limitOption(options.handshakeTimeoutMs, {
      ...rule,
      name: 'handshakeTimeoutMs',
      fallback: 10_000,
    }),
    maxFrameBytes: limitOption(options.maxFrameBytes, {
      ...rule,
      name: 'maxFrameBytes',
      fallback: 64 * 1024,
    }),
  };
  const maxTokenBytes = limitOption(options.maxTokenBytes, {
    ...rule,
    name: 'maxTokenBytes',
    fallback: 4096,
  });
  const token = tokenSource(options.credentials, maxTokenBytes);
  return {
    async connect(handler: DriftConnectionHandler, signal?: AbortSignal): Promise<DriftConnection> {
      if (signal?.aborted) {
        throw new PlumblineError('PLB_DRIFT_CONNECT', 'connection attempt aborted', {
          cause: signal.reason,
        });
      }
      let bearer: string | undefined;
      try {
        bearer = await token();
      } catch (cause) {
        throw new PlumblineError('PLB_DRIFT_CONNECT', 'cannot read the data-plane credentials', {
          cause,
          ...(PlumblineError.is(cause) ? { details: { reason: cause.code } } : {}),
        });
      }
      return openConnection(options, limits, bearer, handler, signal);
    },
  };
}

/** A `ws://` or `wss://` URL without credentials in it, or `PLB_WS_URL_INVALID`. */
function checkControlPlaneUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PlumblineError('PLB_WS_URL_INVALID', 'the control-plane URL is not a valid URL');
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new PlumblineError(
      'PLB_WS_URL_INVALID',
      'the control-plane URL must be ws:// or wss://',
      {
        details: { protocol: parsed.protocol },
      },
    );
  }
  if (parsed.username || parsed.password) {
    throw new PlumblineError(
      'PLB_WS_URL_INVALID',
      'put credentials in a token file, not in the control-plane URL',
    );
  }
}

/** The bearer token of each attempt (read again each time), or `undefined` for mTLS. */
function tokenSource(
  credentials: DataPlaneCredentials,
  maxTokenBytes: number,
): () => Promise<string | undefined> {
  return async () => {
    const c = credentials;
    if ('token' in c) return c.token;
    if ('tokenFile' in c) return readTokenFile(c.tokenFile, maxTokenBytes);
    if ('getToken' in c) return c.getToken();
    return undefined;
  };
}

/** The channel's checked limits. */
interface ChannelLimits {
  readonly handshakeTimeoutMs: number;
  readonly maxFrameBytes: number;
}

/** One connection attempt: resolves once the WebSocket is open, rejects with a coded error. */
function openConnection(
  options: WsChannelOptions,
  limits: ChannelLimits,
  bearer: string | undefined,
  handler: DriftConnectionHandler,
  signal: AbortSignal | undefined,
): Promise<DriftConnection> {
  return new Promise<DriftConnection>((resolve, reject) => {
    const ws = new WebSocket(options.url, {
      headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
      handshakeTimeout: limits.handshakeTimeoutMs,
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      followRedirects: false,
      ...(options.tls ?? {}),
    });
    let opened = false;
    let settled = false;
    const fail = (error: PlumblineError): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    const onAbort = (): void => {
      fail(
        new PlumblineError('PLB_DRIFT_CONNECT', 'connection attempt aborted', {
          cause: signal?.reason,
        }),
      );
      ws.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      fail(upgradeRefused(res));
      ws.terminate();
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (!opened) fail(connectFailed(error));
    });
    ws.on('open', () => {
      opened = true;
      if (settled) {
        ws.terminate();
        return;
      }
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(wsConnection(ws, handler));
    });
    ws.on('message', (data, isBinary) => {
      if (!opened || isBinary) return;
      try {
        handler.onMessage(frameText(data));
      } catch {
        // Handlers never throw.
      }
    });
    ws.on('close', () => {
      if (!opened) {
        fail(new PlumblineError('PLB_DRIFT_CONNECT', 'the connection closed during the handshake'));
      }
    });
  });
}

/** The error for an HTTP answer instead of the upgrade: 401/403 are refused credentials. */
function upgradeRefused(res: IncomingMessage): PlumblineError {
  const status = res.statusCode ?? 0;
  if (status === 401 || status === 403) {
    return new PlumblineError(
      'PLB_DRIFT_UNAUTHENTICATED',
      'the control plane refused the credentials',
      {
        details: { status },
      },
    );
  }
  return new PlumblineError('PLB_DRIFT_CONNECT', `the control plane answered HTTP ${status}`, {
    details: { status, retry_after: res.headers['retry-after'] },
  });
}

function connectFailed(error: Error & { code?: string }): PlumblineError {
  return new PlumblineError(
    'PLB_DRIFT_CONNECT',
    `cannot connect to the control plane: ${error.message}`,
    {
      cause: error,
      ...(error.code ? { details: { errno: error.code } } : {}),
    },
  );
}

/** The open socket as a `WsConnection`; its close is reported to `handler` once. */
function wsConnection(ws: WebSocket, handler: DriftConnectionHandler): WsConnection {
  let closed = false;
  ws.on('close', (code, reason) => {
    if (closed) return;
    closed = true;
    try {
      handler.onClose(code, reason.toString('utf8'));
    } catch {
      // Handlers never throw.
    }
  });
  return {
    terminate() {
      ws.terminate();
    },
    send(text) {
      if (!closed && ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    close(code = 1000, reason = '') {
      if (closed || ws.readyState >= WebSocket.CLOSING) return;
      try {
        ws.close(code, reason.slice(0, 123));
      } catch {
        ws.terminate();
      }
      const kill = setTimeout(() => ws.terminate(), 5000);
      kill.unref();
    },
  };
}
