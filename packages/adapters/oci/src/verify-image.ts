import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PlumblineError } from '@plumbline/core';
import type { ProvenanceHeader } from '@plumbline/core/header';
import { readHeader } from '@plumbline/core/node';
import { OCI_LABEL_KEYS, sourceUrl } from './labels.js';
import { throwIfAborted } from './layout/blobs.js';
import type { OciDescriptor } from './layout/descriptor.js';
import { readOciImage, type OciImage, type OciPlatform } from './layout/image.js';
import { normalizeEntryPath, scanLayer, type LayerPathState } from './layout/layers.js';
import { resolveLimits, type OciLayoutLimits } from './layout/limits.js';

/**
 * The artifact an image should carry: its header (from `readHeader`), optionally the header digest,
 * and, for `pathInImage`, the artifact file itself.
 *
 * @public
 */
export interface ImageArtifact {
  /** The artifact's provenance header. */
  readonly header: ProvenanceHeader;
  /** The header digest, to check `dev.plumbline.header.digest`. */
  readonly headerDigest?: string;
  /**
   * The artifact file (a path, or its digest and size) to compare byte for byte with the file at
   * `pathInImage`.
   */
  readonly file?: string | { readonly digest: string; readonly size: number };
}

/**
 * Options for {@link verifyImage}.
 *
 * @public
 */
