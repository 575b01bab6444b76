import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { PlumblineError } from '@plumbline/core';
import type { FleetMonitor, NodeStatus } from '@plumbline/core/drift';
import { httpError, httpErrorHeaders, httpStatusOf } from './http-errors.js';
import type { JsonLogger } from './log.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

/** Largest request body of the fleet API, in bytes. */
const MAX_BODY_BYTES = 64 * 1024;
const NAME = /^[\x21-\x7e]{1,253}$/;

const desiredBody = z
  .object({
    artifact_hash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256: followed by 64 lowercase hex'),
    deadline_seconds: z.number().int().positive().max(31_536_000).optional(),
    reason: z.string().min(1, 'a reason is required').max(1024),
  })
  .strict();

const expectedBody = z
  .object({ nodes: z.array(z.string().regex(NAME, 'expected a node id')).max(100_000) })
  .strict();

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/**
 * Hooks of the fleet API.
 *
 * @internal
 */
export interface FleetApiOptions {
  readonly monitor: FleetMonitor;
  /** Checks the `Authorization` header (constant time). */
  readonly authorize: (authorization: string | undefined) => boolean;
  /** Renders `/metrics`. */
  readonly metrics: () => string;
  /** Whether the control plane is healthy (for `/healthz`). */
  readonly healthy: () => boolean;
  /** Called after the desired state changed (audit). Failures fail the request. */
  readonly onDesiredChanged?: (change: {
    cluster: string;
    previous_hash: string | null;
    artifact_hash: string;
    deadline_seconds?: number;
    reason: string;
    actor: string;
  }) => Promise<void>;
  /** Called after the expected inventory changed (audit). */
  readonly onExpectedChanged?: (change: {
    cluster: string;
    added: readonly string[];
    removed: readonly string[];
    actor: string;
  }) => Promise<void>;
  /** The expected inventory of a cluster before a change (to audit what was added and removed). */
  readonly expectedNodes?: (cluster: string) => Promise<readonly string[]>;
  readonly logger: JsonLogger;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

const tooLarge = (): PlumblineError =>
  httpError('PLB_FLEET_API_TOO_LARGE', `the body exceeds ${MAX_BODY_BYTES} bytes`);

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw httpError('PLB_FLEET_API_CONTENT_TYPE', 'the body must be application/json');
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw httpError('PLB_FLEET_API_MALFORMED', 'the body is not valid JSON');
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    const message =
      issue?.code === 'unrecognized_keys'
        ? `${(issue as { keys: string[] }).keys.join(', ')}: unknown key`
        : `${key}: ${issue?.message ?? 'invalid'}`;
    throw httpError('PLB_FLEET_API_INVALID', message);
  }
  return result.data;
}

/**
 * A node as listed by `GET /v1/fleet` (the fields of docs/guides/control-plane-and-agent.md, in order, then `live_config`
 * and `verification_reasons` when the node reports them: protocol v1.1, additive).
 *
 * @internal
 */
export function fleetNode(n: NodeStatus): Record<string, unknown> {
  return {
    node_id: n.node_id,
    cluster: n.cluster,
    state: n.state,
    since: n.since,
    reported_hash: n.reported_hash,
    desired_hash: n.desired_hash,
    last_seen: n.last_seen,
    instance_id: n.instance_id,
    provenance: n.provenance,
    // Additive: why a node is rejected or drifting, for `plumbline fleet`'s WHY column.
    last_load_error: n.last_load_error,
    ...(n.live_config === null ? {} : { live_config: n.live_config }),
    ...(n.verification_reasons === null ? {} : { verification_reasons: n.verification_reasons }),
  };
}

/**
 * The `GET /v1/fleet` document.
 *
 * @internal
 */
export function fleetDocument(monitor: FleetMonitor): unknown {
  return {
    clusters: monitor.summary().map((c) => ({
      cluster: c.cluster,
      desired_hash: c.desired_hash,
      rollout: c.rollout,
      counts: c.counts,
    })),
    nodes: monitor.nodes().map(fleetNode),
  };
}

function segment(text: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    throw httpError('PLB_FLEET_API_INVALID', 'invalid path encoding');
  }
  if (!NAME.test(decoded)) throw httpError('PLB_FLEET_API_INVALID', 'invalid name in path');
  return decoded;
}

/** What a route handler needs: the options, the request, the response and its method. */
interface Exchange {
  readonly options: FleetApiOptions;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
}

/** A route: its path (a capture group names the path's one parameter) and methods. */
interface Route {
  readonly path: RegExp;
  readonly methods: string;
  readonly handle: (exchange: Exchange, param: string) => Promise<void> | void;
}

const ACTOR = 'admin';

function serveMetrics({ options, res, method }: Exchange): void {
  const text = options.metrics();
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': PROMETHEUS_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(method === 'HEAD' ? undefined : text);
}

function serveNode({ options, res }: Exchange, id: string): void {
  const node = options.monitor.node(segment(id));
  if (!node) throw httpError('PLB_FLEET_NODE_UNKNOWN', 'no such node');
  send(res, 200, node);
}

