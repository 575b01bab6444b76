import { readFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { PlumblineError } from '@plumbline/core';
import { createAuditLogger, type AuditLogger, type AuditSinkBinding } from '@plumbline/core/audit';
import {
  createLogSink,
  FleetMonitor,
  WebhookSink,
  type AlertSink,
  type FleetStore,
} from '@plumbline/core/drift';
import {
  createAuditFileSink,
  createAuditTransparencyLog,
  FileFleetStore,
  guardConnections,
} from '@plumbline/core/node';
import { createKeySigner } from '@plumbline/core/signer';
import {
  anyAuthenticator,
  createControlPlaneServer,
  createMtlsAuthenticator,
  createTokenAuthenticator,
  parseNodeTokens,
  type ControlPlaneLimits,
  type ControlPlaneServer,
  type NodeAuthenticator,
  type NodeTokens,
} from '@plumbline/ws';
import type { BarbacaneCredential } from '@plumbline/barbacane';
import type { CliWritable } from '../io.js';
import { createDashboard } from '../dashboard/index.js';
import { createAdminTokenCheck } from './admin-token.js';
import {
  BARBACANE_DATA_PLANE_PATH,
  BARBACANE_SHARED_PATH,
  emptyWsStats,
  listenDataPlane,
  startBarbacaneEndpoint,
} from './barbacane.js';
import { createFleetApi } from './fleet-api.js';
import { createJsonLogger, type JsonLogger, type LogLevel } from './log.js';
import { renderControlPlaneMetrics } from './metrics.js';
import { hostPort } from './parse.js';

/**
 * Options of {@link startControlPlane}: the programmatic form of `plumbline control-plane`.
 *
 * @public
 */
export interface ControlPlaneOptions {
  /** Data-plane WebSocket listener (default `127.0.0.1`, port 0: a free port). */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** Admin listener for the fleet API, `/metrics` and `/healthz` (default `127.0.0.1`, port 0). */
  readonly adminListen?: { readonly host?: string; readonly port?: number };
  /** Per-node tokens (as hashes), or a path to the `--node-tokens` JSON file. */
  readonly nodeTokens?: NodeTokens | string;
  /** Accept mTLS client certificates with SPIFFE IDs in these trust domains (needs `tls.ca`). */
  readonly mtlsTrustDomains?: readonly string[];
  /** The admin bearer token (the content of `--admin-token-file`, without the newline). */
  readonly adminToken: string;
  /** The fleet store: a `FleetStore`, or the path of a JSON state file (default `plumbline-state.json`). */
  readonly store?: FleetStore | string;
  /** Heartbeat interval announced to data planes, in ms (default 5,000). */
  readonly heartbeatIntervalMs?: number;
  /** Intervals without a heartbeat after which a node is stale (default 3). */
  readonly staleAfterIntervals?: number;
  /** Webhook alerts: URL and HMAC secret. */
  readonly webhook?: { readonly url: string; readonly secret: string };
  /** Audit trail as JSON lines; with `keyPem` a transparency log with signed checkpoints. */
  readonly audit?: { readonly path: string; readonly keyPem?: string };
  /** TLS for the data-plane listener (`wss://`); `ca` enables client certificates (mTLS). */
  readonly tls?: {
    readonly cert: string | Buffer;
    readonly key: string | Buffer;
    readonly ca?: string | Buffer;
    readonly clientAuth?: 'none' | 'optional' | 'require';
  };
  /** WebSocket limits. */
  readonly limits?: Partial<ControlPlaneLimits>;
  /** Where structured JSON logs go (default `process.stderr`). */
  readonly logOutput?: CliWritable;
  /** Log level (default `info`). */
  readonly logLevel?: LogLevel;
  /** Alert sinks added to the webhook (for example a log sink of your own). */
  readonly sinks?: readonly AlertSink[];
  /**
   * Data-plane protocols on the `listen` address: `ws` (Plumbline's, default), `barbacane`
   * (Barbacane's data-plane protocol on `/ws/data-plane`) or `both` (Plumbline on
   * `/ws/data-plane`, Barbacane on `/barbacane/ws/data-plane`).
   */
  readonly protocol?: 'ws' | 'barbacane' | 'both';
  /** Accepted Barbacane API keys (hashes), or the path of the `--barbacane-keys` JSON file. */
  readonly barbacaneKeys?: readonly BarbacaneCredential[] | string;
}

/**
 * A running control plane.
 *
 * @public
 */
export interface RunningControlPlane {
  /** The data-plane endpoint, `ws://host:port/ws/data-plane`. */
  readonly wsUrl: string;
  /** The admin listener, `http://host:port`. */
  readonly adminUrl: string;
  /** The fleet monitor (desired state, nodes, events). */
  readonly monitor: FleetMonitor;
  /** The Plumbline WebSocket server (stats); absent with `protocol: 'barbacane'`. */
  readonly server?: ControlPlaneServer;
  /** The Barbacane data-plane endpoint, with `protocol` `barbacane` or `both`. */
  readonly barbacaneUrl?: string;
  /**
   * Graceful shutdown: closes sessions with 1001, stops the admin listener, flushes the store,
   * the alert sinks and the audit trail. Idempotent.
   */
  close(): Promise<void>;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new PlumblineError('PLB_IO', `cannot read ${what} ${path}`, {
      cause,
      details: { path, errno: (cause as { code?: string }).code },
    });
  }
}

