import { createHash } from 'node:crypto';
import { Enums, Models } from '@cyclonedx/cyclonedx-library';
import { limitOption, PlumblineError, SDK_VERSION } from '@plumbline/core';
import type { ProvenanceHeader } from '@plumbline/core/header';
import type { ManifestEntry } from '@plumbline/core/manifest';
import { bomSerialNumber } from './uuid.js';

/**
 * The configuration artifact the BOM describes (its `metadata.component`).
 *
 * @public
 */
export interface SbomArtifact {
  /** Component name, usually the artifact's file name (default `gateway-configuration`). */
  readonly name?: string;
  /** The artifact file's digest (`sha256:…`). Defaults to the payload digest from the header. */
  readonly digest?: string;
  /** The artifact file's size in bytes. */
  readonly size?: number;
  /** The artifact's version (default: the tag when `provenance.ref` is `refs/tags/…`). */
  readonly version?: string;
}

/**
 * What the model builder needs beyond the header.
 *
 * @public
 */
export interface BuildBomOptions {
  /** The artifact file (name, digest, size, version) for `metadata.component`. */
  readonly artifact?: SbomArtifact;
  /** The header digest, recorded as the `plumbline:header_digest` property. */
  readonly headerDigest?: string;
  /** Base URL for a `source` given as `owner/repo` (default `https://github.com`). */
  readonly sourceBaseUrl?: string;
  /** Most inputs accepted (default 1,000,000). */
  readonly maxInputs?: number;
}

/**
 * The library model plus what its serializers cannot express (component `mime-type`) and the
 * exact timestamp string.
 *
 * @internal
 */
export interface BuiltBom {
  readonly bom: Models.Bom;
  readonly mimeTypes: ReadonlyMap<string, string>;
  readonly timestamp: string;
  readonly artifactRef: string;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

function hexOf(digest: string, what: string): string {
  const match = DIGEST.exec(digest);
  if (!match) {
    throw new PlumblineError(
      'PLB_SBOM_HEADER_INVALID',
      `${what} is not sha256: followed by 64 lowercase hex`,
      {
        details: { what },
      },
    );
  }
  return match[1]!;
}

function publicUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new PlumblineError('PLB_SBOM_HEADER_INVALID', `${what} is not a URL`, {
      details: { what },
      cause,
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new PlumblineError(
      'PLB_SBOM_URL_SECRET',
      `${what} is a URL with credentials; refusing to publish it`,
      {
        details: { what },
      },
    );
  }
  return value;
}

function sourceUrl(source: string, base: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(source)) return source.replace(/\.git$/, '');
  return `${base.replace(/\/+$/, '')}/${source.replace(/^\/+/, '').replace(/\.git$/, '')}`;
}

/**
 * The bom-ref of an input: derived from its path and digest, so the same input always gets the
 * same reference in every BOM.
 *
 * @example
 * ```ts
 * inputBomRef({ path: 'openapi/petstore.yaml', digest: `sha256:${'ab'.repeat(32)}` });
 * ```
 * @public
 */
export function inputBomRef(entry: Pick<ManifestEntry, 'path' | 'digest'>): string {
  const id = createHash('sha256')
    .update(entry.path, 'utf8')
    .update('\0')
    .update(entry.digest)
    .digest('hex');
  return `plumbline:input:${id.slice(0, 32)}`;
}

/**
 * The bom-ref of the configuration artifact: derived from its `artifact_hash`.
 *
 * @example
 * ```ts
 * artifactBomRef(header.artifact_hash); // 'plumbline:artifact:…'
 * ```
 * @public
 */
export function artifactBomRef(artifactHash: string): string {
  return `plumbline:artifact:${hexOf(artifactHash, 'artifact_hash')}`;
}

function inputType(entry: ManifestEntry): Enums.ComponentType {
  return entry.role === 'spec' || entry.role === 'config'
    ? Enums.ComponentType.Data
    : Enums.ComponentType.File;
}

function inputMediaType(entry: ManifestEntry): string | undefined {
  if (entry.media_type !== undefined) return entry.media_type;
  if (entry.role === 'plugin' || entry.path.endsWith('.wasm')) return 'application/wasm';
  return undefined;
}

function prop(name: string, value: string): Models.Property {
  return new Models.Property(name, value);
}

/** The header's inputs (within `maxInputs`) and build timestamp can go into a BOM. */
function checkHeader(header: ProvenanceHeader, options: BuildBomOptions): void {
  const maxInputs = limitOption(options.maxInputs, {
    name: 'maxInputs',
    code: 'PLB_SBOM_LIMIT',
    fallback: 1_000_000,
  });
  if (!Array.isArray(header.inputs)) {
    throw new PlumblineError('PLB_SBOM_HEADER_INVALID', 'header has no inputs array', {
      details: {},
    });
  }
  if (header.inputs.length > maxInputs) {
    throw new PlumblineError(
      'PLB_SBOM_LIMIT',
      `header lists ${header.inputs.length} inputs, over the limit of ${maxInputs}`,
      { details: { count: header.inputs.length, limit: maxInputs } },
    );
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(header.build_timestamp)) {
    throw new PlumblineError(
      'PLB_SBOM_HEADER_INVALID',
      'build_timestamp is not RFC 3339 UTC with whole seconds',
      {
        details: {},
      },
    );
  }
}

