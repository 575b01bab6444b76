import type { IncomingMessage, ServerResponse } from 'node:http';
import { PlumblineError, type PlumblineErrorCode } from '@plumbline/core';
import type { FleetMonitor, FleetStore } from '@plumbline/core/drift';
import { httpErrorHeaders, httpStatusOf } from '../control-plane/http-errors.js';
import { readAuditTail } from './audit-tail.js';
import {
  createFleetEventStream,
  type FleetEventStream,
  type FleetEventStreamOptions,
} from './events.js';
import { changesInWindow, followRemoteDesired, storeHistory } from './remote.js';
import { createFleetHistory, historyAnswer, type FleetHistory } from './history.js';
import { createManifestCatalog, nodeManifestDiff, type ManifestCatalog } from './manifests.js';
import { createStaticUi, defaultUiDirs } from './static.js';

export {
  createFleetEventStream,
  type FleetEventStream,
  type FleetEventStreamOptions,
} from './events.js';
export { createStaticUi, DASHBOARD_CSP, defaultUiDirs } from './static.js';
export { createFleetHistory, type FleetHistory, type FleetHistoryOptions } from './history.js';
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
const CLUSTER_HISTORY = /^\/v1\/clusters\/([^/]+)\/history$/;
const NODE_DIFF = /^\/v1\/fleet\/nodes\/([^/]+)\/diff$/;

/**
 * Options of {@link createDashboard}.
 *
 * @internal
 */
export interface DashboardOptions extends Omit<FleetEventStreamOptions, 'monitor'> {
  readonly monitor: FleetMonitor;
  /** Checks the `Authorization` header (the fleet API's admin token check). */
  readonly authorize: (authorization: string | undefined) => boolean;
  /**
   * Checks the `Authorization` header against the read token (`--read-token-file`): it opens
   * the page and its data routes, but shows no actions and uploads nothing.
   */
  readonly authorizeRead?: (authorization: string | undefined) => boolean;
  /** Most node state changes and resolved drifts kept for cluster histories. Default 50,000. */
  readonly historyLimit?: number;
  /** Folders where the built page is looked for (the first holding `index.html` wins). */
  readonly uiDirs?: readonly string[];
  /** The audit log file (`--audit-log`), whose recent events `GET /v1/audit/recent` lists. */
  readonly auditLog?: string;
  /** The manifests known to the control plane (default: a new in-memory catalog). */
  readonly manifests?: ManifestCatalog;
  /**
   * The fleet store the monitor runs on. A shared store's desired-state changes made on other
   * replicas reach the event stream (with who and why), and a store that records the
   * desired-state history (`desiredHistory`, PostgreSQL) answers the cluster histories' changes,
   * so that every replica shows the same history.
   */
  readonly store?: FleetStore;
}

/**
 * The dashboard routes of the admin listener.
 *
 * @internal
 */
export interface Dashboard {
  /**
   * Answers `GET /v1/fleet/events`, `PUT /v1/manifests`, `GET /v1/fleet/nodes/{id}/diff`,
   * `GET /v1/audit/recent`, `GET /v1/clusters/{cluster}/history` and `/ui/…`; returns `false` (untouched) for other paths.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends the event streams; resolves when their last chunks are written. */
  close(): Promise<void>;
  /** Connected event stream clients. */
  clients(): number;
}

/** What a request's token may do: `admin` acts, `read` reads; `null` for no valid token. */
function roleOf(
  options: Pick<DashboardOptions, 'authorize' | 'authorizeRead'>,
  authorization: string | undefined,
): 'admin' | 'read' | null {
  if (options.authorize(authorization)) return 'admin';
  return options.authorizeRead?.(authorization) === true ? 'read' : null;
}

/** Writes a JSON answer. */
function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...extra,
  });
  res.end(text);
}

/**
 * Answers an error: the status and its headers (`WWW-Authenticate`, `Allow`) come from the
 * code, through the CLI's one table of HTTP errors.
 */
