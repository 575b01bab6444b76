/**
 * `.bca` files as Plumbline artifacts, for the CLI's `inspect`, `verify`, `sbom` and `oci-labels`.
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import type { ArtifactHeaderInfo, ReadHeaderOptions } from '@plumbline/core/container';
import {
  encodeHeader,
  headerDigest,
  type HeaderValue,
  type ProvenanceHeader,
} from '@plumbline/core/header';
import { readHeader } from '@plumbline/core/node';
import type { Manifest } from '@plumbline/core/manifest';
import { open } from 'node:fs/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { barbacaneArtifactHash, type BarbacaneArtifactHashResult } from './artifact-hash.js';
import {
  manifestOfMembers,
  readBcaArchive,
  type BcaArtifact,
  type ReadBcaOptions,
} from './read.js';
import {
  BCA_HEADER_MEMBER,
  bcaSealInputs,
  findBcaSeal,
  legacySealRoleOf,
  type BcaSeal,
} from './seal.js';

/**
 * Whether a file is a Barbacane `.bca`: its name ends in `.bca`, or it is gzip-compressed and its
 * first tar member is `manifest.json` (Barbacane's compiler always writes that member first).
 * Reads at most the first 4 KiB.
 *
 * @example
 * ```ts
 * if (await isBcaFile('gateway.bca')) console.log('a Barbacane artifact');
 * ```
 * @public
 */
