import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { PlumblineError } from '@plumbline/core';
import type { AuditLogger } from '@plumbline/core/audit';
import { serveDrift, type DriftServer, type FleetMonitor } from '@plumbline/core/drift';
import {
  BARBACANE_DATA_PLANE_PATH,
  createBarbacaneTransport,
  loadBarbacaneCredentials,
  type BarbacaneCredential,
  type BarbacaneTransport,
} from '@plumbline/barbacane';
import type { WsTransportStats } from '@plumbline/ws';
import { logAuditWriteFailed, logRejectedSession, type JsonLogger } from './log.js';

/**
 * The data-plane protocols a control plane serves: `ws` (Plumbline's, the default), `barbacane`
 * (Barbacane's data-plane protocol on `/ws/data-plane`), or `both` on one listener, told apart by
 * path (Plumbline on `/ws/data-plane`, Barbacane on {@link BARBACANE_SHARED_PATH}).
 *
 * @internal
 */
export type DataPlaneProtocol = 'ws' | 'barbacane' | 'both';

/** The data-plane protocols accepted by `--protocol`. @internal */
export const DATA_PLANE_PROTOCOLS: readonly DataPlaneProtocol[] = ['ws', 'barbacane', 'both'];

/**
 * The Barbacane endpoint's path when both protocols share a listener (Barbacane data planes are
 * given the full URL, so any path works for them; Plumbline agents keep `/ws/data-plane`).
 *
 * @internal
 */
export const BARBACANE_SHARED_PATH = '/barbacane/ws/data-plane';

/**
 * Checks a `--protocol` value.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` for another value.
 * @internal
 */
export function parseProtocol(text: string): DataPlaneProtocol {
  if (!(DATA_PLANE_PROTOCOLS as readonly string[]).includes(text)) {
    throw new PlumblineError(
      'PLB_USAGE',
      `--protocol must be ${DATA_PLANE_PROTOCOLS.join(', ')} (got ${JSON.stringify(text.slice(0, 40))})`,
      { details: { key: '--protocol' } },
    );
  }
  return text as DataPlaneProtocol;
}

/**
 * A data-plane listener shared by several WebSocket endpoints, each on its own path. Upgrades
 * on any other path get 404; plain HTTP requests get 426.
 *
 * @internal
 */
export interface SharedDataPlaneListener {
  readonly server: Server;
  readonly tls: boolean;
  close(): Promise<void>;
}

/**
 * Starts a listener that WebSocket endpoints attach to (`server` option), refusing upgrades on
 * any path but `paths`.
 *
 * @internal
 */
export async function listenDataPlane(options: {
  readonly host: string;
  readonly port: number;
  readonly paths: readonly string[];
  readonly tls?: ServerOptions;
}): Promise<SharedDataPlaneListener> {
  const paths = new Set(options.paths);
  const onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    res
      .writeHead(426, { 'content-type': 'text/plain', connection: 'close' })
      .end('WebSocket upgrade required\n');
  };
  const base = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(base, onRequest)
      : createHttpsServer({ ...base, ...options.tls }, onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    let pathname = '';
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      pathname = '';
    }
    if (!paths.has(pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });
  server.on('clientError', (_error, socket: Duplex) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    tls: options.tls !== undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A running Barbacane data-plane endpoint of the control plane.
 *
 * @internal
 */
export interface BarbacaneEndpoint {
  readonly url: string;
  readonly transport: BarbacaneTransport;
  close(): Promise<void>;
}

/**
 * Mounts the Barbacane data-plane protocol on a shared listener, feeding the control plane's
 * monitor (and audit trail). Credentials are the `--barbacane-keys` file or a list.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` without credentials,
 *   `PLB_BARBACANE_CREDENTIALS` for a bad credentials file.
 * @internal
 */
export async function startBarbacaneEndpoint(options: {
  readonly listener: SharedDataPlaneListener;
  readonly path: string;
  readonly monitor: FleetMonitor;
  readonly credentials: readonly BarbacaneCredential[] | string | undefined;
  readonly audit?: AuditLogger;
  readonly logger: JsonLogger;
}): Promise<BarbacaneEndpoint> {
  if (options.credentials === undefined) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--protocol barbacane needs --barbacane-keys FILE (API key hashes of the Barbacane data planes)',
    );
  }
  const credentials =
    typeof options.credentials === 'string'
      ? await loadBarbacaneCredentials(options.credentials)
      : options.credentials;
  const { logger } = options;
  const transport = createBarbacaneTransport({
    credentials,
    monitor: options.monitor,
    server: options.listener.server,
    path: options.path,
  });
  const drift: DriftServer = serveDrift({
    transport,
    monitor: options.monitor,
    ...(options.audit === undefined ? {} : { audit: options.audit }),
    onRejected: (r) => logRejectedSession(logger, r, 'barbacane'),
    onAuditError: (error) => logAuditWriteFailed(logger, error),
    onCollision: (c) =>
      logger.error('two gateways share one name; the connected one keeps it, others are refused', {
        protocol: 'barbacane',
        node_id: c.node_id,
        addresses: c.addresses.join(' '),
      }),
  });
  await drift.start();
  return { url: transport.url, transport, close: () => drift.close() };
}

/**
 * Transport counters of a control plane that serves no Plumbline WebSocket endpoint
 * (`--protocol barbacane`): all zero.
 *
 * @internal
 */
export function emptyWsStats(): WsTransportStats {
  return {
    sessionsOpen: 0,
    upgradesPending: 0,
    sessionsOpened: 0,
    framesReceived: 0,
    upgradesRejected: {
      unauthenticated: 0,
      capacity: 0,
      not_found: 0,
      shutting_down: 0,
      bad_request: 0,
    },
    closes: {},
    violations: {
      frame_too_big: 0,
      rate_limited: 0,
      binary_frame: 0,
      protocol_error: 0,
      handshake_timeout: 0,
      hello_timeout: 0,
      liveness_timeout: 0,
      credential_revoked: 0,
    },
  };
}

export { BARBACANE_DATA_PLANE_PATH };
