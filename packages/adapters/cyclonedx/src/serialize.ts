import { Serialize, Spec, type Models } from '@cyclonedx/cyclonedx-library';
import type { BuiltBom } from './build.js';
import { encodeXml } from './xml-encode.js';
import type { CycloneDXFormat, CycloneDXSpecVersion } from './spec.js';

type JsonBom = ReturnType<Serialize.JSON.Normalize.BomNormalizer['normalize']>;
type XmlElement = Serialize.XML.Types.SimpleXml.Element;

function patchJsonComponent(
  component: Record<string, unknown>,
  mimeTypes: ReadonlyMap<string, string>,
): Record<string, unknown> {
  const ref = component['bom-ref'];
  const mime = typeof ref === 'string' ? mimeTypes.get(ref) : undefined;
  if (mime === undefined) return component;
  // Keep the schema's key order: type, name, mime-type, then the rest.
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(component)) {
    out[key] = value;
    if (key === 'name') out['mime-type'] = mime;
  }
  return out;
}

class PlumblineJsonSerializer extends Serialize.JsonSerializer {
  constructor(
    spec: (typeof Spec.SpecVersionDict)[keyof typeof Spec.SpecVersionDict] & object,
    private readonly built: BuiltBom,
  ) {
    super(new Serialize.JSON.Normalize.Factory(spec));
  }
  protected override _normalize(
    bom: Models.Bom,
    options?: Serialize.Types.NormalizerOptions,
  ): JsonBom {
    const normalized = super._normalize(bom, options) as unknown as {
      metadata?: { timestamp?: string };
      components?: Record<string, unknown>[];
    };
    if (normalized.metadata) normalized.metadata.timestamp = this.built.timestamp;
    if (normalized.components) {
      normalized.components = normalized.components.map((c) =>
        patchJsonComponent(c, this.built.mimeTypes),
      );
    }
    return normalized as unknown as JsonBom;
  }
}

function elementChildren(element: XmlElement): XmlElement[] {
  const children = element.children;
  if (children === undefined || typeof children === 'string' || typeof children === 'number')
    return [];
  return [...(children as Iterable<XmlElement>)].filter((c) => c.type === 'element');
}

class PlumblineXmlSerializer extends Serialize.XmlSerializer {
  constructor(
    spec: (typeof Spec.SpecVersionDict)[keyof typeof Spec.SpecVersionDict] & object,
    private readonly built: BuiltBom,
  ) {
    super(new Serialize.XML.Normalize.Factory(spec));
  }
  protected override _normalize(
    bom: Models.Bom,
    options?: Serialize.Types.NormalizerOptions,
  ): XmlElement {
    const root = super._normalize(bom, options);
    for (const child of elementChildren(root)) {
      if (child.name === 'metadata') {
        for (const m of elementChildren(child))
          if (m.name === 'timestamp') m.children = this.built.timestamp;
      }
      if (child.name === 'components') {
        for (const component of elementChildren(child)) {
          const ref = component.attributes?.['bom-ref'];
          const mime = typeof ref === 'string' ? this.built.mimeTypes.get(ref) : undefined;
          if (mime !== undefined) {
            const { type, ...rest } = component.attributes ?? {};
            component.attributes = { type, 'mime-type': mime, ...rest };
          }
        }
      }
    }
    return root;
  }

  /** The normalized, sorted and patched tree, for {@link encodeXml}. */
  normalize(bom: Models.Bom): XmlElement {
    return this._normalize(bom, { sortLists: true });
  }
}

/**
 * Serializes a built BOM deterministically: sorted lists, exact timestamp, `mime-type` on inputs
 * that have a media type.
 *
 * @internal
 */
export function serializeBom(
  built: BuiltBom,
  format: CycloneDXFormat,
  specVersion: CycloneDXSpecVersion,
  space: number,
): string {
  const spec = Spec.SpecVersionDict[specVersion as Spec.Version]!;
  const text =
    format === 'json'
      ? new PlumblineJsonSerializer(spec, built).serialize(built.bom, { sortLists: true, space })
      : encodeXml(new PlumblineXmlSerializer(spec, built).normalize(built.bom), space);
  return text.endsWith('\n') ? text : `${text}\n`;
}
