import { limitOption, PlumblineError } from '@plumbline/core';
import type { ProvenanceHeader } from '@plumbline/core/header';
import { buildBom, type BuildBomOptions } from './build.js';
import { serializeBom } from './serialize.js';
import { SUPPORTED_SPEC_VERSIONS, type CycloneDXSpecVersion } from './spec.js';
import { validateBom } from './validate.js';

/**
 * Options for {@link mergeInto}.
 *
 * @public
 */
export interface MergeIntoOptions extends BuildBomOptions {
  /**
   * The spec version the caller expects the existing BOM to have; another version is
   * `PLB_SBOM_SPEC_MISMATCH`. Without it, any version Plumbline writes (1.5–1.7) is accepted and kept.
   */
  readonly specVersion?: CycloneDXSpecVersion;
  /** Validate the existing BOM before merging (default true) — an invalid BOM is `PLB_SBOM_INVALID`. */
  readonly validateExisting?: boolean;
  /** Validate the merged BOM (default false). */
  readonly validate?: boolean;
  /** Largest existing BOM accepted, in bytes (default 64 MiB). */
  readonly maxBomBytes?: number;
  /** Indentation (spaces, default 2). */
  readonly space?: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, cause?: unknown): PlumblineError {
  return new PlumblineError('PLB_SBOM_INVALID', `the BOM to merge into ${message}`, {
    details: {},
    ...(cause === undefined ? {} : { cause }),
  });
}

function sha256Of(component: Json): string | undefined {
  const hashes = component.hashes;
  if (!Array.isArray(hashes)) return undefined;
  for (const h of hashes) {
    if (isObject(h) && h.alg === 'SHA-256' && typeof h.content === 'string')
      return h.content.toLowerCase();
  }
  return undefined;
}

function* walk(components: unknown): Generator<Json> {
  if (!Array.isArray(components)) return;
  for (const c of components) {
    if (!isObject(c)) continue;
    yield c;
    yield* walk(c.components);
  }
}

