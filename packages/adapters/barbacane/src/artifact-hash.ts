/**
 * Recomputation of Barbacane's own `artifact_hash`, with the formula of the compiler that wrote
 * each artifact version.
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

/**
 * Artifact versions whose `artifact_hash` formula this package reproduces: every version that
 * has one (version 1 has none).
 *
 * @public
 */
export const RECOMPUTABLE_BARBACANE_VERSIONS: readonly number[] = [2, 3, 4, 5, 6];

// Rust's `{:?}` of the WAF enums (`WafMode`, `AuditEngine`, `UnsupportedRules`), whose serde
// names are kebab-case.
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

// `WafConfig::default()`: what serde fills in when a version 5 or 6 manifest has no `waf`.
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

/** Rust's `String` order (`Ord` on the UTF-8 bytes), used by `BTreeMap` and `sort()`. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

type HashedManifest = BarbacaneManifest & {
  capabilities_enforced?: boolean;
  mcp?: { enabled: boolean; server_name?: string | null; server_version?: string | null };
  waf?: BarbacaneWafConfig;
};

/**
 * The lines every formula starts with (barbacane-compiler `src/artifact.rs`,
 * `compute_artifact_hash`, from tag v0.3.0 on): one `source_spec:<file>=<sha256>` per source spec
 * in manifest order (the compiler sorts them by file name before writing), then one `<key>=<value>`
 * per checksum in key byte order (`BTreeMap`).
 */
function specAndChecksumLines(m: HashedManifest): string[] {
  const lines = m.source_specs.map((spec) => `source_spec:${spec.file}=${spec.sha256}\n`);
  for (const key of Object.keys(m.checksums).sort(compareBytes)) {
    lines.push(`${key}=${m.checksums[key]}\n`);
  }
  return lines;
}

/**
 * The capability surface and MCP lines added at artifact version 4 (barbacane-compiler
 * `src/artifact.rs` at tags v0.8.0 and v0.8.1): `capabilities_enforced`, one line per plugin in
 * manifest order with its `host_functions` sorted by bytes, and the MCP configuration (an absent
 * `mcp` or name is serde's default: disabled, empty).
 */
function capabilityLines(m: HashedManifest): string[] {
  const lines = [`capabilities_enforced=${m.capabilities_enforced === true}\n`];
  for (const p of m.plugins) {
    const hostFunctions = [...p.capabilities.host_functions].sort(compareBytes).join(',');
    lines.push(
      `plugin:${p.name}\ttype=${p.plugin_type}\tversion=${p.version}\tbody_access=${p.capabilities.body_access}\thost_functions=${hostFunctions}\n`,
    );
  }
  const mcp = m.mcp ?? { enabled: false };
  lines.push(
    `mcp:enabled=${mcp.enabled}\tserver_name=${mcp.server_name ?? ''}\tserver_version=${mcp.server_version ?? ''}\n`,
  );
  return lines;
}

/**
 * The WAF policy line added at artifact version 5 (barbacane-compiler `src/artifact.rs` on the
 * main branch after v0.8.1, where `ARTIFACT_VERSION` is 6; no release writes versions 5 or 6
 * yet). Integers are printed as Rust prints them (thresholds are `i64`, kept exact as `bigint`
 * beyond 2^53).
 */
function wafLine(m: HashedManifest): string {
  const waf = m.waf ?? DEFAULT_WAF;
  return `waf:enabled=${waf.enabled}\tparanoia=${waf.paranoia_level}\tmode=${WAF_MODE[waf.mode]}\tinbound=${waf.inbound_threshold}\toutbound=${waf.outbound_threshold}\tmax_response_body=${waf.max_response_body}\taudit=${WAF_AUDIT[waf.audit]}\tunsupported=${WAF_UNSUPPORTED[waf.unsupported_rules]}\tskipped=${waf.skipped_rules.join(',')}\n`;
}

/**
 * The lines Barbacane's compiler hashes into `artifact_hash` for a manifest of artifact version
 * 2 to 6, with the formula of the compiler that wrote that version:
 *
 * - versions 2 (Barbacane 0.3.0 to 0.5.2) and 3 (0.6.0 to 0.7.0): source specs and checksums;
 * - version 4 (0.8.0, 0.8.1): also the capability surface and MCP configuration;
 * - versions 5 and 6 (main after 0.8.1): also the WAF policy (version 6 changed `routes.json`
 *   only, which the hash covers through its checksum).
 *
 * @internal
 */
export function barbacaneArtifactHashLines(manifest: BarbacaneManifest): string[] {
  const m = manifest as HashedManifest;
  const version = m.barbacane_artifact_version;
  const lines = specAndChecksumLines(m);
  if (version >= 4) lines.push(...capabilityLines(m));
  if (version >= 5) lines.push(wafLine(m));
  return lines;
}

/**
 * SHA-256 over {@link barbacaneArtifactHashLines}, as `sha256:<hex>`.
 *
 * @internal
 */
export function computeBarbacaneArtifactHash(manifest: BarbacaneManifest): DigestString {
  const hash = createHash('sha256');
  for (const line of barbacaneArtifactHashLines(manifest)) hash.update(line, 'utf8');
  return `sha256:${hash.digest('hex')}` as DigestString;
}

/**
 * Recomputes Barbacane's own `artifact_hash` from the manifest's recorded inputs with the
 * formula of the compiler that wrote the artifact's version (see
 * {@link RECOMPUTABLE_BARBACANE_VERSIONS}); version 1 (Barbacane 0.1.0 to 0.2.1) has no
 * `artifact_hash` and is reported as not recomputable. Combine with `bca.checksumsOk` (the
 * members against the manifest) for a full integrity check.
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
      reason: `artifact version ${version} has no artifact_hash formula known to this package`,
    };
  }
  if (version === 4 && 'waf' in manifest) {
    // Barbacane 0.8.0 and 0.8.1 write no `waf`; a version 4 manifest with one comes from an
    // unreleased compiler whose formula changed without a version change.
    return {
      recomputable: false,
      version,
      declared,
      reason:
        'a version 4 manifest with a waf field was written by an unreleased Barbacane compiler (0.8.0 and 0.8.1 write none) whose artifact_hash formula is not known; recompile with a release',
    };
  }
  const computed = computeBarbacaneArtifactHash(manifest);
  return { recomputable: true, version, declared, computed, matches: computed === declared };
}
