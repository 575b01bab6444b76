import { Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCycloneDX } from '@plumbline/cyclonedx';
import { buildBom } from '../src/build.js';
import { encodeXml } from '../src/xml-encode.js';
import { sampleHeader } from './fixtures.js';

const path = fc
  .array(
    fc
      .string({ minLength: 1, maxLength: 12 })
      // eslint-disable-next-line no-control-regex
      .filter((s) => !/[\u0000-\u001f/\\]|\p{Surrogate}/u.test(s) && s !== '.' && s !== '..'),
    {
      minLength: 1,
      maxLength: 3,
    },
  )
  .map((segments) => segments.join('/'))
  .filter((p) => !/&[^&;]*;/.test(p));

describe('encodeXml', () => {
  // xmlbuilder2 (behind the library's XmlSerializer) leaves text like "&A;" unescaped, which
  // makes an undefined entity reference; those strings are compared in the escaping test instead.
  it('writes what the library serializer writes, for any input paths (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(path, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('1.5', '1.6', '1.7'),
        (paths, version) => {
          const header = sampleHeader({
            inputs: paths.map((p, i) => ({
              path: p,
              size: i,
              digest: `sha256:${String(i).padStart(2, '0').repeat(32)}`,
              role: 'config' as const,
            })),
          });
          const built = buildBom(header);
          const spec = Spec.SpecVersionDict[version as Spec.Version]!;
          const serializer = new Serialize.XmlSerializer(new Serialize.XML.Normalize.Factory(spec));
          const normalized = (
            serializer as unknown as {
              _normalize: (b: unknown, o: unknown) => Serialize.XML.Types.SimpleXml.Element;
            }
          )._normalize(built.bom, { sortLists: true });
          const expected = (
            serializer as unknown as { _serialize: (n: unknown, o: unknown) => string }
          )._serialize(normalized, { space: 2 });
          expect(encodeXml(normalized, 2)).toBe(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('escapes markup in names and attribute values', async () => {
    const xml = await toCycloneDX(
      sampleHeader({
        inputs: [
          { path: 'a&b/<c>/"d\'.yaml', size: 1, digest: `sha256:${'01'.repeat(32)}`, role: 'spec' },
        ],
      }),
      { format: 'xml', validate: true },
    );
    expect(xml).toContain('<name>a&amp;b/&lt;c&gt;/"d\'.yaml</name>');
    const entityLike = await toCycloneDX(
      sampleHeader({
        inputs: [
          { path: '&A; x/&amp;.yaml', size: 1, digest: `sha256:${'01'.repeat(32)}`, role: 'spec' },
        ],
      }),
      { format: 'xml', validate: true },
    );
    expect(entityLike).toContain('<name>&amp;A; x/&amp;amp;.yaml</name>');
    expect(
      encodeXml({ type: 'element', name: 'x', attributes: { a: 'q"\n<&' }, children: [] }, 0),
    ).toBe('<?xml version="1.0" encoding="UTF-8"?><x a="q&quot;&#xA;&lt;&amp;"/>');
  });
});
