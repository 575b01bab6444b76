/**
 * Recomputation of Barbacane's own `artifact_hash`.
 *
 * @packageDocumentation
 */
import type { DigestString } from '@plumbline/core/hash';
import { createHash } from 'node:crypto';
import type { BcaArtifact } from './read.js';
import type { BarbacaneManifest, BarbacaneWafConfig } from './schema.js';

/**
 * The result of {@link barbacaneArtifactHash}.
 *
 * @public
 */
export type BarbacaneArtifactHashResult =
  | {
      readonly recomputable: true;
      readonly version: number;
      /** The `artifact_hash` the manifest declares. */
      readonly declared: DigestString;
      /** The hash recomputed from the manifest's recorded inputs. */
      readonly computed: DigestString;
      /** Whether both agree. */
      readonly matches: boolean;
    }
  | {
      readonly recomputable: false;
      readonly version: number;
      /** The declared hash, `null` when the version has none. */
      readonly declared: DigestString | null;
      /** Why this version cannot be recomputed. */
      readonly reason: string;
    };

/** Artifact versions whose `artifact_hash` formula this package reproduces. @public */
export const RECOMPUTABLE_BARBACANE_VERSIONS: readonly number[] = [5, 6];

const WAF_MODE: Readonly<Record<string, string>> = {
  blocking: 'Blocking',
  'detection-only': 'DetectionOnly',
};
const WAF_AUDIT: Readonly<Record<string, string>> = {
  off: 'Off',
  'relevant-only': 'RelevantOnly',
  on: 'On',
};
const WAF_UNSUPPORTED: Readonly<Record<string, string>> = { fail: 'Fail', skip: 'Skip' };

const DEFAULT_WAF: BarbacaneWafConfig = {
  enabled: false,
  paranoia_level: 0,
  mode: 'blocking',
  inbound_threshold: 0,
  outbound_threshold: 0,
  max_response_body: 1_048_576,
  audit: 'relevant-only',
  unsupported_rules: 'fail',
  skipped_rules: [],
};

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The artifact-hash formula of artifact versions 5 and 6 (version 6 changed routes.json only,
 * which the hash covers through its checksum): SHA-256 over newline-terminated lines for every
 * source spec, every checksum (sorted by key bytes), the capability surface, every plugin, the
 * MCP configuration and the WAF policy.
 *
 * @internal
 */
export function computeV5ArtifactHash(manifest: BarbacaneManifest): DigestString {
  const m = manifest as BarbacaneManifest & {
    capabilities_enforced?: boolean;
    mcp?: { enabled: boolean; server_name?: string | null; server_version?: string | null };
    waf?: BarbacaneWafConfig;
  };
  const hash = createHash('sha256');
  for (const spec of m.source_specs) hash.update(`source_spec:${spec.file}=${spec.sha256}\n`);
  const keys = Object.keys(m.checksums).sort(compareBytes);
  for (const key of keys) hash.update(`${key}=${m.checksums[key]}\n`);
  hash.update(`capabilities_enforced=${m.capabilities_enforced === true}\n`);
  for (const p of m.plugins) {
    const hostFunctions = [...p.capabilities.host_functions].sort(compareBytes).join(',');
    hash.update(
      `plugin:${p.name}\ttype=${p.plugin_type}\tversion=${p.version}\tbody_access=${p.capabilities.body_access}\thost_functions=${hostFunctions}\n`,
    );
  }
  const mcp = m.mcp ?? { enabled: false };
  hash.update(
    `mcp:enabled=${mcp.enabled}\tserver_name=${mcp.server_name ?? ''}\tserver_version=${mcp.server_version ?? ''}\n`,
  );
  const waf = m.waf ?? DEFAULT_WAF;
  hash.update(
    `waf:enabled=${waf.enabled}\tparanoia=${waf.paranoia_level}\tmode=${WAF_MODE[waf.mode]}\tinbound=${waf.inbound_threshold}\toutbound=${waf.outbound_threshold}\tmax_response_body=${waf.max_response_body}\taudit=${WAF_AUDIT[waf.audit]}\tunsupported=${WAF_UNSUPPORTED[waf.unsupported_rules]}\tskipped=${waf.skipped_rules.join(',')}\n`,
  );
  return `sha256:${hash.digest('hex')}` as DigestString;
}

/**
 * Recomputes Barbacane's own `artifact_hash` from the manifest's recorded inputs, for the
 * artifact versions whose formula is known (5 and 6), and says for the others why it cannot:
 * version 1 has no `artifact_hash`; versions 2 to 4 hashed a different, smaller set of fields
 * that the current compiler no longer documents, so a recomputation could not be trusted.
 * Combine with `bca.checksumsOk` (the members against the manifest) for a full integrity check.
 *
 * @example
 * ```ts
 * const result = barbacaneArtifactHash(await readBca('gateway.bca'));
 * if (result.recomputable && !result.matches) console.error('manifest tampered');
 * ```
 * @public
 */
export function barbacaneArtifactHash(
  bca: Pick<BcaArtifact, 'manifest'>,
): BarbacaneArtifactHashResult {
  const { manifest } = bca;
  const version = manifest.barbacane_artifact_version;
  const declared =
    'artifact_hash' in manifest && typeof manifest.artifact_hash === 'string'
      ? (manifest.artifact_hash as DigestString)
      : null;
  if (declared === null) {
    return {
      recomputable: false,
      version,
      declared: null,
      reason: `artifact version ${version} has no artifact_hash (it was added in version 2)`,
    };
  }
  if (!RECOMPUTABLE_BARBACANE_VERSIONS.includes(version)) {
    return {
      recomputable: false,
      version,
      declared,
      reason: `artifact version ${version} used an earlier artifact_hash formula (before the WAF policy fields were bound in version 5) that is not reproduced; recompile with a current Barbacane to get a verifiable hash`,
    };
  }
  const computed = computeV5ArtifactHash(manifest);
  return { recomputable: true, version, declared, computed, matches: computed === declared };
}
