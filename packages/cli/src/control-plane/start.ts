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
import {
  createJsonLogger,
  logAuditWriteFailed,
  logRejectedSession,
  type JsonLogger,
  type LogLevel,
} from './log.js';
import { renderControlPlaneMetrics, sharedStoreGauges } from './metrics.js';
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
  /**
   * A read-only token (`--read-token-file`): it opens the dashboard and its data routes, but
   * takes no action (the fleet API's writes keep needing the admin token).
   */
  readonly readToken?: string;
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
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_NODE_TOKENS_INVALID` or `PLB_IO`.
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
 * @throws {@link @plumbline/core!PlumblineError} for invalid tokens files, keys, limits, or listen errors.
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
  const auth = await nodeAuthenticator(options);
  const cleanups = new Cleanups(logger);
  try {
    const audit = await openAudit(options, logger, cleanups);
    const sinks = alertSinks(options, logger, cleanups);
    const monitor = await openMonitor(options, { sinks, audit, logger }, cleanups);
    const parts: ControlPlaneParts = { options, logger, cleanups, monitor, audit, sinks };
    const { server, barbacane, wsUrl } = await startDataPlane(parts, auth);
    let closing = false;
    const adminUrl = await startAdmin(parts, {
      healthy: () => !closing,
      metrics: () =>
        renderControlPlaneMetrics({
          monitor,
          transport: () => server?.stats() ?? emptyWsStats(),
          sinks,
          ...(audit === undefined ? {} : { audit: () => audit.metrics() }),
          store: () => sharedStoreGauges(options.store),
          startedAt,
        }),
    });
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
        closed ??= cleanups.run().then(() => logger.info('control plane stopped'));
        return closed;
      },
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}

/** Shutdown steps, run once in the reverse order of their start; a failing step is logged. */
class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];

  constructor(private readonly logger: JsonLogger) {}

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        this.logger.error('shutdown step failed', {
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

/** What the steps of {@link startControlPlane} started so far, for the steps after them. */
interface ControlPlaneParts {
  readonly options: ControlPlaneOptions;
  readonly logger: JsonLogger;
  readonly cleanups: Cleanups;
  readonly monitor: FleetMonitor;
  readonly audit: AuditLogger | undefined;
  readonly sinks: readonly AlertSink[];
}

/** How nodes prove who they are: mTLS trust domains, node tokens, or either. */
async function nodeAuthenticator(options: ControlPlaneOptions): Promise<NodeAuthenticator> {
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
  if (authenticators.length === 0 && (options.protocol ?? 'ws') !== 'barbacane') {
    throw new PlumblineError(
      'PLB_USAGE',
      'no way to authenticate nodes: give --node-tokens (or mTLS trust domains)',
    );
  }
  return authenticators.length === 1 ? authenticators[0]! : anyAuthenticator(authenticators);
}

/** The audit trail: a JSON-lines file, or with a key a transparency log with signed checkpoints. */
async function openAudit(
  options: ControlPlaneOptions,
  logger: JsonLogger,
  cleanups: Cleanups,
): Promise<AuditLogger | undefined> {
  if (!options.audit) return undefined;
  const { path, keyPem } = options.audit;
  const sink =
    keyPem !== undefined
      ? await createAuditTransparencyLog({
          path,
          signer: await createKeySigner({ privateKey: keyPem }),
          onError: (error) => logger.warn('audit checkpoint signing failed', { code: error.code }),
        })
      : await createAuditFileSink({ path });
  const bindings: AuditSinkBinding[] = [{ sink, delivery: 'must-write' }];
  const audit = createAuditLogger({ source: { component: 'control-plane' }, sinks: bindings });
  cleanups.push(() => audit.close());
  return audit;
}

/** The alert sinks: the log, the caller's own, and the webhook. */
function alertSinks(
  options: ControlPlaneOptions,
  logger: JsonLogger,
  cleanups: Cleanups,
): AlertSink[] {
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
  return sinks;
}

/** The fleet store and the monitor over it. */
async function openMonitor(
  options: ControlPlaneOptions,
  deps: {
    readonly sinks: readonly AlertSink[];
    readonly audit: AuditLogger | undefined;
    readonly logger: JsonLogger;
  },
  cleanups: Cleanups,
): Promise<FleetMonitor> {
  const { sinks, audit, logger } = deps;
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
  return monitor;
}

/** The TLS options of the data-plane listener, when it serves `wss://`. */
function dataPlaneTls(tls: ControlPlaneOptions['tls']) {
  return tls
    ? {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        requestCert: tls.ca !== undefined && tls.clientAuth !== 'none',
        rejectUnauthorized: tls.clientAuth === 'require',
        minVersion: 'TLSv1.2' as const,
      }
    : undefined;
}

/** Data-plane endpoints: Plumbline's protocol, Barbacane's, or both on one listener by path. */
async function startDataPlane(
  parts: ControlPlaneParts,
  auth: NodeAuthenticator,
): Promise<{
  server: ControlPlaneServer | undefined;
  barbacane: { readonly url: string } | undefined;
  wsUrl: string;
}> {
  const { options, logger, cleanups, monitor, audit } = parts;
  const protocol = options.protocol ?? 'ws';
  const host = options.listen?.host ?? '127.0.0.1';
  const port = options.listen?.port ?? 0;
  const serverTls = dataPlaneTls(options.tls);
  const barbacanePath = protocol === 'both' ? BARBACANE_SHARED_PATH : BARBACANE_DATA_PLANE_PATH;
  const shared =
    protocol === 'ws'
      ? undefined
      : await listenDataPlane({
          host,
          port,
          paths: protocol === 'both' ? [BARBACANE_DATA_PLANE_PATH, barbacanePath] : [barbacanePath],
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
            : { host, port, ...(serverTls ? { tls: serverTls } : {}) }),
          ...(options.limits === undefined ? {} : { limits: options.limits }),
          ...(audit === undefined ? {} : { audit }),
          onRejected: (r) => logRejectedSession(logger, r),
          onError: (error) => logAuditWriteFailed(logger, error),
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
  return { server, barbacane, wsUrl: server?.url ?? barbacane!.url };
}

/**
 * The admin listener: the dashboard (`/ui/`, its event stream, manifests, diffs, audit) and the
 * fleet API, both behind the admin token. Returns its URL.
 */
async function startAdmin(
  parts: ControlPlaneParts,
  hooks: { readonly healthy: () => boolean; readonly metrics: () => string },
): Promise<string> {
  const { options, logger, cleanups, monitor } = parts;
  const authorize = createAdminTokenCheck(options.adminToken);
  const api = createFleetApi({
    monitor,
    authorize: (header) => authorize(header),
    healthy: hooks.healthy,
    logger,
    metrics: hooks.metrics,
  });
  const authorizeRead =
    options.readToken === undefined || options.readToken.length === 0
      ? undefined
      : createAdminTokenCheck(options.readToken);
  const dashboard = createDashboard({
    monitor,
    authorize: (header) => authorize(header),
    ...(authorizeRead === undefined ? {} : { authorizeRead }),
    ...(options.audit === undefined ? {} : { auditLog: options.audit.path }),
    ...(typeof options.store === 'object' ? { store: options.store } : {}),
  });
  cleanups.push(() => dashboard.close());
  const routes = (req: IncomingMessage, res: ServerResponse): void => {
    if (!dashboard.handle(req, res)) api(req, res);
  };
  const adminLimits = { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 };
  const { tls } = options;
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
  return `${tls ? 'https' : 'http'}://${hostPort(adminAddr.address, adminAddr.port)}`;
}