export async function isBcaFile(file: string): Promise<boolean> {
  if (file.toLowerCase().endsWith('.bca')) return true;
  let handle;
  try {
    handle = await open(file, 'r');
    // 4 KiB of deflate input holds the first tar header and inflates to at most ~4 MiB.
    const buffer = Buffer.alloc(4 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead < 2 || buffer[0] !== 0x1f || buffer[1] !== 0x8b) return false;
    const tar = gunzipSync(buffer.subarray(0, bytesRead), {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
    if (tar.length < 512) return false;
    const name = tar.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    return name === 'manifest.json' || name === './manifest.json';
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/**
 * A `.bca` as a Plumbline artifact: the archive, its Plumbline header when sealed, the inputs
 * recomputed from the archive, and every check.
 *
 * @public
 */
export interface BcaAsArtifact {
  /** The archive as read by {@link readBca}, with its checksum results. */
  readonly bca: BcaArtifact;
  /** The Plumbline header (embedded or sidecar), `null` when the artifact is not sealed. */
  readonly header: ProvenanceHeader | null;
  /**
   * Where `header` was found: `embedded` (the `plumbline/header.cbor` member), `sidecar`
   * (`<file>.plumbline`), `null` when the artifact is not sealed.
   */
  readonly headerSource: 'embedded' | 'sidecar' | null;
  /** The inputs recomputed from the archive (specs, plugins, routes.json, WAF rules). */
  readonly inputs: Manifest;
  /** Barbacane's own hash, recomputed where the version allows. */
  readonly barbacaneHash: BarbacaneArtifactHashResult;
  /**
   * The verdict: `verified` (sealed, the inputs match the header, checksums and Barbacane's hash
   * hold), `mismatch` (any of them fails) or `unverified` (no Plumbline header, but nothing
   * contradicts the manifest).
   */
  readonly status: 'verified' | 'mismatch' | 'unverified';
  /** Human-readable problems found (empty when verified). */
  readonly problems: readonly string[];
}

function changedInputs(header: ProvenanceHeader, inputs: Manifest): string[] {
  const now = new Map(inputs.entries.map((e) => [e.path, e.digest]));
  const sealed = new Map(header.inputs.map((e) => [e.path, e.digest]));
  const out: string[] = [];
  for (const [path, digest] of sealed) {
    const current = now.get(path);
    if (current === undefined) out.push(`${path}: sealed ${digest}, now missing`);
    else if (current !== digest) out.push(`${path}: sealed ${digest}, now ${current}`);
  }
  for (const [path, digest] of now) {
    if (!sealed.has(path)) out.push(`${path}: not sealed, now ${digest}`);
  }
  return out.slice(0, 20);
}

/**
 * What contradicts a Plumbline header: the archive's inputs (manifest.json included), the
 * Barbacane fields the header recorded, and the bytes the header names (the `.bca` file for a
 * sidecar, the tar stream before the header member for an embedded header).
 */
function sealProblems(
  bca: BcaArtifact,
  seal: BcaSeal,
  prefix: { digest: string; size: number } | null,
): string[] {
  const { header } = seal;
  const problems: string[] = [];
  const coversManifest = header.inputs.some((e) => e.path === 'manifest.json');
  const inputs = coversManifest
    ? bcaSealInputs(bca)
    : manifestOfMembers(bca.members, legacySealRoleOf);
  if (header.artifact_hash !== inputs.root) {
    problems.push(
      `Plumbline artifact_hash ${header.artifact_hash} does not match the archive's inputs (${inputs.root})`,
      ...changedInputs(header, inputs),
    );
  }
  const ext = (header.extensions['dev.barbacane.artifact'] ?? {}) as Record<string, HeaderValue>;
  const m = bca.manifest as Record<string, unknown>;
  if ((ext['artifact_hash'] ?? null) !== (m['artifact_hash'] ?? null)) {
    problems.push(
      `the header's recorded Barbacane artifact_hash ${String(ext['artifact_hash'] ?? 'none')} differs from the manifest's ${String(m['artifact_hash'] ?? 'none')}`,
    );
  }
  if (ext['artifact_version'] !== bca.version) {
    problems.push(
      `the header's recorded artifact version ${String(ext['artifact_version'])} differs from the manifest's ${bca.version}`,
    );
  }
  if (seal.source === 'sidecar') {
    if (header.payload.digest !== bca.digest) {
      problems.push(
        `the sidecar names payload ${header.payload.digest}, the file is ${bca.digest}`,
      );
    }
    return problems;
  }
  if (!coversManifest || typeof ext['tar_digest'] !== 'string') {
    problems.push(
      'the embedded header covers neither manifest.json nor the tar stream (sealed by an earlier version); seal the original .bca again',
    );
    return problems;
  }
  const digest = prefix?.digest ?? 'none';
  const end = prefix?.size ?? 0;
  if (digest !== ext['tar_digest'] || end !== ext['tar_size']) {
    problems.push(
      `the tar stream before ${BCA_HEADER_MEMBER} is ${digest} (${end} bytes); the header recorded ${ext['tar_digest']} (${String(ext['tar_size'])} bytes)`,
    );
  }
  return problems;
}

/**
 * Reads a `.bca` and checks it as a Plumbline artifact (see {@link BcaAsArtifact.status}).
 *
 * @example
 * ```ts
 * const result = await loadBcaAsArtifact('gateway.bca');
 * process.exitCode = result.status === 'verified' ? 0 : result.status === 'mismatch' ? 1 : 3;
 * ```
 * @throws PlumblineError every code of {@link readBca} and {@link findBcaSeal}.
 * @public
 */
export async function loadBcaAsArtifact(
  file: string,
  options: ReadBcaOptions = {},
): Promise<BcaAsArtifact> {
  const { bca, prefix } = await readBcaArchive(file, options, BCA_HEADER_MEMBER);
  const seal = await findBcaSeal(file, bca);
  const inputs = bcaSealInputs(bca);
  const barbacaneHash = barbacaneArtifactHash(bca);
  const problems: string[] = [];
  for (const c of bca.checksums) {
    if (c.status !== 'ok') problems.push(`${c.path}: checksum ${c.status} (${c.listed_in})`);
  }
  if (barbacaneHash.recomputable && !barbacaneHash.matches) {
    problems.push(
      `Barbacane artifact_hash ${barbacaneHash.declared} does not match the recomputed ${barbacaneHash.computed}`,
    );
  }
  if (seal !== null) problems.push(...sealProblems(bca, seal, prefix));
  const status = problems.length > 0 ? 'mismatch' : seal === null ? 'unverified' : 'verified';
  return {
    bca,
    header: seal?.header ?? null,
    headerSource: seal?.source ?? null,
    inputs,
    barbacaneHash,
    status,
    problems,
  };
}

/**
 * Reads an artifact's provenance header whether it is a Plumbline container or a sealed Barbacane
 * `.bca` (embedded member or sidecar), in the shape of core's `readHeader`. For a `.bca`,
 * `containerVersion` is 0, `artifactDigest` is the `.bca` file's SHA-256, and the header is
 * returned only when the archive matches it.
 *
 * @example
 * ```ts
 * const { header } = await readArtifactHeader('gateway.bca');
 * ```
 * @throws PlumblineError `PLB_LEGACY_ARTIFACT` for a `.bca` without a Plumbline header (as for
 *   a legacy artifact), `PLB_BCA_SEAL_MISMATCH` when a sealed `.bca` does not match its header or
 *   its own checksums, the codes of {@link readBca}, and those of core's `readHeader`.
 * @public
 */
export async function readArtifactHeader(
  file: string,
  options: ReadHeaderOptions = {},
): Promise<ArtifactHeaderInfo> {
  if (!(await isBcaFile(file))) return readHeader(file, options);
  const result = await loadBcaAsArtifact(file, options.signal ? { signal: options.signal } : {});
  if (result.status === 'mismatch') {
    throw new PlumblineError(
      'PLB_BCA_SEAL_MISMATCH',
      `the .bca does not match its Plumbline header or its own checksums: ${result.problems[0] ?? ''}`,
      { details: { problems: result.problems.slice(0, 20) } },
    );
  }
  if (result.header === null) {
    throw new PlumblineError(
      'PLB_LEGACY_ARTIFACT',
      'a Barbacane .bca without a Plumbline header (seal it with plumbline barbacane seal): unverified',
    );
  }
  const headerBytes = encodeHeader(result.header);
  return {
    containerVersion: 0,
    header: result.header,
    headerBytes,
    headerDigest: headerDigest(headerBytes),
    attachments: {},
    attachmentsBytes: Uint8Array.of(0xa0),
    headerOffset: 0,
    payloadOffset: 0,
    artifactDigest: result.bca.digest,
  };
}
