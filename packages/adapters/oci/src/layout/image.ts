import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import { parseJson, readBlob, throwIfAborted } from './blobs.js';
import {
  invalidJson,
  isObject,
  OCI_MEDIA_TYPES,
  parseDescriptor,
  stringMap,
  type OciDescriptor,
} from './descriptor.js';
import type { OciLayoutLimits } from './limits.js';

/**
 * A platform to pick from a multi-platform image index.
 *
 * @public
 */
export interface OciPlatform {
  /** Operating system, e.g. `linux`. */
  readonly os: string;
  /** CPU architecture, e.g. `amd64`, `arm64`. */
  readonly architecture: string;
  /** CPU variant, e.g. `v8`. */
  readonly variant?: string;
}

/**
 * An image read from a layout: the chosen manifest, its config and layers, all digests verified.
 *
 * @public
 */
export interface OciImage {
  /** The `org.opencontainers.image.ref.name` of the chosen `index.json` entry, if it has one. */
  readonly refName: string | null;
  /** The image manifest's descriptor. */
  readonly manifest: OciDescriptor;
  /** The manifest's annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The config blob's descriptor. */
  readonly config: OciDescriptor;
  /** `config.Labels` of the image configuration. */
  readonly labels: Readonly<Record<string, string>>;
  /** Layers, bottom first. */
  readonly layers: readonly OciDescriptor[];
  /** `rootfs.diff_ids` (digests of the uncompressed layers), when the config has them. */
  readonly diffIds: readonly string[];
}

/** Options of {@link readOciImage}. @internal */
export interface ReadImageOptions {
  readonly ref?: string;
  readonly platform?: OciPlatform;
  readonly limits: OciLayoutLimits;
  readonly signal?: AbortSignal;
}

const INDEX_TYPES = new Set<string>([OCI_MEDIA_TYPES.index, OCI_MEDIA_TYPES.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([OCI_MEDIA_TYPES.manifest, OCI_MEDIA_TYPES.dockerManifest]);
const REF_ANNOTATION = 'org.opencontainers.image.ref.name';

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };

/** The platform of this process, in OCI terms (`linux`/`amd64`, …). @internal */
export function hostPlatform(): OciPlatform {
  return { os: 'linux', architecture: GO_ARCH[process.arch] ?? process.arch };
}

async function readIndexJson(layout: string, limits: OciLayoutLimits): Promise<unknown> {
  const layoutFile = join(layout, 'oci-layout');
  let marker: unknown;
  try {
    const info = await stat(layoutFile);
    if (info.size > 4096) throw new Error('oci-layout too large');
    marker = JSON.parse(await readFile(layoutFile, 'utf8')) as unknown;
  } catch (cause) {
    throw new PlumblineError(
      'PLB_OCI_LAYOUT_INVALID',
      `${layout} is not an OCI image layout (no readable oci-layout file)`,
      { details: { layout }, cause },
    );
  }
  const version = isObject(marker) ? marker.imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new PlumblineError(
      'PLB_OCI_LAYOUT_INVALID',
      `unsupported imageLayoutVersion ${JSON.stringify(version)} (expected 1.x.y)`,
      { details: { layout } },
    );
  }
  const indexFile = join(layout, 'index.json');
  let size: number;
  try {
    size = (await stat(indexFile)).size;
  } catch (cause) {
    throw new PlumblineError('PLB_OCI_INDEX_MISSING', `${layout} has no index.json`, {
      details: { layout },
      cause,
    });
  }
  if (size > limits.maxIndexBytes) {
    throw new PlumblineError(
      'PLB_OCI_LIMIT',
      `index.json has ${size} bytes, over the limit of ${limits.maxIndexBytes}`,
      { details: { what: 'index.json', size, limit: limits.maxIndexBytes } },
    );
  }
  const bytes = await readFile(indexFile);
  if (bytes.length > limits.maxIndexBytes) {
    throw new PlumblineError('PLB_OCI_LIMIT', 'index.json grew past the limit while reading', {
      details: { what: 'index.json', limit: limits.maxIndexBytes },
    });
  }
  return parseJson(bytes, 'index.json');
}

