import type { IncomingMessage, ServerResponse } from 'node:http';
import { PlumblineError } from '@plumbline/core';
import type { FleetMonitor } from '@plumbline/core/drift';
import { readAuditTail } from './audit-tail.js';
import { createFleetEventStream, type FleetEventStreamOptions } from './events.js';
import { createManifestCatalog, nodeManifestDiff, type ManifestCatalog } from './manifests.js';
import { createStaticUi, defaultUiDirs } from './static.js';

export {
  createFleetEventStream,
  type FleetEventStream,
  type FleetEventStreamOptions,
} from './events.js';
export { createStaticUi, DASHBOARD_CSP, defaultUiDirs } from './static.js';
export { readAuditTail, type AuditTailEvent, type AuditTailOptions } from './audit-tail.js';
export {
  createManifestCatalog,
  nodeManifestDiff,
  type ManifestCatalog,
  type ManifestCatalogOptions,
  type NodeManifestDiff,
} from './manifests.js';

/** Most entries listed per kind (added, removed, changed) in a node's diff. */
const DIFF_LIMIT = 1000;
/** Most audit events one `GET /v1/audit/recent` returns. */
const AUDIT_LIMIT = 200;

/**
 * Options of {@link createDashboard}.
 *
 * @internal
 */
export interface DashboardOptions extends Omit<FleetEventStreamOptions, 'monitor'> {
  readonly monitor: FleetMonitor;
  /** Checks the `Authorization` header (the fleet API's admin token check). */
  readonly authorize: (authorization: string | undefined) => boolean;
  /** Folders where the built page is looked for (the first holding `index.html` wins). */
  readonly uiDirs?: readonly string[];
  /** The audit log file (`--audit-log`), whose recent events `GET /v1/audit/recent` lists. */
  readonly auditLog?: string;
  /** The manifests known to the control plane (default: a new in-memory catalog). */
  readonly manifests?: ManifestCatalog;
}

/**
 * The dashboard routes of the admin listener.
 *
 * @internal
 */
export interface Dashboard {
  /**
   * Answers `GET /v1/fleet/events`, `PUT /v1/manifests`, `GET /v1/fleet/nodes/{id}/diff`,
   * `GET /v1/audit/recent` and `/ui/…`; returns `false` (untouched) for other paths.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends the event streams; resolves when their last chunks are written. */
  close(): Promise<void>;
  /** Connected event stream clients. */
  clients(): number;
}