async function putDesired({ options, req, res }: Exchange, param: string): Promise<void> {
  const { monitor } = options;
  const cluster = segment(param);
  const body = validate(desiredBody, await readJson(req));
  const previous = monitor.desired(cluster)?.artifact_hash ?? null;
  const deadline =
    body.deadline_seconds === undefined ? {} : { deadline_seconds: body.deadline_seconds };
  const desired = await monitor.setDesired({
    cluster,
    artifact_hash: body.artifact_hash as `sha256:${string}`,
    actor: ACTOR,
    reason: body.reason,
    ...(body.deadline_seconds === undefined
      ? {}
      : { rollout: { graceMs: body.deadline_seconds * 1000 } }),
  });
  await options.onDesiredChanged?.({
    cluster,
    previous_hash: previous,
    artifact_hash: body.artifact_hash,
    ...deadline,
    reason: body.reason,
    actor: ACTOR,
  });
  options.logger.info('desired state changed', {
    cluster,
    artifact_hash: desired.artifact_hash,
    version: desired.version,
    actor: ACTOR,
  });
  send(res, 200, desired);
}

async function putExpected({ options, req, res }: Exchange, param: string): Promise<void> {
  const cluster = segment(param);
  const body = validate(expectedBody, await readJson(req));
  const before = new Set((await options.expectedNodes?.(cluster)) ?? []);
  const after = [...new Set(body.nodes)].sort();
  await options.monitor.setExpectedNodes(cluster, after, ACTOR);
  const afterSet = new Set(after);
  await options.onExpectedChanged?.({
    cluster,
    added: after.filter((n) => !before.has(n)),
    removed: [...before].filter((n) => !afterSet.has(n)).sort(),
    actor: ACTOR,
  });
  options.logger.info('expected nodes changed', { cluster, count: after.length, actor: ACTOR });
  send(res, 200, { cluster, nodes: after });
}

/** The routes behind the admin token, in the order they are tried. */
const ROUTES: readonly Route[] = [
  { path: /^\/metrics$/, methods: 'GET, HEAD', handle: serveMetrics },
  {
    path: /^\/v1\/fleet$/,
    methods: 'GET, HEAD',
    handle: ({ options, res }) => send(res, 200, fleetDocument(options.monitor)),
  },
  { path: /^\/v1\/fleet\/nodes\/([^/]+)$/, methods: 'GET, HEAD', handle: serveNode },
  { path: /^\/v1\/clusters\/([^/]+)\/desired$/, methods: 'PUT', handle: putDesired },
  { path: /^\/v1\/clusters\/([^/]+)\/expected-nodes$/, methods: 'PUT', handle: putExpected },
];

function allow(methods: string, method: string): void {
  if (!methods.split(', ').includes(method)) {
    throw httpError('PLB_FLEET_API_METHOD', `use ${methods}`, { allow: methods });
  }
}

async function route(exchange: Exchange): Promise<void> {
  const { options, req, res, method } = exchange;
  const pathname = new URL(req.url ?? '/', 'http://x').pathname;
  if (pathname === '/healthz') {
    allow('GET, HEAD', method);
    const ok = options.healthy();
    send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'shutting_down' });
    return;
  }
  if (!options.authorize(req.headers.authorization)) {
    throw httpError('PLB_FLEET_UNAUTHORIZED', 'a valid admin bearer token is required');
  }
  for (const candidate of ROUTES) {
    const match = candidate.path.exec(pathname);
    if (!match) continue;
    allow(candidate.methods, method);
    await candidate.handle(exchange, match[1] ?? '');
    return;
  }
  throw httpError('PLB_FLEET_API_NOT_FOUND', 'no such route');
}

/** Answers a failed request: a coded error with the status of its code, anything else a bare 500. */
function answerError(res: ServerResponse, logger: JsonLogger, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (PlumblineError.is(error)) {
    const status = httpStatusOf(error.code);
    if (status === 500)
      logger.error('fleet API failure', { code: error.code, message: error.message });
    const body = { error: { code: error.code, message: error.message } };
    send(res, status, body, httpErrorHeaders(error));
    return;
  }
  logger.error('fleet API failure', {
    message: error instanceof Error ? error.message : String(error),
  });
  send(res, 500, { error: { code: 'PLB_INTERNAL', message: 'internal error' } });
}

/**
 * The fleet HTTP API of the control plane's admin listener (docs/guides/control-plane-and-agent.md "Control plane, agent and
 * their HTTP interfaces"): `GET /v1/fleet`, `GET /v1/fleet/nodes/{id}`, `PUT
 * /v1/clusters/{cluster}/desired`, `PUT /v1/clusters/{cluster}/expected-nodes`, `GET /metrics`
 * (all with the admin bearer token) and `GET /healthz`.
 *
 * @internal
 */
export function createFleetApi(
  options: FleetApiOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const exchange: Exchange = { options, req, res, method: req.method ?? 'GET' };
    route(exchange).catch((error: unknown) => answerError(res, options.logger, error));
  };
}
