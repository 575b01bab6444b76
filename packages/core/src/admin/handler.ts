import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import type { DigestString } from '../hash/digest.js';
import { textEqual } from '../encoding/hex.js';
import { utf8 } from '../encoding/utf8.js';
import type { LoadedArtifactSnapshot, LoadedArtifactSource } from '../verify/registry.js';
import {
  AdminAuthenticator,
  type AdminAuthOptions,
  type AuthResult,
  type AdminPrincipal,
  type AdminRequestContext,
} from './auth.js';
import { provenanceDocument } from './document.js';
import { RateLimiter, type AdminRateLimitOptions } from './rate-limit.js';
import { bytesResponse, SECURITY_HEADERS } from './responses.js';

/**
 * What happened to one admin request, handed to {@link AdminHandlerOptions.onRequest}.
 * Carries the authenticated principal, never a credential.
 *
 * @public
 */
export interface AdminRequestEvent {
  /** `provenance.read` for the provenance route, `admin.request` for everything else. */
  readonly type: 'provenance.read' | 'admin.request';
  /** RFC 3339 UTC. */
  readonly at: string;
  /** The HTTP request method, as received (`GET`, `HEAD`, …). */
  readonly method: string;
  /** The request path (without the query). */
  readonly path: string;
  /** The HTTP status code of the response sent. */
  readonly status: number;
  /**
   * How the request ended: `allowed` (served), `not_modified` (304 from `If-None-Match`),
   * `unauthenticated` (401), `rate_limited` (429), `not_found` (404, or 414 for a URL over the
   * length limit), `method_not_allowed` (405), `unavailable` (503, no artifact loaded yet) or
   * `error` (500).
   */
  readonly outcome:
    | 'allowed'
    | 'not_modified'
    | 'unauthenticated'
    | 'rate_limited'
    | 'not_found'
    | 'method_not_allowed'
    | 'unavailable'
    | 'error';
  /** `null` when the request was not authenticated. */
  readonly principal: AdminPrincipal | null;
  /** The peer's IP address, when the listener supplied one in the request context. */
  readonly remote_address?: string;
  /** The artifact hash served, for provenance reads. */
  readonly artifact_hash?: DigestString | null;
}

/**
 * Options for {@link createAdminHandler}.
 *
 * @public
 */
export interface AdminHandlerOptions {
  /** What is loaded (a {@link LoadedArtifactRegistry} or another source). */
  readonly source: LoadedArtifactSource;
  /** Who may read. Fails closed: without credentials configured the handler refuses to start. */
  readonly auth: AdminAuthOptions;
  /** Per-client rate limit, or `false` to disable it. Defaults: 10/s, burst 20. */
  readonly rateLimit?: AdminRateLimitOptions | false;
  /** The key a client is limited by. Default: the remote address, else `anonymous`. */
  readonly rateLimitKey?: (request: Request, context: AdminRequestContext | undefined) => string;
  /** Path prefix of the routes. Default `/_admin`. */
  readonly basePath?: string;
  /** Whether `/health` needs authentication too. Default `false` (liveness probes). */
  readonly healthRequiresAuth?: boolean;
  /** Longest accepted URL (path and query). Default 2048. */
  readonly maxUrlLength?: number;
  /**
   * Receives every request's outcome (the audit hook). Errors it throws are caught: auditing never
   * fails a request.
   */
  readonly onRequest?: (event: AdminRequestEvent) => void;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/**
 * An admin request handler: a WHATWG fetch handler, with an optional second argument through
 * which a listener passes what it knows about the connection.
 *
 * @public
 */
export type AdminHandler = (request: Request, context?: AdminRequestContext) => Promise<Response>;

const ALLOW = 'GET, HEAD';
const BASE_RE = /^(\/[A-Za-z0-9._~-]+)+$/;

interface CachedDocument {
  readonly version: number;
  readonly hash: DigestString | null;
  readonly snapshot: LoadedArtifactSnapshot;
  readonly etag: string | undefined;
  /** The 200 answer without entries, its 304 and (built on first use) the 200 with entries. */
  readonly plain: AdminReply;
  readonly notModified: AdminReply;
  entries: AdminReply | undefined;
}

/**
 * A handler's answer before it becomes a `Response`.
 *
 * @internal
 */
export interface AdminReply {
  readonly status: number;
  /** Shared between requests that get the same answer: never modify it. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body bytes (also for HEAD, where they are not sent); `undefined` for 304. */
  readonly body: Uint8Array | undefined;
}

/**
 * What the core of the handler reads from a request.
 *
 * @internal
 */
export interface AdminRequestParts {
  readonly method: string;
  readonly pathname: string;
  /** The query, with its leading `?`, or empty. */
  readonly search: string;
  /** Length of the URL as received (checked against `maxUrlLength`). */
  readonly urlLength: number;
  readonly header: (name: 'authorization' | 'if-none-match') => string | null;
}

/**
 * The handler's core, without WHATWG objects, for listeners that can call it directly.
 *
 * @internal
 */
export type AdminFastPath = (
  parts: AdminRequestParts,
  context: AdminRequestContext | undefined,
) => AdminReply;

const fastPaths = new WeakMap<AdminHandler, AdminFastPath>();

/**
 * The direct entry of a handler made by {@link createAdminHandler}, when it has one (not with a
 * custom `rateLimitKey`, which needs the `Request`).
 *
 * @internal
 */
export function adminFastPathOf(handler: AdminHandler): AdminFastPath | undefined {
  return fastPaths.get(handler);
}

function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === '*') return true;
  for (const part of header.split(',')) {
    const tag = part.trim().replace(/^W\//, '');
    if (tag === etag) return true;
  }
  return false;
}