function fail(
  res: ServerResponse,
  code: PlumblineErrorCode,
  message: string,
  more: { readonly headers?: Record<string, string>; readonly details?: object } = {},
): void {
  const error = new PlumblineError(code, message);
  const { details } = more;
  send(
    res,
    httpStatusOf(code),
    { error: { code, message, ...(details === undefined ? {} : { details }) } },
    { ...httpErrorHeaders(error), ...more.headers },
  );
}

/** Whether the request's method is one of `allowed`; answers 405 otherwise. */
function allowMethod(req: IncomingMessage, res: ServerResponse, allowed: string): boolean {
  if (allowed.split(', ').includes(req.method ?? 'GET')) return true;
  req.resume();
  fail(res, 'PLB_FLEET_API_METHOD', `use ${allowed}`, { headers: { allow: allowed } });
  return false;
}

/** The parts the dashboard routes answer from. */
interface DashboardParts {
  readonly options: DashboardOptions;
  readonly manifests: ManifestCatalog;
  readonly stream: FleetEventStream;
  readonly history: FleetHistory;
}

/** Reads a request body of at most `limit` bytes; `onTooLarge` answers when it is larger. */
function readBody(
  req: IncomingMessage,
  limit: number,
  onTooLarge: () => void,
  onBody: (body: Buffer) => void,
): void {
  if (Number(req.headers['content-length'] ?? '0') > limit) {
    onTooLarge();
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
      onTooLarge();
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => {
    failed = true;
  });
  req.on('end', () => {
    if (!failed) onBody(Buffer.concat(chunks, size));
  });
}

/** `PUT /v1/manifests`: adds a manifest to the catalog and tells the pages. */
function putManifest(parts: DashboardParts, req: IncomingMessage, res: ServerResponse): void {
  const { manifests, stream } = parts;
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    req.resume();
    fail(res, 'PLB_FLEET_API_CONTENT_TYPE', 'the body must be application/json');
    return;
  }
  const limit = manifests.maxBytes;
  const tooLarge = (): void =>
    fail(res, 'PLB_MANIFEST_TOO_LARGE', `the manifest is larger than ${limit} bytes`, {
      headers: { connection: 'close' },
    });
  readBody(req, limit, tooLarge, (body) => {
    try {
      const manifest = manifests.add(body);
      stream.broadcast('manifest', { artifact_hash: manifest.root });
      send(res, 200, { artifact_hash: manifest.root, entries: manifest.entries.length });
    } catch (error) {
      if (PlumblineError.is(error)) fail(res, error.code, error.message);
      else fail(res, 'PLB_INTERNAL', 'internal error');
    }
  });
}

/** `GET /v1/fleet/nodes/{id}/diff`: the files that differ between a node's two manifests. */
function nodeDiff(parts: DashboardParts, res: ServerResponse, rawId: string): void {
  const { options, manifests } = parts;
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    fail(res, 'PLB_FLEET_API_INVALID', 'invalid path encoding');
    return;
  }
  const node = options.monitor.node(id);
  if (node === undefined) {
    fail(res, 'PLB_FLEET_NODE_UNKNOWN', 'no such node');
    return;
  }
  const reported = node.reported_hash === null ? undefined : manifests.get(node.reported_hash);
  const desired = node.desired_hash === null ? undefined : manifests.get(node.desired_hash);
  if (reported === undefined || desired === undefined) {
    const missing = [
      ...(desired === undefined ? [node.desired_hash] : []),
      ...(reported === undefined ? [node.reported_hash] : []),
    ];
    fail(
      res,
      'PLB_DASHBOARD_MANIFEST_UNKNOWN',
      'the control plane does not know both manifests of this node (PUT /v1/manifests)',
      { details: { missing } },
    );
    return;
  }
  send(res, 200, nodeManifestDiff(node.node_id, desired, reported, DIFF_LIMIT));
}

/** `GET /v1/audit/recent`: the newest events of the audit log. */
function auditRecent(
  auditLog: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (auditLog === undefined) {
    fail(res, 'PLB_DASHBOARD_NO_AUDIT_LOG', 'the control plane has no audit log');
    return;
  }
  const raw = new URL(req.url ?? '/', 'http://x').searchParams.get('limit');
  const limit = raw !== null && /^[0-9]{1,4}$/.test(raw) ? Number(raw) : 50;
  readAuditTail(auditLog, { limit: Math.min(AUDIT_LIMIT, limit) }).then(
    (events) => send(res, 200, { events }),
    () => fail(res, 'PLB_IO', 'cannot read the audit log'),
  );
}

