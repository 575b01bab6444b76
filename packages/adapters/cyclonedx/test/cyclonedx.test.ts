import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  artifactBomRef,
  bomSerialNumber,
  inputBomRef,
  mergeInto,
  parseFormat,
  parseSpecVersion,
  PLUMBLINE_BOM_NAMESPACE,
  SUPPORTED_SPEC_VERSIONS,
  toCycloneDX,
  validateBom,
  writeFileAtomic,
  type CycloneDXSpecVersion,
} from '@plumbline/cyclonedx';
import { URL_NAMESPACE, uuidV5 } from '../src/uuid.js';
import { ARTIFACT, HEADER_DIGEST, imageBom, sampleHeader } from './fixtures.js';

const header = sampleHeader();
const golden = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./golden/${name}`, import.meta.url)), 'utf8');

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(PlumblineError.is(error), String(error)).toBe(true);
    return (error as PlumblineError).code;
  }
  return 'no error';
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-cdx-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('toCycloneDX', () => {
  it('matches the 1.6 JSON and XML golden files', async () => {
    const options = { artifact: ARTIFACT, headerDigest: HEADER_DIGEST };
    expect(await toCycloneDX(header, options)).toBe(golden('sample.cdx.json'));
    expect(await toCycloneDX(header, { ...options, format: 'xml' })).toBe(golden('sample.cdx.xml'));
  });

  for (const specVersion of SUPPORTED_SPEC_VERSIONS) {
    for (const format of ['json', 'xml'] as const) {
      it(`writes valid CycloneDX ${specVersion} ${format} (strict validator)`, async () => {
        const text = await toCycloneDX(header, {
          specVersion,
          format,
          validate: true,
          artifact: ARTIFACT,
        });
        if (format === 'json') {
          const bom = JSON.parse(text);
          expect(bom.specVersion).toBe(specVersion);
        } else {
          expect(text).toContain(`xmlns="http://cyclonedx.org/schema/bom/${specVersion}"`);
        }
      });
    }
  }

  it('describes the artifact, inputs, dependencies, references and tool', async () => {
    const bom = JSON.parse(
      await toCycloneDX(header, { artifact: ARTIFACT, headerDigest: HEADER_DIGEST }),
    );
    expect(bom.serialNumber).toBe(bomSerialNumber(header.artifact_hash));
    expect(bom.metadata.timestamp).toBe('2026-01-02T03:04:05Z');
    expect(bom.metadata.tools.components[0]).toMatchObject({
      name: 'plumbline',
      group: '@plumbline',
    });
    const artifact = bom.metadata.component;
    expect(artifact).toMatchObject({
      type: 'file',
      name: 'gateway.plb',
      version: 'v1.2.3',
      'bom-ref': artifactBomRef(header.artifact_hash),
    });
    expect(artifact.hashes).toEqual([{ alg: 'SHA-256', content: 'ef'.repeat(32) }]);
    expect(artifact.externalReferences).toEqual([
      {
        url: 'https://ci.example.com/runs/42',
        type: 'build-system',
        comment: 'the build that produced this configuration',
      },
      {
        url: 'git+https://github.com/plumbline-dev/sample-gateway.git#0123456789abcdef0123456789abcdef01234567',
        type: 'vcs',
        comment: 'commit 0123456789abcdef0123456789abcdef01234567',
      },
    ]);
    const props = Object.fromEntries(
      artifact.properties.map((p: { name: string; value: string }) => [p.name, p.value]),
    );
    expect(props).toMatchObject({
      'plumbline:artifact_hash': header.artifact_hash,
      'plumbline:header_digest': HEADER_DIGEST,
    });
    const byName = Object.fromEntries(bom.components.map((c: { name: string }) => [c.name, c]));
    expect(byName['plugins/auth.wasm']).toMatchObject({
      type: 'file',
      'mime-type': 'application/wasm',
    });
    expect(byName['openapi/petstore.yaml']).toMatchObject({ type: 'data' });
    expect(byName['openapi/petstore.yaml']['mime-type']).toBeUndefined();
    expect(byName['config/routes.yaml']).toMatchObject({
      type: 'data',
      'mime-type': 'application/yaml',
    });
    expect(byName['README.txt']).toMatchObject({ type: 'file' });
    for (const input of header.inputs) {
      const component = byName[input.path];
      expect(component['bom-ref']).toBe(inputBomRef(input));
      expect(component.hashes).toEqual([{ alg: 'SHA-256', content: input.digest.slice(7) }]);
      expect(component.properties).toContainEqual({
        name: 'plumbline:role',
        value: input.role ?? 'other',
      });
      expect(component.properties).toContainEqual({
        name: 'plumbline:artifact_hash',
        value: header.artifact_hash,
      });
    }
    const dep = bom.dependencies.find((d: { ref: string }) => d.ref === artifact['bom-ref']);
    expect([...dep.dependsOn].sort()).toEqual(header.inputs.map((i) => inputBomRef(i)).sort());
    // The wasm mime-type is in the XML too, as an attribute.
    expect(await toCycloneDX(header, { format: 'xml' })).toMatch(
      /<component type="file" mime-type="application\/wasm" bom-ref="/,
    );
  });

  it('is deterministic: the same artifact yields the same bytes whatever the input order', async () => {
    const reference = await toCycloneDX(header, { artifact: ARTIFACT });
    expect(await toCycloneDX(header, { artifact: ARTIFACT })).toBe(reference);
    const referenceXml = await toCycloneDX(header, { artifact: ARTIFACT, format: 'xml' });
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray([...header.inputs], { minLength: 4, maxLength: 4 }),
        async (inputs) => {
          const shuffled = sampleHeader({ inputs });
          expect(await toCycloneDX(shuffled, { artifact: ARTIFACT })).toBe(reference);
          expect(await toCycloneDX(shuffled, { artifact: ARTIFACT, format: 'xml' })).toBe(
            referenceXml,
          );
        },
      ),
      { numRuns: 20 },
    );
    const other = JSON.parse(
      await toCycloneDX(sampleHeader({ artifact_hash: `sha256:${'aa'.repeat(32)}` })),
    );
    expect(other.serialNumber).not.toBe(JSON.parse(reference).serialNumber);
  });

  it('derives the serial number as a UUIDv5', () => {
    // RFC 9562 appendix test vector style check: v5 of "www.example.com" in the DNS namespace.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(PLUMBLINE_BOM_NAMESPACE).toBe(
      uuidV5('https://plumbline.dev/ns/cyclonedx', URL_NAMESPACE),
    );
    expect(bomSerialNumber(header.artifact_hash)).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('refuses bad options and headers with coded errors', async () => {
    expect(await code(toCycloneDX(header, { specVersion: '1.4' as CycloneDXSpecVersion }))).toBe(
      'PLB_SBOM_SPEC_VERSION',
    );
    expect(await code(toCycloneDX(header, { format: 'yaml' as 'json' }))).toBe('PLB_SBOM_FORMAT');
    expect(() => parseSpecVersion('2.0')).toThrow(PlumblineError);
    expect(() => parseFormat('spdx')).toThrow(PlumblineError);
    expect(
      await code(toCycloneDX(sampleHeader({ artifact_hash: 'sha256:XYZ' as `sha256:${string}` }))),
    ).toBe('PLB_SBOM_HEADER_INVALID');
    expect(await code(toCycloneDX(sampleHeader({ build_timestamp: '2026-01-02 03:04:05' })))).toBe(
      'PLB_SBOM_HEADER_INVALID',
    );
    expect(await code(toCycloneDX(header, { headerDigest: 'nope' }))).toBe(
      'PLB_SBOM_HEADER_INVALID',
    );
    const secret = sampleHeader({
      provenance: { ...header.provenance, build_url: 'https://bot:hunter2@ci.example.com/run/1' },
    });
    const error = await toCycloneDX(secret).catch((e: PlumblineError) => e);
    expect((error as PlumblineError).code).toBe('PLB_SBOM_URL_SECRET');
    expect(
      JSON.stringify([(error as Error).message, (error as PlumblineError).details]),
    ).not.toContain('hunter2');
    expect(await code(toCycloneDX(header, { maxInputs: 3 }))).toBe('PLB_SBOM_LIMIT');
    // A limit that is not a positive integer is refused, never read as "no limit".
    for (const maxInputs of [Number.NaN, 0, 2.5]) {
      await expect(toCycloneDX(header, { maxInputs })).rejects.toMatchObject({
        code: 'PLB_SBOM_LIMIT',
        message: 'maxInputs must be a positive integer',
      });
    }
    const minimal = JSON.parse(
      await toCycloneDX(
        sampleHeader({ provenance: { builder: { id: 'b', version: '1' } }, inputs: [] }),
        { validate: true },
      ),
    );
    expect(minimal.metadata.component.externalReferences).toBeUndefined();
    expect(minimal.components ?? []).toEqual([]);
  });
});

describe('validateBom', () => {
  it('reports schema violations in JSON and XML', async () => {
    const json = (await toCycloneDX(header)).replace('"type": "data"', '"type": "bogus"');
    expect(await code(validateBom(json, { format: 'json', specVersion: '1.6' }))).toBe(
      'PLB_SBOM_INVALID',
    );
    expect(await code(validateBom('{not json', { format: 'json', specVersion: '1.6' }))).toBe(
      'PLB_SBOM_INVALID',
    );
    const xml = (await toCycloneDX(header, { format: 'xml' })).replace(
      'type="data"',
      'type="bogus"',
    );
    const error = await validateBom(xml, { format: 'xml', specVersion: '1.6' }).catch(
      (e: PlumblineError) => e,
    );
    expect((error as PlumblineError).code).toBe('PLB_SBOM_INVALID');
    expect(String((error as PlumblineError).details.errors)).toContain('bogus');
    expect(await code(validateBom('<bom', { format: 'xml', specVersion: '1.6' }))).toBe(
      'PLB_SBOM_INVALID',
    );
    // A 1.6 document is not valid 1.5.
    const xml16 = await toCycloneDX(header, { format: 'xml' });
    expect(await code(validateBom(xml16, { format: 'xml', specVersion: '1.5' }))).toBe(
      'PLB_SBOM_INVALID',
    );
  });

  it('says when no XML validator is available', async () => {
    const xml = await toCycloneDX(header, { format: 'xml' });
    expect(
      await code(
        validateBom(xml, { format: 'xml', specVersion: '1.6', xmllint: '/nonexistent/xmllint' }),
      ),
    ).toBe('PLB_SBOM_VALIDATOR_UNAVAILABLE');
  });
});

describe('mergeInto', () => {
  it('adds the configuration to an image SBOM without duplicating components', async () => {
    const merged = JSON.parse(
      await mergeInto(JSON.stringify(imageBom()), header, { artifact: ARTIFACT, validate: true }),
    );
    expect(merged.serialNumber).toBe(imageBom().serialNumber);
    expect(merged.version).toBe(2);
    const names = merged.components.map((c: { name: string }) => c.name);
    expect(names.filter((n: string) => n === 'openapi/petstore.yaml')).toHaveLength(1);
    expect(names).toEqual([
      'musl',
      'openapi/petstore.yaml',
      'gateway.plb',
      'plugins/auth.wasm',
      'README.txt',
      'config/routes.yaml',
    ]);
    const artifactRef = artifactBomRef(header.artifact_hash);
    const image = merged.dependencies.find((d: { ref: string }) => d.ref === 'image-ref');
    expect(image.dependsOn).toContain(artifactRef);
    const artifact = merged.dependencies.find((d: { ref: string }) => d.ref === artifactRef);
    expect(artifact.dependsOn).toContain('file-petstore');
    expect(artifact.dependsOn).not.toContain(inputBomRef(header.inputs[1]!));
    expect(merged.metadata.tools.components.map((t: { name: string }) => t.name)).toEqual([
      'syft',
      'plumbline',
    ]);
  });

  it('is idempotent', async () => {
    const once = await mergeInto(imageBom(), header, { artifact: ARTIFACT });
    const twice = await mergeInto(once, header, { artifact: ARTIFACT });
    expect(twice).toBe(once);
  });

  it('keeps legacy tool arrays and a BOM without components', async () => {
    const legacy = {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      version: 3,
      metadata: { tools: [{ vendor: 'x', name: 'y' }] },
    };
    const merged = JSON.parse(await mergeInto(legacy, header, { validate: true }));
    expect(merged.metadata.tools).toEqual([
      { vendor: 'x', name: 'y' },
      { vendor: 'plumbline', name: 'plumbline', version: expect.any(String) },
    ]);
    expect(merged.components).toHaveLength(5);
    expect(merged.version).toBe(4);
  });

  it('refuses invalid BOMs and other spec versions with coded errors', async () => {
    expect(await code(mergeInto('{oops', header))).toBe('PLB_SBOM_INVALID');
    expect(await code(mergeInto('[]', header))).toBe('PLB_SBOM_INVALID');
    expect(await code(mergeInto({ bomFormat: 'SPDX' }, header))).toBe('PLB_SBOM_INVALID');
    expect(await code(mergeInto({ bomFormat: 'CycloneDX' }, header))).toBe('PLB_SBOM_INVALID');
    expect(
      await code(
        mergeInto({ ...imageBom(), components: [{ type: 'nonsense', name: 'x' }] }, header),
      ),
    ).toBe('PLB_SBOM_INVALID');
    expect(await code(mergeInto(imageBom('1.5'), header, { specVersion: '1.6' }))).toBe(
      'PLB_SBOM_SPEC_MISMATCH',
    );
    expect(await code(mergeInto(imageBom('1.4'), header))).toBe('PLB_SBOM_SPEC_MISMATCH');
    expect(await code(mergeInto('<?xml version="1.0"?><bom/>', header))).toBe(
      'PLB_SBOM_MERGE_FORMAT',
    );
    expect(await code(mergeInto(JSON.stringify(imageBom()), header, { maxBomBytes: 100 }))).toBe(
      'PLB_SBOM_LIMIT',
    );
    for (const maxBomBytes of [Number.NaN, -1]) {
      await expect(
        mergeInto(JSON.stringify(imageBom()), header, { maxBomBytes }),
      ).rejects.toMatchObject({
        code: 'PLB_SBOM_LIMIT',
        message: 'maxBomBytes must be a positive integer',
      });
    }
    expect(
      await code(
        mergeInto(JSON.stringify(imageBom('1.5')), header, { specVersion: '1.5', validate: true }),
      ),
    ).toBe('no error');
  });
});

describe('mergeInto on arbitrary input (fast-check)', () => {
  it('returns a BOM or a coded error, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.record({
            bomFormat: fc.constant('CycloneDX'),
            specVersion: fc.constantFrom('1.4', '1.5', '1.6', '1.7', 2),
            components: fc.anything(),
          }),
        ),
        async (input) => {
          try {
            const text = await mergeInto(input, header, { validateExisting: true });
            expect(JSON.parse(text).bomFormat).toBe('CycloneDX');
          } catch (error) {
            expect(PlumblineError.is(error), String(error)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('writeFileAtomic', () => {
  it('writes whole files and leaves nothing behind on failure', async () => {
    const file = join(work, 'bom.json');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, 'second');
    expect(await readFile(file, 'utf8')).toBe('second');
    expect(readdirSync(work)).toEqual(['bom.json']);
    await expect(writeFileAtomic(join(work, 'missing-dir', 'x.json'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(writeFileAtomic(join(work), 'x')).rejects.toBeTruthy();
    expect(readdirSync(work)).toEqual(['bom.json']);
    expect(existsSync(join(work, 'missing-dir'))).toBe(false);
  });
});
