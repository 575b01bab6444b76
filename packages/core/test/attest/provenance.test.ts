import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { format } from 'prettier';
import {
  ARTIFACT_HASH_DIGEST_KEY,
  HEADER_DIGEST_ANNOTATION,
  attestationJsonSchemas,
  buildProvenanceStatement,
  checkStatementSubject,
  encodeStatement,
  parseStatement,
  PLUMBLINE_BUILD_TYPE,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  toProvenanceStatement,
  toStatement,
} from '../../src/attest/index.js';
import { PlumblineError } from '../../src/errors.js';
import { artifactDigest, header, headerDigest } from './fixtures.js';

const golden = (name: string) =>
  fileURLToPath(new URL(`../golden/attest/${name}`, import.meta.url));
const update = process.env.PLUMBLINE_UPDATE_GOLDEN === '1';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return PlumblineError.is(error) ? error.code : 'not-coded';
  }
  return undefined;
}

describe('SLSA provenance statement', () => {
  it('matches the golden statement byte for byte', () => {
    const statement = buildProvenanceStatement({
      header,
      artifactDigest,
      headerDigest,
      subjectName: 'gateway.plb',
    });
    const text = `${JSON.stringify(statement, null, 2)}\n`;
    if (update) writeFileSync(golden('provenance-statement.json'), text);
    expect(text).toBe(readFileSync(golden('provenance-statement.json'), 'utf8'));
    const compact = new TextDecoder().decode(encodeStatement(statement));
    if (update) writeFileSync(golden('provenance-statement.compact.json'), compact);
    expect(compact).toBe(readFileSync(golden('provenance-statement.compact.json'), 'utf8'));
  });

  it('names the artifact, every input and the source commit', () => {
    const statement = buildProvenanceStatement({ header, artifactDigest });
    expect(statement.subject).toEqual([
      {
        name: 'artifact',
        digest: {
          sha256: artifactDigest.slice(7),
          [ARTIFACT_HASH_DIGEST_KEY]: header.artifact_hash.slice(7),
        },
      },
    ]);
    expect(statement.predicateType).toBe(SLSA_PROVENANCE_PREDICATE_TYPE);
    const { buildDefinition, runDetails } = statement.predicate!;
    expect(buildDefinition.buildType).toBe(PLUMBLINE_BUILD_TYPE);
    expect(buildDefinition.externalParameters).toEqual({
      source: header.provenance.source,
      ref: header.provenance.ref,
    });
    const deps = buildDefinition.resolvedDependencies!;
    expect(deps).toHaveLength(header.inputs.length + 1);
    expect(deps.slice(0, -1).map((d) => [d.name, d.digest?.sha256])).toEqual(
      header.inputs.map((e) => [e.path, e.digest.slice(7)]),
    );
    expect(deps.at(-1)).toEqual({
      uri: 'git+https://github.com/example/gateway-config@refs/heads/main',
      digest: { gitCommit: header.provenance.commit },
    });
    expect(runDetails.builder.id).toBe(header.provenance.builder.id);
    expect(runDetails.metadata).toEqual({
      invocationId: header.provenance.build_url,
      startedOn: header.build_timestamp,
      finishedOn: header.build_timestamp,
    });
  });

  it('takes run details from options and handles a minimal header', () => {
    const minimal = {
      ...header,
      provenance: {
        builder: { id: 'plumbline', version: '1' },
        source: 'example/repo',
        commit: 'ab'.repeat(20),
      },
      inputs: [],
    };
    const statement = buildProvenanceStatement({
      header: minimal,
      artifactDigest,
      builderId: 'https://ci.example.com/builder',
      invocationId: 'run-7',
      startedOn: '2026-01-02T03:00:00Z',
      finishedOn: '2026-01-02T03:04:05.123Z',
    });
    const { buildDefinition, runDetails } = statement.predicate!;
    expect(buildDefinition.externalParameters).toEqual({ source: 'example/repo' });
    expect(buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://github.com/example/repo', digest: { gitCommit: 'ab'.repeat(20) } },
    ]);
    expect(runDetails).toEqual({
      builder: { id: 'https://ci.example.com/builder', version: { plumbline: '1' } },
      metadata: {
        invocationId: 'run-7',
        startedOn: '2026-01-02T03:00:00Z',
        finishedOn: '2026-01-02T03:04:05.123Z',
      },
    });
    const noCommit = buildProvenanceStatement({
      header: { ...minimal, provenance: { builder: minimal.provenance.builder } },
      artifactDigest,
    });
    expect(noCommit.predicate!.buildDefinition.resolvedDependencies).toEqual([]);
    expect(noCommit.predicate!.runDetails.metadata).not.toHaveProperty('invocationId');
  });

  it('refuses options that would give an invalid statement', () => {
    expect(
      codeOf(() => buildProvenanceStatement({ header, artifactDigest: 'sha256:xyz' as never })),
    ).toBe('PLB_ATTESTATION_MALFORMED');
    expect(
      codeOf(() => buildProvenanceStatement({ header, artifactDigest, startedOn: 'yesterday' })),
    ).toBe('PLB_ATTESTATION_MALFORMED');
    expect(codeOf(() => buildProvenanceStatement({ header, artifactDigest, builderId: '' }))).toBe(
      'PLB_BUILDER_ID_NOT_URI',
    );
  });

  it('parses back what it encodes', () => {
    const statement = buildProvenanceStatement({ header, artifactDigest });
    const parsed = parseStatement(encodeStatement(statement));
    expect(parsed).toEqual(statement);
    expect(toProvenanceStatement(parsed)).toEqual(statement);
    expect(
      checkStatementSubject(parsed, { artifactDigest, artifactHash: header.artifact_hash }),
    ).toBeUndefined();
    expect(
      checkStatementSubject(parsed, { artifactDigest: `sha256:${'00'.repeat(32)}` })?.code,
    ).toBe('PLB_ATTESTATION_SUBJECT_MISMATCH');
    expect(
      checkStatementSubject(parsed, { artifactDigest, artifactHash: `sha256:${'00'.repeat(32)}` })
        ?.code,
    ).toBe('PLB_ATTESTATION_ARTIFACT_HASH_MISMATCH');
    const annotated = buildProvenanceStatement({ header, artifactDigest, headerDigest });
    expect(annotated.subject[0]!.annotations).toEqual({ [HEADER_DIGEST_ANNOTATION]: headerDigest });
    const other = `sha256:${'00'.repeat(32)}`;
    expect(
      checkStatementSubject(annotated, {
        artifactDigest: other,
        artifactHash: header.artifact_hash,
        headerDigest,
      })?.code,
    ).toBe('PLB_ATTESTATION_PAYLOAD_MISMATCH');
    expect(
      checkStatementSubject(annotated, {
        artifactDigest: other,
        artifactHash: header.artifact_hash,
        headerDigest: other,
      })?.code,
    ).toBe('PLB_ATTESTATION_HEADER_MISMATCH');
    expect(
      checkStatementSubject(annotated, {
        artifactDigest: other,
        artifactHash: other,
        headerDigest: other,
      })?.code,
    ).toBe('PLB_ATTESTATION_SUBJECT_MISMATCH');
    expect(
      codeOf(() =>
        buildProvenanceStatement({ header, artifactDigest, headerDigest: 'sha256:1' as never }),
      ),
    ).toBe('PLB_ATTESTATION_MALFORMED');
    expect(
      codeOf(() =>
        toProvenanceStatement({ ...parsed, predicateType: 'https://example.com/other' }),
      ),
    ).toBe('PLB_ATTESTATION_MALFORMED');
  });
});

