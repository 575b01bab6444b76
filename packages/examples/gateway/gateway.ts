/**
 * A tiny Node HTTP gateway that embeds Plumbline the way a real data plane would: it loads a
 * sealed artifact under an `enforce` policy (refusing to start on a tampered one), serves its
 * routes on the public port, and serves `GET /_admin/provenance` on a separate loopback admin
 * port. The public port never answers admin paths.
 */
import http from 'node:http';
import { PlumblineError } from '@plumbline/core';
import {
  createAdminHandler,
  type AdminRequestEvent,
  type AdminTokenHash,
} from '@plumbline/core/admin';
import { readLoadCandidate, startAdminListener, type AdminListener } from '@plumbline/core/node';
import {
  LoadedArtifactRegistry,
  verifyOnLoad,
  type LoadAuditEvent,
  type LoadedArtifact,
  type LoadPolicy,
} from '@plumbline/core/verify';
import { connectDataPlane, type DataPlaneClient } from '@plumbline/ws';

/** One route of the compiled configuration (the artifact's payload). */
export interface Route {
  readonly match: { readonly prefix: string; readonly methods?: readonly string[] };
  readonly upstream: string;
}

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The sealed artifact (a Plumbline container whose payload is the routes JSON). */
  readonly artifact: string;
  /** Public listener. Default 127.0.0.1:0. */
  readonly host?: string;
  readonly port?: number;
  /** Admin listener (loopback by default). Default 127.0.0.1:0. */
  readonly adminHost?: string;
  readonly adminPort?: number;
  /** Admin bearer tokens, stored as SHA-256 hashes. */
  readonly adminTokens: readonly AdminTokenHash[];
  /** The load policy. Default: `enforce` with a required commit. */
  readonly policy?: LoadPolicy;
  /** Audit hooks (load events and admin requests). */
  readonly onLoadEvent?: (event: LoadAuditEvent) => void;
  readonly onAdminRequest?: (event: AdminRequestEvent) => void;
  /**
   * Report what this gateway loaded to a control plane over `@plumbline/ws` (hello, then
   * heartbeats; reconnects on its own and never throws into the gateway). Optional.
   */
  readonly controlPlane?: GatewayControlPlaneOptions;
}

/** Where and as whom the gateway reports (see `connectDataPlane` of `@plumbline/ws`). */
export interface GatewayControlPlaneOptions {
  /** `ws://…/ws/data-plane` or `wss://…` of the control plane. */
  readonly url: string;
  readonly nodeId: string;
  readonly cluster: string;
  /** The node token, or a file holding it (re-read on every reconnect). */
  readonly token?: string;
  readonly tokenFile?: string;
  /** Heartbeat interval until the control plane's `welcome` sets it. */
  readonly heartbeatIntervalMs?: number;
}

/** A running gateway. */
export interface Gateway {
  readonly publicUrl: string;
  readonly adminUrl: string;
  readonly registry: LoadedArtifactRegistry;
  readonly loaded: LoadedArtifact;
  /** The control-plane connection, when `controlPlane` was given. */
  readonly reporter: DataPlaneClient | undefined;
  close(): Promise<void>;
}

function parseRoutes(payload: Uint8Array): Route[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    throw new PlumblineError('PLB_GATEWAY_CONFIG', 'the artifact payload is not JSON', {
      cause: error,
    });
  }
  const routes = (parsed as { routes?: unknown }).routes;
  if (!Array.isArray(routes)) {
    throw new PlumblineError('PLB_GATEWAY_CONFIG', 'the artifact payload has no "routes" list');
  }
  return routes as Route[];
}

/**
 * Loads the artifact under the policy and starts both listeners.
 *
 * @throws PlumblineError `PLB_LOAD_REJECTED` when the artifact fails the policy (the gateway does
 * not start), `PLB_GATEWAY_CONFIG` when its payload is not a routes document.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const registry = new LoadedArtifactRegistry();
  const candidate = await readLoadCandidate(options.artifact);
  const loaded = await verifyOnLoad(
    candidate,
    options.policy ?? { mode: 'enforce', requireCommit: true },
    { registry, ...(options.onLoadEvent === undefined ? {} : { onAudit: options.onLoadEvent }) },
  );
  const routes = parseRoutes(candidate.payload ?? new Uint8Array());

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes.find(
      (r) =>
        path.startsWith(r.match.prefix) &&
        (r.match.methods === undefined || r.match.methods.includes(req.method ?? 'GET')),
    );
    res.setHeader('content-type', 'application/json; charset=utf-8');
    if (route === undefined) {
      res.writeHead(404).end(JSON.stringify({ error: 'no route' }));
      return;
    }
    res.writeHead(200).end(JSON.stringify({ upstream: route.upstream, path }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { address: string; port: number };

  let admin: AdminListener;
  try {
    admin = await startAdminListener({
      handler: createAdminHandler({
        source: registry,
        auth: { tokens: options.adminTokens },
        ...(options.onAdminRequest === undefined ? {} : { onRequest: options.onAdminRequest }),
      }),
      host: options.adminHost ?? '127.0.0.1',
      port: options.adminPort ?? 0,
    });
  } catch (error) {
    server.close();
    throw error;
  }

  const cp = options.controlPlane;
  let reporter: DataPlaneClient | undefined;
  try {
    reporter =
      cp === undefined
        ? undefined
        : connectDataPlane({
            url: cp.url,
            nodeId: cp.nodeId,
            cluster: cp.cluster,
            credentials:
              cp.tokenFile !== undefined ? { tokenFile: cp.tokenFile } : { token: cp.token ?? '' },
            source: registry,
            ...(cp.heartbeatIntervalMs === undefined
              ? {}
              : { heartbeatIntervalMs: cp.heartbeatIntervalMs }),
          });
  } catch (error) {
    await admin.close();
    server.close();
    throw error;
  }

  return {
    publicUrl: `http://${address.address}:${address.port}`,
    adminUrl: admin.url,
    registry,
    loaded,
    reporter,
    close: async () => {
      await reporter?.close();
      await admin.close();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