/**
 * Builds the CycloneDX model (`@cyclonedx/cyclonedx-library`) for a header: the artifact as
 * `metadata.component`, one component per input, dependencies from the artifact to its inputs.
 *
 * @example
 * ```ts
 * const { bom } = buildBom(header, { artifact: { name: 'gateway.plb' } });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SBOM_HEADER_INVALID`, `PLB_SBOM_URL_SECRET`, `PLB_SBOM_LIMIT`.
 * @internal
 */
export function buildBom(header: ProvenanceHeader, options: BuildBomOptions = {}): BuiltBom {
  checkHeader(header, options);
  const provenance = header.provenance;
  const artifactRef = artifactBomRef(header.artifact_hash);
  const bom = new Models.Bom();
  bom.version = 1;
  bom.serialNumber = bomSerialNumber(header.artifact_hash);
  bom.metadata.timestamp = new Date(header.build_timestamp);
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'plumbline', {
      group: '@plumbline',
      version: SDK_VERSION,
      bomRef: `plumbline:tool:${SDK_VERSION}`,
      externalReferences: new Models.ExternalReferenceRepository([
        new Models.ExternalReference(
          'https://github.com/plumbline-dev/plumbline',
          Enums.ExternalReferenceType.VCS,
        ),
      ]),
    }),
  );

  const tag = provenance.ref?.startsWith('refs/tags/') ? provenance.ref.slice(10) : undefined;
  const version = options.artifact?.version ?? (tag === '' ? undefined : tag);
  const artifact = new Models.Component(
    Enums.ComponentType.File,
    options.artifact?.name ?? 'gateway-configuration',
    { bomRef: artifactRef, ...(version === undefined ? {} : { version }) },
  );
  const fileDigest = options.artifact?.digest ?? header.payload.digest;
  artifact.hashes.set(Enums.HashAlgorithm['SHA-256'], hexOf(fileDigest, 'artifact digest'));
  const properties: [string, string | undefined][] = [
    ['plumbline:artifact_hash', header.artifact_hash],
    ['plumbline:format', header.format],
    ['plumbline:build_timestamp', header.build_timestamp],
    ['plumbline:builder_id', provenance.builder.id],
    ['plumbline:builder_version', provenance.builder.version],
    ['plumbline:commit', provenance.commit],
    ['plumbline:ref', provenance.ref],
    ['plumbline:header_digest', options.headerDigest],
    ['plumbline:payload_digest', header.payload.digest],
    ['plumbline:payload_size', String(header.payload.size)],
    ['plumbline:payload_media_type', header.payload.media_type],
    ['plumbline:inputs', String(header.inputs.length)],
    [
      'plumbline:size',
      options.artifact?.size === undefined ? undefined : String(options.artifact.size),
    ],
  ];
  for (const [name, value] of properties)
    if (value !== undefined) artifact.properties.add(prop(name, value));
  if (options.headerDigest !== undefined) hexOf(options.headerDigest, 'header digest');
  if (provenance.source !== undefined) {
    const url = publicUrl(
      sourceUrl(provenance.source, options.sourceBaseUrl ?? 'https://github.com'),
      'provenance.source',
    );
    const vcs = new Models.ExternalReference(
      provenance.commit === undefined ? url : `git+${url}.git#${provenance.commit}`,
      Enums.ExternalReferenceType.VCS,
      provenance.commit === undefined ? {} : { comment: `commit ${provenance.commit}` },
    );
    artifact.externalReferences.add(vcs);
  }
  if (provenance.build_url !== undefined) {
    artifact.externalReferences.add(
      new Models.ExternalReference(
        publicUrl(provenance.build_url, 'provenance.build_url'),
        Enums.ExternalReferenceType.BuildSystem,
        {
          comment: 'the build that produced this configuration',
        },
      ),
    );
  }
  bom.metadata.component = artifact;

  const mimeTypes = new Map<string, string>();
  const refs = new Set<string>();
  for (const entry of header.inputs) {
    const ref = inputBomRef(entry);
    if (refs.has(ref)) continue;
    refs.add(ref);
    const component = new Models.Component(inputType(entry), entry.path, { bomRef: ref });
    component.hashes.set(
      Enums.HashAlgorithm['SHA-256'],
      hexOf(entry.digest, `digest of input ${entry.path}`),
    );
    component.properties.add(prop('plumbline:path', entry.path));
    component.properties.add(prop('plumbline:role', entry.role ?? 'other'));
    component.properties.add(prop('plumbline:size', String(entry.size)));
    component.properties.add(prop('plumbline:artifact_hash', header.artifact_hash));
    const mediaType = inputMediaType(entry);
    if (mediaType !== undefined) mimeTypes.set(ref, mediaType);
    bom.components.add(component);
    artifact.dependencies.add(component.bomRef);
  }
  return { bom, mimeTypes, timestamp: header.build_timestamp, artifactRef };
}
