import type { AuditLogger } from '../audit/logger.js';
import { artifactLoaded, artifactVerificationFailed } from '../audit/catalogue.js';
import type { LoadRule } from './types.js';
import type { LoadAuditEvent } from './verify-on-load.js';

/**
 * Options of {@link loadAuditHook}.
 *
 * @public
 */
export interface LoadAuditHookOptions {
  /** The node id, recorded as the actor. Default `data-plane`. */
  readonly nodeId?: string;
  /** The artifact's path, recorded in the details. */
  readonly path?: string;
  /** Called when the logger rejects an event (a must-write sink failed). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

const STAGE: Record<LoadRule, 'header' | 'payload' | 'signature' | 'policy'> = {
  header: 'header',
  payload: 'payload',
  commit: 'policy',
  source: 'policy',
  built_after: 'policy',
  signature: 'signature',
};

/**
 * Turns {@link verifyOnLoad}'s audit events into `artifact.loaded` and
 * `artifact.verification_failed` events of an {@link AuditLogger}; pass the result as
 * `onAudit`. Delivery is asynchronous and never blocks or fails the load.
 *
 * @example
 * ```ts
 * import { loadAuditHook, verifyOnLoad } from '@plumbline/core/verify';
 * await verifyOnLoad(candidate, policy, { registry, onAudit: loadAuditHook(audit, { nodeId: 'gw-1' }) });
 * ```
 * @public
 */
export function loadAuditHook(
  logger: AuditLogger,
  options: LoadAuditHookOptions = {},
): (event: LoadAuditEvent) => void {
  const actor = { type: 'node' as const, id: options.nodeId ?? 'data-plane' };
  const path = options.path === undefined ? {} : { path: options.path };
  const onError = options.onError ?? (() => undefined);
  return (event) => {
    const digest =
      event.artifact_digest === undefined ? {} : { artifact_digest: event.artifact_digest };
    let emitted;
    if (event.type === 'artifact.loaded') {
      const hash = event.artifact_hash ?? event.artifact_digest;
      if (hash === undefined) return;
      const signature = event.signature;
      emitted = logger.emit(
        artifactLoaded({
          actor,
          time: event.at,
          details: {
            artifact_hash: hash,
            ...digest,
            ...path,
            signature:
              event.mode === 'off'
                ? 'unverified'
                : signature === undefined
                  ? 'not_required'
                  : signature.valid
                    ? 'valid'
                    : signature.present
                      ? 'unverified'
                      : 'absent',
            ...(signature?.signer?.identity === undefined && signature?.signer?.key_id === undefined
              ? {}
              : { signer: (signature.signer.identity ?? signature.signer.key_id)!.slice(0, 2048) }),
            ...(event.artifact_hash === null ? { legacy: true } : {}),
          },
        }),
      );
    } else {
      const first = event.reasons[0];
      if (first === undefined) return;
      emitted = logger.emit(
        artifactVerificationFailed({
          actor,
          time: event.at,
          ...(event.outcome === 'loaded'
            ? { outcome: 'failure' as const, severity: 'medium' as const }
            : {}),
          reason:
            event.outcome === 'loaded'
              ? 'loaded anyway (mode warn)'
              : 'load refused (mode enforce)',
          details: {
            artifact_hash: event.artifact_hash,
            ...digest,
            ...path,
            stage: STAGE[first.rule],
            code: first.code,
            message: event.reasons
              .map((r) => `${r.rule}: ${r.message}`)
              .join('; ')
              .slice(0, 4096),
          },
        }),
      );
    }
    emitted.catch(onError);
  };
}