function parseExisting(existing: string | object, maxBytes: number): Json {
  if (typeof existing !== 'string') {
    if (!isObject(existing)) throw invalid('is not a JSON object');
    return structuredClone(existing) as Json;
  }
  const size = Buffer.byteLength(existing, 'utf8');
  if (size > maxBytes) {
    throw new PlumblineError(
      'PLB_SBOM_LIMIT',
      `the BOM to merge into has ${size} bytes, over the limit of ${maxBytes}`,
      {
        details: { size, limit: maxBytes },
      },
    );
  }
  const trimmed = existing.trimStart();
  if (trimmed.startsWith('<')) {
    throw new PlumblineError(
      'PLB_SBOM_MERGE_FORMAT',
      'merging into an XML BOM is not supported; convert it to JSON (cyclonedx-cli convert) first',
      {
        details: {},
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (cause) {
    throw invalid('is not valid JSON', cause);
  }
  if (!isObject(parsed)) throw invalid('is not a JSON object');
  return parsed;
}

/**
 * Adds a configuration artifact's components to an existing JSON CycloneDX BOM (an image SBOM from
 * syft, cdxgen, Trivy…): the artifact and its inputs become components, with their dependencies;
 * the image's `metadata.component` gains a dependency on the artifact; Plumbline joins
 * `metadata.tools`. Components already present (same bom-ref, or same name and SHA-256) are not
 * added again, so merging twice changes nothing. The BOM's `version` goes up by one when anything
 * was added; its spec version and serial number are kept.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { mergeInto, writeFileAtomic } from '@plumbline/cyclonedx';
 * const merged = await mergeInto(await readFile('image.cdx.json', 'utf8'), header, { specVersion: '1.6' });
 * await writeFileAtomic('image.cdx.json', merged);
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SBOM_INVALID` (not JSON, not CycloneDX, or
 *   fails the schema), `PLB_SBOM_SPEC_MISMATCH`, `PLB_SBOM_MERGE_FORMAT` (XML), `PLB_SBOM_LIMIT`,
 *   and the errors of {@link toCycloneDX}.
 * @public
 */
export async function mergeInto(
  existingBom: string | object,
  header: ProvenanceHeader,
  options: MergeIntoOptions = {},
): Promise<string> {
  const { bom, specVersion } = await existingBomOf(existingBom, options);
  const ours = JSON.parse(serializeBom(buildBom(header, options), 'json', specVersion, 0)) as Json;
  const ourMetadata = ours.metadata as Json;
  const ourComponents = [
    ourMetadata.component as Json,
    ...((ours.components as Json[] | undefined) ?? []),
  ];
  const metadata = isObject(bom.metadata) ? bom.metadata : {};
  const imageRef =
    isObject(metadata.component) && typeof metadata.component['bom-ref'] === 'string'
      ? metadata.component['bom-ref']
      : undefined;
  const components = mergeComponents(bom, ourComponents, imageRef);
  const artifactRef = components.refMap.get(ourComponents[0]!['bom-ref'] as string)!;
  const dependencies = mergeDependencies(
    bom,
    (ours.dependencies as Json[] | undefined) ?? [],
    components.refMap,
    imageRef !== undefined && imageRef !== artifactRef ? [imageRef, artifactRef] : undefined,
  );
  const tool = ((ourMetadata.tools as Json).components as Json[])[0]!;
  const toolAdded = mergeTool(metadata, tool);

  if (!components.changed && !dependencies.changed && !toolAdded)
    return `${JSON.stringify(bom, null, options.space ?? 2)}\n`;
  bom.metadata = metadata;
  bom.components = components.list;
  bom.dependencies = dependencies.list;
  bom.version =
    (typeof bom.version === 'number' && Number.isSafeInteger(bom.version) ? bom.version : 1) + 1;
  const text = `${JSON.stringify(bom, null, options.space ?? 2)}\n`;
  if (options.validate === true) await validateBom(text, { format: 'json', specVersion });
  return text;
}

/** The BOM to merge into: parsed within the limit, CycloneDX of a supported (or the asked) version, valid. */
async function existingBomOf(
  existingBom: string | object,
  options: MergeIntoOptions,
): Promise<{ bom: Json; specVersion: CycloneDXSpecVersion }> {
  const maxBomBytes = limitOption(options.maxBomBytes, {
    name: 'maxBomBytes',
    code: 'PLB_SBOM_LIMIT',
    fallback: 64 * 1024 * 1024,
  });
  const bom = parseExisting(existingBom, maxBomBytes);
  if (bom.bomFormat !== 'CycloneDX') throw invalid('has no "bomFormat": "CycloneDX"');
  const version = bom.specVersion;
  if (typeof version !== 'string') throw invalid('has no specVersion');
  if (
    !(SUPPORTED_SPEC_VERSIONS as readonly string[]).includes(version) ||
    (options.specVersion !== undefined && options.specVersion !== version)
  ) {
    throw new PlumblineError(
      'PLB_SBOM_SPEC_MISMATCH',
      `the BOM to merge into is CycloneDX ${version}; expected ${options.specVersion ?? SUPPORTED_SPEC_VERSIONS.join(', ')}`,
      { details: { actual: version, expected: options.specVersion ?? SUPPORTED_SPEC_VERSIONS } },
    );
  }
  const specVersion = version as CycloneDXSpecVersion;
  if (options.validateExisting !== false) {
    try {
      await validateBom(JSON.stringify(bom), { format: 'json', specVersion });
    } catch (error) {
      if (PlumblineError.is(error, 'PLB_SBOM_INVALID')) {
        throw new PlumblineError('PLB_SBOM_INVALID', `the BOM to merge into: ${error.message}`, {
          details: error.details,
          cause: error,
        });
      }
      throw error;
    }
  }
  return { bom, specVersion };
}

/**
 * Our components added to the BOM's, except those it has already (same bom-ref, or same name and
 * SHA-256); `refMap` maps each of our refs to the ref it has in the merged BOM.
 */
function mergeComponents(
  bom: Json,
  ourComponents: readonly Json[],
  imageRef: string | undefined,
): { list: unknown[]; refMap: Map<string, string>; changed: boolean } {
  const byRef = new Map<string, string>();
  const byContent = new Map<string, string>();
  for (const c of walk(bom.components)) {
    const ref = typeof c['bom-ref'] === 'string' ? c['bom-ref'] : undefined;
    if (ref !== undefined) byRef.set(ref, ref);
    const hash = sha256Of(c);
    if (hash !== undefined && typeof c.name === 'string' && ref !== undefined)
      byContent.set(`${c.name}\0${hash}`, ref);
  }
  if (imageRef !== undefined) byRef.set(imageRef, imageRef);
  let changed = false;
  const refMap = new Map<string, string>();
  const list = Array.isArray(bom.components) ? [...(bom.components as unknown[])] : [];
  for (const component of ourComponents) {
    const ref = component['bom-ref'] as string;
    const hash = sha256Of(component);
    const existing =
      byRef.get(ref) ??
      (hash === undefined ? undefined : byContent.get(`${String(component.name)}\0${hash}`));
    if (existing !== undefined) {
      refMap.set(ref, existing);
      continue;
    }
    refMap.set(ref, ref);
    list.push(component);
    changed = true;
  }
  return { list, refMap, changed };
}

/** Our dependency edges (renamed through `refMap`) and the image → artifact edge, added once. */
function mergeDependencies(
  bom: Json,
  ourDependencies: readonly Json[],
  refMap: ReadonlyMap<string, string>,
  imageEdge: readonly [string, string] | undefined,
): { list: unknown[]; changed: boolean } {
  let changed = false;
  const list = Array.isArray(bom.dependencies) ? [...(bom.dependencies as unknown[])] : [];
  const depIndex = new Map<string, Json>();
  for (const d of list) if (isObject(d) && typeof d.ref === 'string') depIndex.set(d.ref, d);
  const addDependency = (ref: string, dependsOn: string[]): void => {
    let entry = depIndex.get(ref);
    if (entry === undefined) {
      entry = { ref };
      depIndex.set(ref, entry);
      list.push(entry);
      changed = true;
    }
    const current = Array.isArray(entry.dependsOn) ? (entry.dependsOn as string[]) : [];
    const merged = [...new Set([...current, ...dependsOn])];
    if (merged.length !== current.length) {
      entry.dependsOn = current.concat(merged.slice(current.length).sort());
      changed = true;
    }
  };
  for (const d of ourDependencies) {
    const ref = refMap.get(d.ref as string) ?? (d.ref as string);
    addDependency(
      ref,
      ((d.dependsOn as string[] | undefined) ?? []).map((r) => refMap.get(r) ?? r),
    );
  }
  if (imageEdge !== undefined) addDependency(imageEdge[0], [imageEdge[1]]);
  return { list, changed };
}

/** Plumbline in `metadata.tools` (the 1.4 list or the 1.5+ object form); whether it was added. */
function mergeTool(metadata: Json, tool: Json): boolean {
  const tools = metadata.tools;
  if (Array.isArray(tools)) {
    if (tools.some((t) => isObject(t) && t.name === 'plumbline' && t.version === tool.version))
      return false;
    tools.push({ vendor: 'plumbline', name: 'plumbline', version: tool.version });
    return true;
  }
  const toolObject = isObject(tools) ? tools : {};
  const list = Array.isArray(toolObject.components) ? (toolObject.components as unknown[]) : [];
  const present = list.some(
    (t) =>
      isObject(t) &&
      t.name === 'plumbline' &&
      t.group === '@plumbline' &&
      t.version === tool.version,
  );
  if (!present) list.push(tool);
  toolObject.components = list;
  metadata.tools = toolObject;
  return !present;
}