describe('parseStatement', () => {
  const valid = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: { sha256: 'ab'.repeat(32) } }],
    predicateType: 'x',
  };

  it.each([
    ['not JSON', '{'],
    ['not UTF-8', '\uFFFD'],
    ['another _type', JSON.stringify({ ...valid, _type: 'https://in-toto.io/Statement/v0.1' })],
    ['no subject', JSON.stringify({ ...valid, subject: [] })],
    ['subject without digest', JSON.stringify({ ...valid, subject: [{ name: 'x' }] })],
    ['empty digest set', JSON.stringify({ ...valid, subject: [{ digest: {} }] })],
    ['short sha256', JSON.stringify({ ...valid, subject: [{ digest: { sha256: 'ab' } }] })],
    [
      'uppercase hex',
      JSON.stringify({ ...valid, subject: [{ digest: { sha256: 'AB'.repeat(32) } }] }),
    ],
    ['bad gitCommit', JSON.stringify({ ...valid, subject: [{ digest: { gitCommit: 'abc' } }] })],
    ['no predicateType', JSON.stringify({ ...valid, predicateType: undefined })],
  ])('refuses %s', (_name, text) => {
    const bytes = text === '\uFFFD' ? new Uint8Array([0xff, 0xfe]) : new TextEncoder().encode(text);
    expect(codeOf(() => parseStatement(bytes))).toBe('PLB_ATTESTATION_MALFORMED');
  });

  it('checks the limits first', () => {
    expect(codeOf(() => parseStatement(new Uint8Array(100), { maxBytes: 10 }))).toBe(
      'PLB_ATTESTATION_TOO_LARGE',
    );
    const many = { ...valid, subject: Array.from({ length: 5 }, () => valid.subject[0]) };
    expect(codeOf(() => toStatement(many, { maxSubjects: 4 }))).toBe('PLB_ATTESTATION_TOO_LARGE');
    expect(toStatement(many).subject).toHaveLength(5);
  });

  it('keeps unknown fields and never throws uncoded errors', () => {
    expect(toStatement({ ...valid, extra: 1 })).toHaveProperty('extra', 1);
    fc.assert(
      fc.property(fc.json(), (text) => {
        const code = codeOf(() => parseStatement(new TextEncoder().encode(text)));
        expect(code === undefined || code.startsWith('PLB_ATTESTATION')).toBe(true);
      }),
    );
  });
});

describe('JSON Schemas', () => {
  it('the committed docs/schemas files equal the generated ones', async () => {
    for (const [name, schema] of Object.entries(attestationJsonSchemas())) {
      const path = fileURLToPath(new URL(`../../../../docs/schemas/${name}`, import.meta.url));
      // Formatted as prettier formats the committed file.
      const text = await format(JSON.stringify(schema), { parser: 'json' });
      if (update) writeFileSync(path, text);
      expect(
        text,
        `${name} is stale: run PLUMBLINE_UPDATE_GOLDEN=1 npx vitest run packages/core/test/attest`,
      ).toBe(readFileSync(path, 'utf8'));
    }
  });
});
