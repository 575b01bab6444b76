import type { AuditLogger } from '../audit/logger.js';
import type { AuditActor } from '../audit/envelope.js';
import { provenanceRead } from '../audit/catalogue.js';
import type { AdminRequestEvent } from './handler.js';

/**
 * Options of {@link adminAuditHook}.
 *
 * @public
 */
export interface AdminAuditHookOptions {
  /** The node serving the endpoint, recorded in the details. */
  readonly nodeId?: string;
  /** Also record requests to other admin routes (health, unknown paths). Default `false`. */
  readonly allRoutes?: boolean;
  /** Called when the logger rejects an event. Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

function actorOf(event: AdminRequestEvent): AuditActor {
  const address = event.remote_address === undefined ? {} : { address: event.remote_address };
  const principal = event.principal;
  if (principal === null || principal.methods.length === 0) {
    return { type: 'anonymous', id: 'anonymous', ...address };
  }
  return {
    type: 'service',
    id: principal.id,
    ...(principal.spiffe_id === undefined ? {} : { spiffe_id: principal.spiffe_id }),
    ...address,
  };
}

/**
 * Turns the admin handler's request events into `provenance.read` audit events (`success` when
 * served, `deny` when authentication or the rate limit refused it, `failure` otherwise); pass the
 * result as `onRequest`. The principal is recorded, never a credential. Delivery is asynchronous
 * and never delays a response.
 *
 * @example
 * ```ts
 * import { adminAuditHook, createAdminHandler } from '@plumbline/core/admin';
 * const handler = createAdminHandler({ source: registry, auth, onRequest: adminAuditHook(audit, { nodeId: 'gw-1' }) });
 * ```
 * @public
 */
export function adminAuditHook(
  logger: AuditLogger,
  options: AdminAuditHookOptions = {},
): (event: AdminRequestEvent) => void {
  const onError = options.onError ?? (() => undefined);
  return (event) => {
    if (event.type !== 'provenance.read' && options.allRoutes !== true) return;
    const outcome =
      event.outcome === 'allowed' || event.outcome === 'not_modified'
        ? ('success' as const)
        : event.outcome === 'unauthenticated' || event.outcome === 'rate_limited'
          ? ('deny' as const)
          : ('failure' as const);
    logger
      .emit(
        provenanceRead({
          actor: actorOf(event),
          outcome,
          time: event.at,
          ...(outcome === 'success' ? {} : { reason: event.outcome }),
          details: {
            ...(options.nodeId === undefined ? {} : { node_id: options.nodeId }),
            artifact_hash: event.artifact_hash ?? null,
            path: event.path.slice(0, 2048),
            status: event.status,
          },
        }),
      )
      .catch(onError);
  };
}