function wantsEntries(search: string): boolean {
  if (search.length < 2) return false;
  const value = new URLSearchParams(search).get('entries');
  return value === '1' || value === 'true';
}

function reply(
  status: number,
  body: Uint8Array | undefined,
  extra: Record<string, string> = {},
): AdminReply {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, ...extra };
  if (body !== undefined) {
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = String(body.length);
  }
  return { status, headers: Object.freeze(headers), body };
}

function errorReply(
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): AdminReply {
  return reply(status, utf8(JSON.stringify({ error: { code, message } })), extra);
}

/**
 * Creates the admin handler: `GET`/`HEAD` `/_admin/provenance` (`?entries=1` adds the inputs;
 * `ETag` is the artifact hash and `If-None-Match` answers 304) and `GET`/`HEAD` `/_admin/health`.
 * Anything else is 404; another method 405 with `Allow`. Errors are JSON; every response carries
 * `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`. Missing or wrong credentials
 * answer 401 without saying which part failed; a client over its rate limit gets 429 with
 * `Retry-After`. The handler never throws: an internal error answers 500.
 *
 * @example
 * ```ts
 * import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
 * import { LoadedArtifactRegistry } from '@plumbline/core/verify';
 * const registry = new LoadedArtifactRegistry();
 * const handler = createAdminHandler({
 *   source: registry,
 *   auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(process.env.ADMIN_TOKEN!) }] },
 * });
 * // Bun.serve({ fetch: handler }), Deno.serve(handler), or startAdminListener({ handler })
 * ```
 * @throws {@link PlumblineError} `PLB_ADMIN_CONFIG_INVALID` for malformed options (no
 * credentials configured, a malformed token hash or SPIFFE ID, a bad base path or limit).
 * @public
 */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  const core = new AdminCore(options);
  const customKey = options.rateLimitKey;
  const handler: AdminHandler = async function adminHandler(request, context) {
    let pathname = '';
    let search = '';
    try {
      const url = new URL(request.url);
      pathname = url.pathname;
      search = url.search;
    } catch {
      // An unparsable URL matches no route (404).
    }
    const result = core.answer(
      {
        method: request.method,
        pathname,
        search,
        urlLength: request.url.length,
        header: (name) => request.headers.get(name),
      },
      context,
      () =>
        customKey === undefined
          ? (context?.remoteAddress ?? 'anonymous')
          : customKey(request, context),
    );
    return bytesResponse(result.status, result.body, result.headers, request.method === 'HEAD');
  };
  if (customKey === undefined) {
    fastPaths.set(handler, (parts, context) =>
      core.answer(parts, context, context?.remoteAddress ?? 'anonymous'),
    );
  }
  return handler;
}

/** What one request came to, for the audit hook (filled in as the request is answered). */
interface Exchange {
  provenanceRoute: boolean;
  principal: AdminPrincipal | null;
  outcome: AdminRequestEvent['outcome'];
  hash: DigestString | null | undefined;
}