/**
 * Creates the dashboard routes: the live event stream `GET /v1/fleet/events`, the manifest
 * upload `PUT /v1/manifests`, a node's per-file diff `GET /v1/fleet/nodes/{id}/diff`, the
 * recent audit events `GET /v1/audit/recent` (all with the admin bearer token, like the fleet
 * API) and the static page under `/ui/` (loads without a token; every data request it makes
 * carries one).
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({ monitor, authorize });
 * http.createServer((req, res) => dashboard.handle(req, res) || api(req, res));
 * ```
 * @internal
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const { monitor } = options;
  const manifests = options.manifests ?? createManifestCatalog();
  const stream = createFleetEventStream({
    ...options,
    about: () => ({ audit_log: options.auditLog !== undefined, manifests: manifests.hashes() }),
  });
  const ui = createStaticUi(options.uiDirs ?? defaultUiDirs());
  const send = (
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ): void => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...extra,
    });
    res.end(text);
  };
  const json = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    extra: Record<string, string> = {},
    details?: Record<string, unknown>,
  ): void =>
    send(
      res,
      status,
      { error: { code, message, ...(details === undefined ? {} : { details }) } },
      extra,
    );
  const method = (req: IncomingMessage, res: ServerResponse, allowed: string): boolean => {
    if (allowed.split(', ').includes(req.method ?? 'GET')) return true;
    json(res, 405, 'PLB_FLEET_API_METHOD', `use ${allowed}`, { allow: allowed });
    return false;
  };

  const putManifest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      json(res, 415, 'PLB_FLEET_API_CONTENT_TYPE', 'the body must be application/json');
      return;
    }
    const limit = manifests.maxBytes;
    const tooLarge = (): void =>
      json(res, 413, 'PLB_MANIFEST_TOO_LARGE', `the manifest is larger than ${limit} bytes`, {
        connection: 'close',
      });
    if (Number(req.headers['content-length'] ?? '0') > limit) {
      tooLarge();
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        tooLarge();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      try {
        const manifest = manifests.add(Buffer.concat(chunks, size));
        stream.broadcast('manifest', { artifact_hash: manifest.root });
        send(res, 200, { artifact_hash: manifest.root, entries: manifest.entries.length });
      } catch (error) {
        if (!PlumblineError.is(error)) {
          json(res, 500, 'PLB_INTERNAL', 'internal error');
          return;
        }
        json(res, error.code === 'PLB_MANIFEST_TOO_LARGE' ? 413 : 400, error.code, error.message);
      }
    });
  };

  const diff = (res: ServerResponse, rawId: string): void => {
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      json(res, 400, 'PLB_FLEET_API_INVALID', 'invalid path encoding');
      return;
    }
    const node = monitor.node(id);
    if (node === undefined) {
      json(res, 404, 'PLB_FLEET_NODE_UNKNOWN', 'no such node');
      return;
    }
    const reported = node.reported_hash === null ? undefined : manifests.get(node.reported_hash);
    const desired = node.desired_hash === null ? undefined : manifests.get(node.desired_hash);
    if (reported === undefined || desired === undefined) {
      const missing = [
        ...(desired === undefined ? [node.desired_hash] : []),
        ...(reported === undefined ? [node.reported_hash] : []),
      ];
      json(
        res,
        404,
        'PLB_DASHBOARD_MANIFEST_UNKNOWN',
        'the control plane does not know both manifests of this node (PUT /v1/manifests)',
        {},
        { missing },
      );
      return;
    }
    send(res, 200, nodeManifestDiff(node.node_id, desired, reported, DIFF_LIMIT));
  };

  const audit = (req: IncomingMessage, res: ServerResponse): void => {
    if (options.auditLog === undefined) {
      json(res, 404, 'PLB_DASHBOARD_NO_AUDIT_LOG', 'the control plane has no audit log');
      return;
    }
    const raw = new URL(req.url ?? '/', 'http://x').searchParams.get('limit');
    const limit = raw !== null && /^[0-9]{1,4}$/.test(raw) ? Number(raw) : 50;
    readAuditTail(options.auditLog, { limit: Math.min(AUDIT_LIMIT, limit) }).then(
      (events) => send(res, 200, { events }),
      () => json(res, 500, 'PLB_IO', 'cannot read the audit log'),
    );
  };

  return {
    handle(req, res) {
      const pathname = new URL(req.url ?? '/', 'http://x').pathname;
      if (pathname === '/ui' || pathname.startsWith('/ui/')) {
        ui(req, res);
        return true;
      }
      const diffMatch = /^\/v1\/fleet\/nodes\/([^/]+)\/diff$/.exec(pathname);
      if (
        pathname !== '/v1/fleet/events' &&
        pathname !== '/v1/manifests' &&
        pathname !== '/v1/audit/recent' &&
        diffMatch === null
      )
        return false;
      if (!options.authorize(req.headers.authorization)) {
        req.resume();
        json(res, 401, 'PLB_FLEET_UNAUTHORIZED', 'a valid admin bearer token is required', {
          'www-authenticate': 'Bearer',
        });
        return true;
      }
      if (pathname === '/v1/manifests') {
        if (method(req, res, 'PUT')) putManifest(req, res);
        else req.resume();
        return true;
      }
      if (!method(req, res, 'GET')) {
        req.resume();
        return true;
      }
      if (diffMatch !== null) diff(res, diffMatch[1]!);
      else if (pathname === '/v1/audit/recent') audit(req, res);
      else stream.handle(req, res);
      return true;
    },
    close: () => stream.close(),
    clients: () => stream.clients(),
  };
}