/**
 * Reads and validates a `--node-tokens` file.
 *
 * @throws {@link @plumbline/core#PlumblineError} `PLB_WS_NODE_TOKENS_INVALID` or `PLB_IO`.
 * @internal
 */
export async function readNodeTokensFile(path: string): Promise<NodeTokens> {
  const text = await readText(path, 'node tokens file');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PlumblineError(
      'PLB_WS_NODE_TOKENS_INVALID',
      `node tokens file ${path}: not valid JSON`,
      {
        cause,
        details: { path },
      },
    );
  }
  return parseNodeTokens(value);
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Starts a control plane in this process: the data-plane WebSocket endpoint, the fleet monitor
 * with its store, alert sinks and audit trail, and the admin listener serving the fleet API,
 * `/metrics` and `/healthz`. `plumbline control-plane` is a thin command around it.
 *
 * @example
 * ```ts
 * import { startControlPlane } from '@plumbline/cli';
 * const cp = await startControlPlane({ nodeTokens: 'node-tokens.json', adminToken, store: 'state.json' });
 * console.log(cp.wsUrl, cp.adminUrl);
 * await cp.close();
 * ```
 * @throws {@link @plumbline/core#PlumblineError} for invalid tokens files, keys, limits, or listen errors.
 * @public
 */
export async function startControlPlane(
  options: ControlPlaneOptions,
): Promise<RunningControlPlane> {
  const startedAt = Date.now();
  const logger: JsonLogger = createJsonLogger(options.logOutput ?? process.stderr, {
    component: 'control-plane',
    level: options.logLevel ?? 'info',
  });
  if (options.adminToken.length === 0) {
    throw new PlumblineError('PLB_USAGE', 'an admin token is required (--admin-token-file)');
  }
  const authenticators: NodeAuthenticator[] = [];
  if (options.mtlsTrustDomains && options.mtlsTrustDomains.length > 0) {
    if (!options.tls?.ca) {
      throw new PlumblineError('PLB_USAGE', 'mTLS needs a CA for client certificates (tls.ca)');
    }
    authenticators.push(createMtlsAuthenticator({ trustDomains: options.mtlsTrustDomains }));
  }
  if (options.nodeTokens !== undefined) {
    const tokens =
      typeof options.nodeTokens === 'string'
        ? await readNodeTokensFile(options.nodeTokens)
        : options.nodeTokens;
    authenticators.push(createTokenAuthenticator({ nodes: tokens }));
  }
  const protocol = options.protocol ?? 'ws';
  if (authenticators.length === 0 && protocol !== 'barbacane') {
    throw new PlumblineError(
      'PLB_USAGE',
      'no way to authenticate nodes: give --node-tokens (or mTLS trust domains)',
    );
  }
  const auth = authenticators.length === 1 ? authenticators[0]! : anyAuthenticator(authenticators);

  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        logger.error('shutdown step failed', {
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  };
  try {
    // Audit trail.
    let audit: AuditLogger | undefined;
    if (options.audit) {
      const bindings: AuditSinkBinding[] = [];
      if (options.audit.keyPem !== undefined) {
        const signer = await createKeySigner({ privateKey: options.audit.keyPem });
        bindings.push({
          sink: await createAuditTransparencyLog({
            path: options.audit.path,
            signer,
            onError: (error) =>
              logger.warn('audit checkpoint signing failed', { code: error.code }),
          }),
          delivery: 'must-write',
        });
      } else {
        bindings.push({
          sink: await createAuditFileSink({ path: options.audit.path }),
          delivery: 'must-write',
        });
      }
      audit = createAuditLogger({ source: { component: 'control-plane' }, sinks: bindings });
      const a = audit;
      cleanups.push(() => a.close());
    }

    // Alert sinks.
    const sinks: AlertSink[] = [
      createLogSink({ writable: options.logOutput ?? process.stderr }),
      ...(options.sinks ?? []),
    ];
    if (options.webhook) {
      sinks.push(
        new WebhookSink({
          url: options.webhook.url,
          secret: options.webhook.secret,
          logger: { warn: (message, details) => logger.warn(message, details) },
        }),
      );
    }
    cleanups.push(async () => {
      for (const sink of sinks) await sink.close();
    });

    // Store and monitor.
    const store: FleetStore =
      typeof options.store === 'object'
        ? options.store
        : await FileFleetStore.open({ path: options.store ?? 'plumbline-state.json' });
    cleanups.push(() => store.close());
    const monitor = await FleetMonitor.create({
      store,
      sinks,
      ...(options.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.staleAfterIntervals === undefined
        ? {}
        : { staleAfterIntervals: options.staleAfterIntervals }),
      logger: { warn: (message, details) => logger.warn(message, details) },
      // The monitor writes the fleet's audit events: desired state, expected nodes, node state
      // changes (with drift_duration_ms), drift detected and resolved.
      ...(audit === undefined ? {} : { audit }),
    });
    cleanups.push(() => monitor.close());
    // Data-plane endpoints: Plumbline's protocol, Barbacane's, or both on one listener by path.
    const wsHost = options.listen?.host ?? '127.0.0.1';
    const tls = options.tls;
    const serverTls = tls
      ? {
          cert: tls.cert,
          key: tls.key,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          requestCert: tls.ca !== undefined && tls.clientAuth !== 'none',
          rejectUnauthorized: tls.clientAuth === 'require',
          minVersion: 'TLSv1.2' as const,
        }
      : undefined;
    const barbacanePath = protocol === 'both' ? BARBACANE_SHARED_PATH : BARBACANE_DATA_PLANE_PATH;
    const shared =
      protocol === 'ws'
        ? undefined
        : await listenDataPlane({
            host: wsHost,
            port: options.listen?.port ?? 0,
            paths:
              protocol === 'both' ? [BARBACANE_DATA_PLANE_PATH, barbacanePath] : [barbacanePath],
            ...(serverTls ? { tls: serverTls } : {}),
          });
    if (shared) cleanups.push(() => shared.close());
    const server =
      protocol === 'barbacane'
        ? undefined
        : await createControlPlaneServer({
            monitor,
            auth,
            ...(shared
              ? { server: shared.server }
              : {
                  host: wsHost,
                  port: options.listen?.port ?? 0,
                  ...(serverTls ? { tls: serverTls } : {}),
                }),
            ...(options.limits === undefined ? {} : { limits: options.limits }),
            ...(audit === undefined ? {} : { audit }),
            onRejected: (r) =>
              logger.warn('session rejected', {
                code: r.code,
                reason: r.reason,
                ...(r.node_id === undefined ? {} : { node_id: r.node_id }),
                ...(r.remoteAddress === undefined ? {} : { remote_address: r.remoteAddress }),
              }),
            onError: (error) =>
              logger.error('audit write failed', { message: (error as Error).message }),
          });
    if (server) cleanups.push(() => server.close());
    const barbacane = shared
      ? await startBarbacaneEndpoint({
          listener: shared,
          path: barbacanePath,
          monitor,
          credentials: options.barbacaneKeys,
          ...(audit === undefined ? {} : { audit }),
          logger,
        })
      : undefined;
    if (barbacane) cleanups.push(() => barbacane.close());
    const wsUrl = server?.url ?? barbacane!.url;

    // Admin listener.
    let closing = false;
    const authorize = createAdminTokenCheck(options.adminToken);
    const api = createFleetApi({
      monitor,
      authorize: (header) => authorize(header),
      healthy: () => !closing,
      logger,
      metrics: () =>
        renderControlPlaneMetrics({
          monitor,
          transport: () => server?.stats() ?? emptyWsStats(),
          sinks,
          ...(audit === undefined ? {} : { audit: () => audit.metrics() }),
          startedAt,
        }),
    });
    // The dashboard (`/ui/`, its event stream, manifests, diffs, audit) shares the admin token.
    const dashboard = createDashboard({
      monitor,
      authorize: (header) => authorize(header),
      ...(options.audit === undefined ? {} : { auditLog: options.audit.path }),
    });
    cleanups.push(() => dashboard.close());
    const routes = (req: IncomingMessage, res: ServerResponse): void => {
      if (!dashboard.handle(req, res)) api(req, res);
    };
    const adminLimits = {
      maxHeaderSize: 16 * 1024,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
    };
    const admin = tls
      ? createHttpsServer({ cert: tls.cert, key: tls.key, ...adminLimits }, routes)
      : createHttpServer(adminLimits, routes);
    // Silent and slow connections are closed or evicted, never allowed to lock operators out.
    guardConnections(admin);
    const adminAddr = await listen(
      admin,
      options.adminListen?.host ?? '127.0.0.1',
      options.adminListen?.port ?? 0,
    );
    cleanups.push(() =>
      // The event streams end first (last chunk written), then the sockets close.
      dashboard.close().then(
        () =>
          new Promise<void>((resolve) => {
            admin.close(() => resolve());
            admin.closeAllConnections();
          }),
      ),
    );
    const adminUrl = `${tls ? 'https' : 'http'}://${hostPort(adminAddr.address, adminAddr.port)}`;
    logger.info('control plane started', {
      ws: wsUrl,
      ...(barbacane ? { barbacane: barbacane.url } : {}),
      admin: adminUrl,
    });

    let closed: Promise<void> | undefined;
    return {
      wsUrl,
      ...(barbacane ? { barbacaneUrl: barbacane.url } : {}),
      adminUrl,
      monitor,
      ...(server ? { server } : {}),
      close() {
        closing = true;
        closed ??= cleanup().then(() => logger.info('control plane stopped'));
        return closed;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