/** Answers that never change: built once and shared by every request. */
const HEALTH_REPLY = reply(200, utf8('{"status":"ok"}'));
const UNAUTHENTICATED_REPLY = errorReply(
  401,
  'PLB_ADMIN_UNAUTHENTICATED',
  'authentication required',
  { 'www-authenticate': 'Bearer realm="plumbline-admin"' },
);
const NOT_FOUND_REPLY = errorReply(404, 'PLB_ADMIN_NOT_FOUND', 'no such admin resource');
const URL_TOO_LONG_REPLY = errorReply(414, 'PLB_ADMIN_URL_TOO_LONG', 'the URL is too long');
const NOT_LOADED_REPLY = errorReply(503, 'PLB_ADMIN_NOT_LOADED', 'no artifact is loaded yet');
const METHOD_NOT_ALLOWED_REPLY = errorReply(
  405,
  'PLB_ADMIN_METHOD_NOT_ALLOWED',
  'this resource answers GET and HEAD',
  { allow: ALLOW },
);

/**
 * The admin handler's core, shared by the Fetch API handler and the listener's fast path: the
 * checked options, the cached provenance answer and the steps of one request.
 */
class AdminCore {
  readonly #source: LoadedArtifactSource;
  readonly #auth: AdminAuthenticator;
  readonly #now: () => number;
  readonly #limiter: RateLimiter | undefined;
  readonly #maxUrl: number;
  readonly #provenancePath: string;
  readonly #healthPath: string;
  readonly #healthRequiresAuth: boolean;
  readonly #hook: ((event: AdminRequestEvent) => void) | undefined;
  #cached: CachedDocument | undefined;
  // What each connection last authenticated with (see AdminRequestContext.connection).
  readonly #sessions = new WeakMap<
    object,
    { header: string; cert: unknown; result: AuthResult & { ok: true } }
  >();