/**
 * `GET /v1/clusters/{cluster}/history`: the cluster's history; its desired-state changes are
 * read from the store when it records them (the same on every replica).
 */
function clusterHistory(
  parts: DashboardParts,
  req: IncomingMessage,
  res: ServerResponse,
  rawCluster: string,
): void {
  const answer = historyAnswer(parts.history, req.url ?? '/', rawCluster);
  if ('error' in answer) {
    fail(res, 'PLB_FLEET_API_INVALID', answer.error);
    return;
  }
  const recorded = storeHistory(parts.options.store);
  if (recorded === undefined) {
    send(res, 200, answer.history);
    return;
  }
  const { history, hours } = answer;
  const since = Date.parse(history.to) - hours * 3_600_000;
  recorded(history.cluster).then(
    (changes) => send(res, 200, { ...history, changes: changesInWindow(changes, since) }),
    () => fail(res, 'PLB_IO', 'cannot read the desired-state history from the store'),
  );
}

/** The dashboard route of a path, or `null` when the path is not the dashboard's. */
type Route =
  | { readonly kind: 'ui' | 'events' | 'manifests' | 'audit' }
  | { readonly kind: 'diff' | 'history'; readonly param: string };

function routeOf(pathname: string): Route | null {
  if (pathname === '/ui' || pathname.startsWith('/ui/')) return { kind: 'ui' };
  if (pathname === '/v1/fleet/events') return { kind: 'events' };
  if (pathname === '/v1/manifests') return { kind: 'manifests' };
  if (pathname === '/v1/audit/recent') return { kind: 'audit' };
  const diff = NODE_DIFF.exec(pathname);
  if (diff !== null) return { kind: 'diff', param: diff[1]! };
  const history = CLUSTER_HISTORY.exec(pathname);
  return history === null ? null : { kind: 'history', param: history[1]! };
}

/** Answers a data route (the token already checked). */
function answerRoute(
  parts: DashboardParts,
  route: Exclude<Route, { kind: 'ui' }>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (route.kind === 'manifests') {
    if (allowMethod(req, res, 'PUT')) putManifest(parts, req, res);
    return;
  }
  if (!allowMethod(req, res, 'GET')) return;
  if (route.kind === 'diff') nodeDiff(parts, res, route.param);
  else if (route.kind === 'history') clusterHistory(parts, req, res, route.param);
  else if (route.kind === 'audit') auditRecent(parts.options.auditLog, req, res);
  else parts.stream.handle(req, res);
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
  const role = (authorization: string | undefined) => roleOf(options, authorization);
  const stream = createFleetEventStream({
    ...options,
    about: (req) => ({
      audit_log: options.auditLog !== undefined,
      manifests: manifests.hashes(),
      role: role(req?.headers.authorization) ?? 'read',
    }),
  });
  const history = createFleetHistory({
    monitor,
    ...(options.historyLimit === undefined ? {} : { limit: options.historyLimit }),
  });
  const offRemote = followRemoteDesired(options.store, (event) => {
    stream.publish(event);
    history.note(event);
  });
  const ui = createStaticUi(options.uiDirs ?? defaultUiDirs());
  const parts: DashboardParts = { options, manifests, stream, history };
  return {
    handle(req, res) {
      const route = routeOf(new URL(req.url ?? '/', 'http://x').pathname);
      if (route === null) return false;
      if (route.kind === 'ui') {
        ui(req, res);
        return true;
      }
      const who = role(req.headers.authorization);
      // The read token reads; only the admin token writes.
      if (who === null || (who === 'read' && route.kind === 'manifests')) {
        req.resume();
        fail(res, 'PLB_FLEET_UNAUTHORIZED', 'a valid admin bearer token is required');
        return true;
      }
      answerRoute(parts, route, req, res);
      return true;
    },
    close: () => {
      offRemote();
      history.close();
      return stream.close();
    },
    clients: () => stream.clients(),
  };
}
