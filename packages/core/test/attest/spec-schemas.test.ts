import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildProvenanceStatement, builderIdUri, isTypeUri } from '../../src/attest/index.js';
import { PlumblineError } from '../../src/errors.js';
import { artifactDigest, header, headerDigest } from './fixtures.js';

// JSON Schemas written from the in-toto Statement v1 and SLSA Provenance v1 specifications
// (not generated from the zod schemas the code checks itself with).
const spec = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./spec/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema(spec('in-toto-statement-v1.schema.json'));
const slsa = ajv.compile(spec('slsa-provenance-v1.schema.json'));

const golden = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../golden/attest/${name}`, import.meta.url), 'utf8'));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return PlumblineError.is(error) ? error.code : 'not-coded';
  }
  return undefined;
}

const cliHeader = {
  ...header,
  provenance: { ...header.provenance, builder: { id: '@plumbline/cli', version: '0.1.0' } },
};

describe('statements against the in-toto and SLSA v1 specifications', () => {
  it('the built statements and the golden file are valid SLSA Provenance v1', () => {
    for (const statement of [
      buildProvenanceStatement({ header, artifactDigest, headerDigest }),
      buildProvenanceStatement({ header: cliHeader, artifactDigest }),
      golden('provenance-statement.json'),
    ]) {
      expect(slsa(statement), JSON.stringify(slsa.errors)).toBe(true);
    }
  });

  it('the schemas have teeth: a builder id that is not a URI is invalid', () => {
    const statement = structuredClone(buildProvenanceStatement({ header, artifactDigest })) as {
      predicate: { runDetails: { builder: { id: string } } };
    };
    statement.predicate.runDetails.builder.id = '@plumbline/cli';
    expect(slsa(statement)).toBe(false);
  });

  it('a header builder id that is not a URI becomes a URN naming it', () => {
    const statement = buildProvenanceStatement({ header: cliHeader, artifactDigest });
    expect(statement.predicate!.runDetails.builder.id).toBe(
      'urn:plumbline:builder:%40plumbline%2Fcli',
    );
    expect(decodeURIComponent('%40plumbline%2Fcli')).toBe('@plumbline/cli');
    // A URI is kept as it is.
    expect(builderIdUri('https://ci.example/builders/seal@v1')).toBe(
      'https://ci.example/builders/seal@v1',
    );
  });

  it('refuses a builder id option that is not a URI with PLB_BUILDER_ID_NOT_URI', () => {
    for (const id of [
      '',
      '@plumbline/cli',
      'acme ci',
      'https://h/\u001b[2J',
      'no-scheme/path',
      'x:%zz',
    ]) {
      expect(isTypeUri(id), id).toBe(false);
      expect(
        codeOf(() => buildProvenanceStatement({ header, artifactDigest, builderId: id })),
        id,
      ).toBe('PLB_BUILDER_ID_NOT_URI');
    }
    const statement = buildProvenanceStatement({
      header,
      artifactDigest,
      builderId: 'https://github.com/acme/gateway/.github/workflows/seal.yml@refs/heads/main',
    });
    expect(slsa(statement), JSON.stringify(slsa.errors)).toBe(true);
  });
});
