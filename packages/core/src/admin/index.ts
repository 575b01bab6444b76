/**
 * The admin endpoint a data plane serves to operators: `GET /_admin/provenance` and
 * `GET /_admin/health` as a WHATWG fetch handler, with bearer-token and client-certificate
 * (SPIFFE) authentication, a per-client rate limit and an audit hook.
 *
 * @packageDocumentation
 */
export {
  createAdminHandler,
  type AdminHandler,
  type AdminHandlerOptions,
  type AdminRequestEvent,
} from './handler.js';
export {
  hashAdminToken,
  type AdminTokenHash,
  type AdminAuthOptions,
  type AdminPrincipal,
  type AdminRequestContext,
  type ClientCertificateInfo,
} from './auth.js';
export { RateLimiter, TokenBucket, type AdminRateLimitOptions } from './rate-limit.js';
export { adminAuditHook, type AdminAuditHookOptions } from './audit.js';