export interface VerifyImageOptions {
  /** The OCI image layout directory (with `oci-layout` and `index.json`). */
  readonly layout: string;
  /** The image to check: an `org.opencontainers.image.ref.name` or a manifest digest. Optional when the layout holds one image. */
  readonly ref?: string;
  /**
   * The artifact the image should carry: a sealed artifact file (its header is read with core's
   * `readHeader`, and the file is what `pathInImage` is compared with), or its parts.
   */
  readonly artifact: string | ImageArtifact;
  /** Where the artifact file sits inside the image (absolute or relative to `/`). */
  readonly pathInImage?: string;
  /** The platform to choose from a multi-platform index (default: linux and this machine's architecture). */
  readonly platform?: OciPlatform;
  /** Labels that must be present (default: `dev.plumbline.artifact.hash`). */
  readonly requiredLabels?: readonly string[];
  /** Whether to stream and verify every layer blob's digest even without `pathInImage` (default true). */
  readonly verifyLayers?: boolean;
  /** Size and count limits (defaults in {@link DEFAULT_OCI_LAYOUT_LIMITS}). */
  readonly limits?: Partial<OciLayoutLimits>;
  /** Stops the verification with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * One label compared with the artifact.
 *
 * @public
 */
export interface LabelCheck {
  /** The label key. */
  readonly key: string;
  /** The value the artifact's header implies. */
  readonly expected: string;
  /** The image's value, or `null` when it has none. */
  readonly actual: string | null;
  /** `match`; `mismatch`; `missing` (a required label is absent); `absent` (optional and absent). */
  readonly status: 'match' | 'mismatch' | 'missing' | 'absent';
}

/**
 * A failed check, with a stable code.
 *
 * @public
 */
export interface ImageProblem {
  /** The stable code of the failed check. */
  readonly code:
    | 'PLB_OCI_LABEL_MISSING'
    | 'PLB_OCI_LABEL_MISMATCH'
    | 'PLB_OCI_FILE_MISSING'
    | 'PLB_OCI_FILE_MISMATCH'
    | 'PLB_OCI_FILE_NOT_REGULAR';
  /** A readable description. */
  readonly message: string;
  /** Structured context: the label key, the path, expected and actual values. */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * The file at `pathInImage` compared with the artifact.
 *
 * @public
 */
export interface ImageFileCheck {
  /** The absolute path in the image. */
  readonly path: string;
  /** `match`, `mismatch` (other bytes), `missing` (absent or whited out), `not-regular` (a directory, link, device). */
  readonly status: 'match' | 'mismatch' | 'missing' | 'not-regular';
  /** The artifact file's digest and size. */
  readonly expected: { readonly digest: string; readonly size: number };
  /** What the image holds, when it holds a regular file there. */
  readonly actual?: { readonly digest: string; readonly size: number };
  /** The layer the image's version of the file comes from. */
  readonly layer?: string;
}

/**
 * What {@link verifyImage} found.
 *
 * @public
 */
export interface VerifyImageResult {
  /** Whether every check passed. */
  readonly ok: boolean;
  /** The `org.opencontainers.image.ref.name` of the image checked, when it has one. */
  readonly refName: string | null;
  /** The image manifest's descriptor. */
  readonly manifest: OciDescriptor;
  /** The image config's descriptor. */
  readonly config: OciDescriptor;
  /** The layers, bottom first (each digest verified unless `verifyLayers: false`). */
  readonly layers: readonly OciDescriptor[];
  /** The image's labels (config `Labels`, falling back to manifest annotations). */
  readonly labels: Readonly<Record<string, string>>;
  /** Every label compared, sorted by key. */
  readonly checks: readonly LabelCheck[];
  /** The `pathInImage` comparison, when asked for. */
  readonly file?: ImageFileCheck;
  /** The failed checks; empty when `ok`. */
  readonly problems: readonly ImageProblem[];
}

function expectedLabels(artifact: ImageArtifact, image: OciImage): Map<string, string> {
  const header = artifact.header;
  const expected = new Map<string, string>();
  expected.set(OCI_LABEL_KEYS.artifactHash, header.artifact_hash);
  if (artifact.headerDigest !== undefined) {
    expected.set(OCI_LABEL_KEYS.headerDigest, artifact.headerDigest);
  }
  expected.set(OCI_LABEL_KEYS.builderId, header.provenance.builder.id);
  expected.set(OCI_LABEL_KEYS.format, header.format);
  if (header.provenance.commit !== undefined) {
    expected.set(OCI_LABEL_KEYS.revision, header.provenance.commit);
  }
  if (header.provenance.source !== undefined) {
    const actual = image.labels[OCI_LABEL_KEYS.source] ?? image.annotations[OCI_LABEL_KEYS.source];
    // Compare in URL form, keeping the image's host when it is a plain owner/repo difference.
    const base = actual?.match(/^(https?:\/\/[^/]+)\//)?.[1];
    expected.set(OCI_LABEL_KEYS.source, sourceUrl(header.provenance.source, base));
  }
  return expected;
}

async function fileDigest(
  file: NonNullable<ImageArtifact['file']>,
  signal: AbortSignal | undefined,
): Promise<{ digest: string; size: number }> {
  if (typeof file !== 'string') return file;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, {
    highWaterMark: 1024 * 1024,
    ...(signal ? { signal } : {}),
  })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function normalizeTarget(pathInImage: string): string {
  if (pathInImage.includes('\0') || pathInImage.replace(/^\/+/, '') === '') {
    throw new PlumblineError('PLB_OCI_PATH_INVALID', 'pathInImage must name a file', {
      details: { path: pathInImage },
    });
  }
  try {
    return normalizeEntryPath(pathInImage.replace(/^\/+/, ''), 'pathInImage');
  } catch (cause) {
    throw new PlumblineError(
      'PLB_OCI_PATH_INVALID',
      `pathInImage ${JSON.stringify(pathInImage)} has a .. segment`,
      {
        details: { path: pathInImage },
        cause,
      },
    );
  }
}

/**
 * Verifies an OCI image layout on disk (no daemon) against an artifact: reads `index.json`, the
 * manifest and the config with every digest and size verified while reading, checks the image's
 * labels against the artifact header, streams every layer blob to verify its digest, and, with
 * `pathInImage`, decompresses the layers (gzip; zstd where `node:zlib` has it), checks each layer's
 * `diff_id`, and confirms the file at that path — after applying layer order and whiteouts — is
 * byte-identical to the artifact file.
 *
 * Integrity and format failures throw; label and file mismatches are reported in the result
 * (`ok: false`, `problems`).
 *
 * @example
 * ```ts
 * import { verifyImage } from '@plumbline/oci';
 * import { readHeader } from '@plumbline/core/node';
 * const { header, headerDigest } = await readHeader('dist/gateway.plb');
 * const result = await verifyImage({
 *   layout: 'build/image', ref: 'v1',
 *   artifact: { header, headerDigest, file: 'dist/gateway.plb' },
 *   pathInImage: '/etc/gateway/gateway.plb',
 * });
 * if (!result.ok) for (const p of result.problems) console.error(p.code, p.message);
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_OCI_LAYOUT_INVALID`, `PLB_OCI_INDEX_MISSING`,
 *   `PLB_OCI_JSON_INVALID`, `PLB_OCI_LIMIT`, `PLB_OCI_BLOB_MISSING`, `PLB_OCI_SIZE_MISMATCH`,
 *   `PLB_OCI_DIGEST_MISMATCH`, `PLB_OCI_DIFFID_MISMATCH`, `PLB_OCI_DIGEST_UNSUPPORTED`,
 *   `PLB_OCI_REF_NOT_FOUND`, `PLB_OCI_REF_AMBIGUOUS`, `PLB_OCI_PLATFORM_NOT_FOUND`,
 *   `PLB_OCI_MEDIA_TYPE_UNSUPPORTED`, `PLB_OCI_LAYER_INVALID`, `PLB_OCI_PATH_TRAVERSAL`,
 *   `PLB_OCI_PATH_INVALID`, `PLB_OCI_OPTIONS`, `PLB_ABORTED`, and for an artifact path the errors
 *   of core's `readHeader` (`PLB_LEGACY_ARTIFACT`, `PLB_TRUNCATED`, …).
 * @public
 */
export async function verifyImage(options: VerifyImageOptions): Promise<VerifyImageResult> {
  const limits = resolveLimits(options.limits);
  const signal = options.signal;
  const target =
    options.pathInImage === undefined ? undefined : normalizeTarget(options.pathInImage);
  const artifact = await imageArtifactOf(options, target);
  const image = await readOciImage(options.layout, {
    limits,
    ...(options.ref === undefined ? {} : { ref: options.ref }),
    ...(options.platform === undefined ? {} : { platform: options.platform }),
    ...(signal ? { signal } : {}),
  });
  const problems: ImageProblem[] = [];
  const required = new Set(options.requiredLabels ?? [OCI_LABEL_KEYS.artifactHash]);
  const checks = checkLabels(artifact, image, required, problems);
  let file: ImageFileCheck | undefined;
  if (target !== undefined || options.verifyLayers !== false) {
    const found = await scanLayers(options, image, limits, target);
    if (target !== undefined) {
      const expected = await fileDigest(artifact.file!, signal);
      file = checkFile(`/${target}`, found, expected, problems);
    }
  }
  return {
    ok: problems.length === 0,
    refName: image.refName,
    manifest: image.manifest,
    config: image.config,
    layers: image.layers,
    labels: { ...image.annotations, ...image.labels },
    checks,
    ...(file ? { file } : {}),
    problems,
  };
}

/** The artifact to compare with: read from its path, or as given; with `pathInImage`, its file. */
async function imageArtifactOf(
  options: VerifyImageOptions,
  target: string | undefined,
): Promise<ImageArtifact> {
  const signal = options.signal;
  let artifact: ImageArtifact;
  if (typeof options.artifact === 'string') {
    const info = await readHeader(options.artifact, signal ? { signal } : {});
    artifact = { header: info.header, headerDigest: info.headerDigest, file: options.artifact };
  } else artifact = options.artifact;
  if (target !== undefined && artifact.file === undefined) {
    throw new PlumblineError('PLB_OCI_OPTIONS', 'pathInImage needs artifact.file to compare with', {
      details: {},
    });
  }
  return artifact;
}

/** Each label the artifact implies, against the image's labels (or annotations), by key. */
function checkLabels(
  artifact: ImageArtifact,
  image: OciImage,
  required: ReadonlySet<string>,
  problems: ImageProblem[],
): LabelCheck[] {
  const checks: LabelCheck[] = [];
  for (const [key, expected] of [...expectedLabels(artifact, image)].sort((a, b) =>
    a[0] < b[0] ? -1 : 1,
  )) {
    const actual = image.labels[key] ?? image.annotations[key] ?? null;
    if (actual === null) {
      const status = required.has(key) ? 'missing' : 'absent';
      checks.push({ key, expected, actual, status });
      if (status === 'missing') {
        problems.push({
          code: 'PLB_OCI_LABEL_MISSING',
          message: `the image has no ${key} label`,
          details: { key, expected },
        });
      }
    } else if (actual !== expected) {
      checks.push({ key, expected, actual, status: 'mismatch' });
      problems.push({
        code: 'PLB_OCI_LABEL_MISMATCH',
        message: `label ${key} is ${JSON.stringify(actual)}, the artifact says ${JSON.stringify(expected)}`,
        details: { key, expected, actual },
      });
    } else {
      checks.push({ key, expected, actual, status: 'match' });
    }
  }
  return checks;
}

/** The target path as the top layer leaves it. */
type FoundFile = { state: NonNullable<LayerPathState['entry']>; layer: string } | undefined;

/** Streams every layer (digest, diff_id) in order; where the target ends up after whiteouts. */
async function scanLayers(
  options: VerifyImageOptions,
  image: OciImage,
  limits: OciLayoutLimits,
  target: string | undefined,
): Promise<FoundFile> {
  const signal = options.signal;
  let current: FoundFile;
  const budget = { remaining: limits.maxUncompressedBytes };
  for (const [i, descriptor] of image.layers.entries()) {
    throwIfAborted(signal);
    const diffId = image.diffIds[i];
    const state = await scanLayer({
      layout: options.layout,
      descriptor,
      limits,
      budget,
      ...(target === undefined ? {} : { target }),
      ...(diffId === undefined ? {} : { diffId }),
      ...(signal ? { signal } : {}),
    });
    if (state.entry !== undefined) current = { state: state.entry, layer: descriptor.digest };
    else if (state.hidesLower) current = undefined;
  }
  return current;
}

/** The file at `path` in the image against the artifact file. */
function checkFile(
  path: string,
  current: FoundFile,
  expected: Awaited<ReturnType<typeof fileDigest>>,
  problems: ImageProblem[],
): ImageFileCheck {
  if (current === undefined) {
    problems.push({
      code: 'PLB_OCI_FILE_MISSING',
      message: `the image has no file at ${path}`,
      details: { path },
    });
    return { path, status: 'missing', expected };
  }
  if (current.state.kind === 'other') {
    problems.push({
      code: 'PLB_OCI_FILE_NOT_REGULAR',
      message: `${path} in the image is a ${current.state.type}, not a regular file`,
      details: { path, type: current.state.type, layer: current.layer },
    });
    return { path, status: 'not-regular', expected, layer: current.layer };
  }
  const actual = { digest: current.state.digest, size: current.state.size };
  const same = actual.digest === expected.digest && actual.size === expected.size;
  if (!same) {
    problems.push({
      code: 'PLB_OCI_FILE_MISMATCH',
      message: `${path} in the image (${actual.digest}, ${actual.size} bytes) differs from the artifact (${expected.digest}, ${expected.size} bytes)`,
      details: { path, expected, actual, layer: current.layer },
    });
  }
  return { path, status: same ? 'match' : 'mismatch', expected, actual, layer: current.layer };
}