  constructor(options: AdminHandlerOptions) {
    if (typeof options?.source?.snapshot !== 'function') {
      throw new PlumblineError(
        'PLB_ADMIN_CONFIG_INVALID',
        'the admin handler needs a source with snapshot()',
      );
    }
    this.#auth = new AdminAuthenticator(options.auth ?? {});
    this.#now = options.now ?? Date.now;
    this.#limiter =
      options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? {}, this.#now);
    const base = options.basePath ?? '/_admin';
    if (!BASE_RE.test(base) || base.split('/').some((s) => s === '.' || s === '..')) {
      throw new PlumblineError(
        'PLB_ADMIN_CONFIG_INVALID',
        'basePath is "/" followed by plain path segments',
      );
    }
    this.#maxUrl = limitOption(options.maxUrlLength, {
      name: 'maxUrlLength',
      code: 'PLB_ADMIN_CONFIG_INVALID',
      fallback: 2048,
      min: 64,
    });
    this.#provenancePath = `${base}/provenance`;
    this.#healthPath = `${base}/health`;
    this.#healthRequiresAuth = options.healthRequiresAuth === true;
    this.#source = options.source;
    this.#hook = options.onRequest;
  }

  /** One request: its answer, reported to the audit hook. Never throws (500 instead). */
  answer(
    parts: AdminRequestParts,
    context: AdminRequestContext | undefined,
    rateKey: string | (() => string),
  ): AdminReply {
    const hook = this.#hook;
    const started = hook === undefined ? 0 : this.#now();
    const x: Exchange = {
      provenanceRoute: false,
      principal: null,
      outcome: 'error',
      hash: undefined,
    };
    let result: AdminReply;
    try {
      result = this.#route(parts, context, rateKey, x);
    } catch {
      result = errorReply(500, 'PLB_INTERNAL', 'internal error');
      x.outcome = 'error';
      x.hash = undefined;
    }
    if (hook !== undefined) {
      try {
        hook({
          type: x.provenanceRoute ? 'provenance.read' : 'admin.request',
          at: new Date(started).toISOString(),
          method: parts.method,
          path: parts.pathname.slice(0, 2048),
          status: result.status,
          outcome: x.outcome,
          principal: x.principal,
          ...(context?.remoteAddress === undefined
            ? {}
            : { remote_address: context.remoteAddress }),
          ...(x.hash === undefined ? {} : { artifact_hash: x.hash }),
        });
      } catch {
        // The audit hook never fails a request.
      }
    }
    return result;
  }

  /** URL length, rate limit, route, method and credentials, in that order; then the resource. */
  #route(
    parts: AdminRequestParts,
    context: AdminRequestContext | undefined,
    rateKey: string | (() => string),
    x: Exchange,
  ): AdminReply {
    const path = parts.pathname;
    const provenanceRoute = path === this.#provenancePath;
    const health = path === this.#healthPath;
    x.provenanceRoute = provenanceRoute;
    if (parts.urlLength > this.#maxUrl) {
      x.provenanceRoute = false;
      x.outcome = 'not_found';
      return URL_TOO_LONG_REPLY;
    }
    const limiter = this.#limiter;
    if (limiter !== undefined) {
      const wait = limiter.take(typeof rateKey === 'string' ? rateKey : rateKey());
      if (wait > 0) {
        x.provenanceRoute = false;
        x.outcome = 'rate_limited';
        return errorReply(429, 'PLB_ADMIN_RATE_LIMITED', 'too many requests', {
          'retry-after': String(wait),
        });
      }
    }
    if (!provenanceRoute && !health) {
      x.outcome = 'not_found';
      return NOT_FOUND_REPLY;
    }
    if (parts.method !== 'GET' && parts.method !== 'HEAD') {
      x.outcome = 'method_not_allowed';
      return METHOD_NOT_ALLOWED_REPLY;
    }
    const checked =
      provenanceRoute || this.#healthRequiresAuth
        ? this.#authenticate(parts.header('authorization'), context)
        : undefined;
    if (checked !== undefined && !checked.ok) {
      x.outcome = 'unauthenticated';
      return UNAUTHENTICATED_REPLY;
    }
    if (checked !== undefined) x.principal = checked.principal;
    if (health) {
      x.outcome = 'allowed';
      return HEALTH_REPLY;
    }
    return this.#provenance(parts, x);
  }

  /** The provenance resource: 503 before a load, 304 for a matching ETag, else the document. */
  #provenance(parts: AdminRequestParts, x: Exchange): AdminReply {
    const doc = this.#provenanceDoc();
    if (doc === undefined) {
      x.outcome = 'unavailable';
      x.hash = null;
      return NOT_LOADED_REPLY;
    }
    x.hash = doc.hash;
    if (doc.etag !== undefined && etagMatches(parts.header('if-none-match'), doc.etag)) {
      x.outcome = 'not_modified';
      return doc.notModified;
    }
    x.outcome = 'allowed';
    if (!wantsEntries(parts.search)) return doc.plain;
    doc.entries ??= reply(
      200,
      utf8(JSON.stringify(provenanceDocument(doc.snapshot, true))),
      doc.etag === undefined ? {} : { etag: doc.etag },
    );
    return doc.entries;
  }

  /** Credentials, remembered per connection while they stay the same. */
  #authenticate(header: string | null, context: AdminRequestContext | undefined): AuthResult {
    const connection = context?.connection;
    if (connection === undefined || header === null)
      return this.#auth.authenticate(header, context);
    const known = this.#sessions.get(connection);
    if (
      known !== undefined &&
      known.cert === context?.clientCertificate &&
      textEqual(known.header, header)
    ) {
      return known.result;
    }
    const result = this.#auth.authenticate(header, context);
    if (result.ok) {
      this.#sessions.set(connection, { header, cert: context?.clientCertificate, result });
    } else {
      this.#sessions.delete(connection);
    }
    return result;
  }

  /** The provenance answer for the loaded artifact (cached per registry version). */
  #provenanceDoc(): CachedDocument | undefined {
    const snapshot = this.#source.snapshot();
    if (snapshot.current === undefined) return undefined;
    const cached = this.#cached;
    if (cached?.version === snapshot.version) return cached;
    const hash = snapshot.current.artifact_hash;
    const etag = hash === null ? undefined : `"${hash}"`;
    const extra: Record<string, string> = etag === undefined ? {} : { etag };
    this.#cached = {
      version: snapshot.version,
      hash,
      etag,
      snapshot,
      plain: reply(200, utf8(JSON.stringify(provenanceDocument(snapshot, false))), extra),
      notModified: reply(304, undefined, extra),
      entries: undefined,
    };
    return this.#cached;
  }
}