function indexManifests(doc: unknown, what: string, limits: OciLayoutLimits): OciDescriptor[] {
  if (!isObject(doc)) invalidJson(what, 'is not a JSON object');
  if (doc.schemaVersion !== 2) invalidJson(what, 'schemaVersion is not 2');
  if (!Array.isArray(doc.manifests)) invalidJson(what, 'has no manifests array');
  if (doc.manifests.length > limits.maxDescriptors) {
    throw new PlumblineError(
      'PLB_OCI_LIMIT',
      `${what} lists ${doc.manifests.length} manifests, over the limit of ${limits.maxDescriptors}`,
      { details: { what, count: doc.manifests.length, limit: limits.maxDescriptors } },
    );
  }
  return doc.manifests.map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`));
}

function pickByRef(manifests: OciDescriptor[], ref: string | undefined): OciDescriptor {
  if (ref === undefined) {
    if (manifests.length === 1) return manifests[0]!;
    const names = manifests
      .map((m) => m.annotations?.[REF_ANNOTATION])
      .filter((n): n is string => n !== undefined);
    throw new PlumblineError(
      manifests.length === 0 ? 'PLB_OCI_REF_NOT_FOUND' : 'PLB_OCI_REF_AMBIGUOUS',
      manifests.length === 0
        ? 'index.json lists no images'
        : `index.json lists ${manifests.length} images; name one with a ref (${names.join(', ') || 'by digest'})`,
      { details: { refs: names } },
    );
  }
  const matches = manifests.filter(
    (m) => m.annotations?.[REF_ANNOTATION] === ref || m.digest === ref,
  );
  if (matches.length === 0) {
    throw new PlumblineError(
      'PLB_OCI_REF_NOT_FOUND',
      `no image named ${JSON.stringify(ref)} in index.json`,
      {
        details: { ref },
      },
    );
  }
  const distinct = new Set(matches.map((m) => m.digest));
  if (distinct.size > 1) {
    throw new PlumblineError(
      'PLB_OCI_REF_AMBIGUOUS',
      `ref ${JSON.stringify(ref)} names ${distinct.size} different images`,
      { details: { ref } },
    );
  }
  return matches[0]!;
}

function pickByPlatform(
  manifests: OciDescriptor[],
  platform: OciPlatform,
  what: string,
): OciDescriptor {
  if (manifests.length === 1) return manifests[0]!;
  const matches = manifests.filter(
    (m) =>
      m.platform?.os === platform.os &&
      m.platform.architecture === platform.architecture &&
      (platform.variant === undefined || m.platform.variant === platform.variant),
  );
  if (matches.length === 0) {
    throw new PlumblineError(
      'PLB_OCI_PLATFORM_NOT_FOUND',
      `${what} has no image for ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`,
      { details: { what, platform } },
    );
  }
  return matches[0]!;
}

/**
 * Reads `index.json`, follows nested indexes to one image manifest and reads its config,
 * verifying the size and digest of every blob read.
 *
 * @internal
 */
export async function readOciImage(layout: string, options: ReadImageOptions): Promise<OciImage> {
  const { limits, signal } = options;
  throwIfAborted(signal);
  const top = indexManifests(await readIndexJson(layout, limits), 'index.json', limits);
  let descriptor = pickByRef(top, options.ref);
  const refName = descriptor.annotations?.[REF_ANNOTATION] ?? null;
  for (let depth = 0; INDEX_TYPES.has(descriptor.mediaType); depth++) {
    if (depth >= limits.maxIndexDepth) {
      throw new PlumblineError(
        'PLB_OCI_LIMIT',
        `image indexes nest deeper than the limit of ${limits.maxIndexDepth}`,
        { details: { what: 'index depth', limit: limits.maxIndexDepth } },
      );
    }
    throwIfAborted(signal);
    const what = `image index ${descriptor.digest}`;
    const doc = parseJson(
      await readBlob(layout, descriptor, limits.maxManifestBytes, 'image index'),
      what,
    );
    descriptor = pickByPlatform(
      indexManifests(doc, what, limits),
      options.platform ?? hostPlatform(),
      what,
    );
  }
  if (!MANIFEST_TYPES.has(descriptor.mediaType)) {
    throw new PlumblineError(
      'PLB_OCI_MEDIA_TYPE_UNSUPPORTED',
      `manifest media type ${descriptor.mediaType} is not an image manifest`,
      { details: { mediaType: descriptor.mediaType } },
    );
  }
  throwIfAborted(signal);
  const manifestDoc = parseJson(
    await readBlob(layout, descriptor, limits.maxManifestBytes, 'manifest'),
    'manifest',
  );
  if (!isObject(manifestDoc)) invalidJson('manifest', 'is not a JSON object');
  if (manifestDoc.schemaVersion !== 2) invalidJson('manifest', 'schemaVersion is not 2');
  if (typeof manifestDoc.mediaType === 'string' && manifestDoc.mediaType !== descriptor.mediaType) {
    invalidJson('manifest', `mediaType ${manifestDoc.mediaType} differs from its descriptor's`);
  }
  const config = parseDescriptor(manifestDoc.config, 'manifest config');
  if (!Array.isArray(manifestDoc.layers)) invalidJson('manifest', 'has no layers array');
  if (manifestDoc.layers.length > limits.maxDescriptors) {
    throw new PlumblineError(
      'PLB_OCI_LIMIT',
      `manifest lists ${manifestDoc.layers.length} layers, over the limit of ${limits.maxDescriptors}`,
      {
        details: { what: 'layers', count: manifestDoc.layers.length, limit: limits.maxDescriptors },
      },
    );
  }
  const layers = manifestDoc.layers.map((l, i) => parseDescriptor(l, `manifest layers[${i}]`));
  const annotations = stringMap(manifestDoc.annotations, 'manifest annotations') ?? {};
  throwIfAborted(signal);
  const configDoc = parseJson(
    await readBlob(layout, config, limits.maxConfigBytes, 'config'),
    'config',
  );
  if (!isObject(configDoc)) invalidJson('config', 'is not a JSON object');
  const inner = configDoc.config;
  const labels = (isObject(inner) ? stringMap(inner.Labels, 'config Labels') : undefined) ?? {};
  const rootfs = configDoc.rootfs;
  let diffIds: string[] = [];
  if (isObject(rootfs) && Array.isArray(rootfs.diff_ids)) {
    diffIds = rootfs.diff_ids.map((d, i) => {
      if (typeof d !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d)) {
        invalidJson('config', `rootfs.diff_ids[${i}] is not a sha256 digest`);
      }
      return d;
    });
    if (diffIds.length !== layers.length) {
      invalidJson(
        'config',
        `rootfs.diff_ids has ${diffIds.length} entries for ${layers.length} layers`,
      );
    }
  }
  return { refName, manifest: descriptor, annotations, config, labels, layers, diffIds };
}
