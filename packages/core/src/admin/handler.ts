import { PlumblineError } from '../errors.js';
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
  if (typeof options?.source?.snapshot !== 'function') {
    throw new PlumblineError(
      'PLB_ADMIN_CONFIG_INVALID',
      'the admin handler needs a source with snapshot()',
    );
  }
  const auth = new AdminAuthenticator(options.auth ?? {});
  const now = options.now ?? Date.now;
  const limiter =
    options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? {}, now);
  const base = options.basePath ?? '/_admin';
  if (!BASE_RE.test(base) || base.split('/').some((s) => s === '.' || s === '..')) {
    throw new PlumblineError(
      'PLB_ADMIN_CONFIG_INVALID',
      'basePath is "/" followed by plain path segments',
    );
  }
  const maxUrl = options.maxUrlLength ?? 2048;
  if (!Number.isInteger(maxUrl) || maxUrl < 64) {
    throw new PlumblineError(
      'PLB_ADMIN_CONFIG_INVALID',
      'maxUrlLength must be an integer of at least 64',
    );
  }
  const provenancePath = `${base}/provenance`;
  const healthPath = `${base}/health`;
  const source = options.source;
  const hook = options.onRequest;
  const customKey = options.rateLimitKey;
  let cached: CachedDocument | undefined;
  // Answers that never change are built once and shared by every request.
  const healthReply = reply(200, utf8('{"status":"ok"}'));
  const unauthenticatedReply = errorReply(
    401,
    'PLB_ADMIN_UNAUTHENTICATED',
    'authentication required',
    { 'www-authenticate': 'Bearer realm="plumbline-admin"' },
  );
  const notFoundReply = errorReply(404, 'PLB_ADMIN_NOT_FOUND', 'no such admin resource');
  const urlTooLongReply = errorReply(414, 'PLB_ADMIN_URL_TOO_LONG', 'the URL is too long');
  const notLoadedReply = errorReply(503, 'PLB_ADMIN_NOT_LOADED', 'no artifact is loaded yet');
  const methodNotAllowedReply = errorReply(
    405,
    'PLB_ADMIN_METHOD_NOT_ALLOWED',
    'this resource answers GET and HEAD',
    { allow: ALLOW },
  );

  // What each connection last authenticated with (see AdminRequestContext.connection).
  const sessions = new WeakMap<
    object,
    { header: string; cert: unknown; result: AuthResult & { ok: true } }
  >();
  const authenticate = (
    header: string | null,
    context: AdminRequestContext | undefined,
  ): AuthResult => {
    const connection = context?.connection;
    if (connection === undefined || header === null) return auth.authenticate(header, context);
    const known = sessions.get(connection);
    if (
      known !== undefined &&
      known.cert === context?.clientCertificate &&
      textEqual(known.header, header)
    ) {
      return known.result;
    }
    const result = auth.authenticate(header, context);
    if (result.ok) {
      sessions.set(connection, { header, cert: context?.clientCertificate, result });
    } else {
      sessions.delete(connection);
    }
    return result;
  };

  /** The provenance answer for the loaded artifact (cached per registry version). */
  const provenanceDoc = (): CachedDocument | undefined => {
    const snapshot = source.snapshot();
    if (snapshot.current === undefined) return undefined;
    if (cached?.version !== snapshot.version) {
      const hash = snapshot.current.artifact_hash;
      const etag = hash === null ? undefined : `"${hash}"`;
      const extra: Record<string, string> = etag === undefined ? {} : { etag };
      cached = {
        version: snapshot.version,
        hash,
        etag,
        snapshot,
        plain: reply(200, utf8(JSON.stringify(provenanceDocument(snapshot, false))), extra),
        notModified: reply(304, undefined, extra),
        entries: undefined,
      };
    }
    return cached;
  };

  const core = (
    parts: AdminRequestParts,
    context: AdminRequestContext | undefined,
    rateKey: string | (() => string),
  ): AdminReply => {
    const started = hook === undefined ? 0 : now();
    let principal: AdminPrincipal | null = null;
    let provenanceRoute = false;
    let result: AdminReply;
    let outcome: AdminRequestEvent['outcome'];
    let hash: DigestString | null | undefined;
    // One pass, no closures: this runs for every request.
    try {
      const path = parts.pathname;
      provenanceRoute = path === provenancePath;
      const health = path === healthPath;
      let wait = 0;
      if (parts.urlLength > maxUrl) {
        provenanceRoute = false;
        result = urlTooLongReply;
        outcome = 'not_found';
      } else if (
        limiter !== undefined &&
        (wait = limiter.take(typeof rateKey === 'string' ? rateKey : rateKey())) > 0
      ) {
        provenanceRoute = false;
        result = errorReply(429, 'PLB_ADMIN_RATE_LIMITED', 'too many requests', {
          'retry-after': String(wait),
        });
        outcome = 'rate_limited';
      } else if (!provenanceRoute && !health) {
        result = notFoundReply;
        outcome = 'not_found';
      } else if (parts.method !== 'GET' && parts.method !== 'HEAD') {
        result = methodNotAllowedReply;
        outcome = 'method_not_allowed';
      } else {
        const checked =
          provenanceRoute || options.healthRequiresAuth === true
            ? authenticate(parts.header('authorization'), context)
            : undefined;
        if (checked !== undefined && !checked.ok) {
          result = unauthenticatedReply;
          outcome = 'unauthenticated';
        } else {
          if (checked !== undefined) principal = checked.principal;
          if (health) {
            result = healthReply;
            outcome = 'allowed';
          } else {
            const doc = provenanceDoc();
            if (doc === undefined) {
              result = notLoadedReply;
              outcome = 'unavailable';
              hash = null;
            } else if (
              doc.etag !== undefined &&
              etagMatches(parts.header('if-none-match'), doc.etag)
            ) {
              result = doc.notModified;
              outcome = 'not_modified';
              hash = doc.hash;
            } else {
              if (wantsEntries(parts.search)) {
                doc.entries ??= reply(
                  200,
                  utf8(JSON.stringify(provenanceDocument(doc.snapshot, true))),
                  doc.etag === undefined ? {} : { etag: doc.etag },
                );
                result = doc.entries;
              } else {
                result = doc.plain;
              }
              outcome = 'allowed';
              hash = doc.hash;
            }
          }
        }
      }
    } catch {
      result = errorReply(500, 'PLB_INTERNAL', 'internal error');
      outcome = 'error';
      hash = undefined;
    }
    if (hook !== undefined) {
      try {
        hook({
          type: provenanceRoute ? 'provenance.read' : 'admin.request',
          at: new Date(started).toISOString(),
          method: parts.method,
          path: parts.pathname.slice(0, 2048),
          status: result.status,
          outcome,
          principal,
          ...(context?.remoteAddress === undefined
            ? {}
            : { remote_address: context.remoteAddress }),
          ...(hash === undefined ? {} : { artifact_hash: hash }),
        });
      } catch {
        // The audit hook never fails a request.
      }
    }
    return result;
  };

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
    const result = core(
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
      core(parts, context, context?.remoteAddress ?? 'anonymous'),
    );
  }
  return handler;
}
