import { SDK_ID } from '../version.js';
import type { LoadedArtifactSnapshot } from '../verify/registry.js';

function withoutCredentials(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // A URL with user:password@ must never be served; keep the rest.
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)(.*)$/i.exec(value);
  return match ? `${match[1]!}${match[3]!}` : value;
}

/**
 * The JSON document of `GET /_admin/provenance`. Built only from the loaded artifact record:
 * never from the environment, the request or configuration.
 *
 * @internal
 */
export function provenanceDocument(
  snapshot: LoadedArtifactSnapshot,
  withEntries: boolean,
): Record<string, unknown> {
  const current = snapshot.current!;
  const provenance = current.provenance;
  const verification = current.verification;
  const buildUrl = withoutCredentials(provenance?.build_url);
  const document: Record<string, unknown> = {
    artifact_hash: current.artifact_hash,
    artifact_digest: current.artifact_digest,
    header_digest: current.header_digest,
    kind: current.kind,
    build_timestamp: current.build_timestamp,
    commit: provenance?.commit ?? null,
    source: withoutCredentials(provenance?.source) ?? null,
    ref: provenance?.ref ?? null,
    builder: provenance?.builder ?? null,
    ...(buildUrl === undefined ? {} : { build_url: buildUrl }),
    loaded_at: current.loaded_at,
    instance_id: snapshot.instance_id,
    verification: {
      mode: verification.mode,
      status: verification.status,
      reasons: verification.reasons,
      checks: verification.checks,
    },
    signature: verification.signature ?? null,
    sdk: SDK_ID,
    workers: snapshot.workers,
    last_load_error: snapshot.last_load_error ?? null,
  };
  if (withEntries) document['entries'] = current.inputs;
  return document;
}
