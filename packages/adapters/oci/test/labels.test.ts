import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  assertValidLabel,
  isValidLabelKey,
  labelArgs,
  ociLabels,
  renderLabels,
  shellQuote,
  sourceUrl,
  type LabelFormat,
} from '@plumbline/oci';
import { HEADER_DIGEST, sampleHeader } from './fixtures.js';

const golden = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./golden/${name}`, import.meta.url)), 'utf8');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return 'no error';
}

const header = sampleHeader();
const labels = ociLabels(header, {
  headerDigest: HEADER_DIGEST,
  title: "Sample gateway's config",
  description: 'Routes for "petstore" at $HOME `whoami` \\ done',
  url: 'https://example.com/gateway',
  documentation: 'https://example.com/docs',
  licenses: 'Apache-2.0',
  vendor: 'Example Inc.',
  refName: 'v1.2.3',
});

describe('ociLabels', () => {
  it('fills the standard and Plumbline keys from the header, sorted', () => {
    expect(labels).toEqual({
      'dev.plumbline.artifact.hash': header.artifact_hash,
      'dev.plumbline.builder.id': 'https://github.com/plumbline-dev/plumbline/cli',
      'dev.plumbline.format': 'plumbline.header/v1',
      'dev.plumbline.header.digest': HEADER_DIGEST,
      'org.opencontainers.image.created': '2026-01-02T03:04:05Z',
      'org.opencontainers.image.description': 'Routes for "petstore" at $HOME `whoami` \\ done',
      'org.opencontainers.image.documentation': 'https://example.com/docs',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.ref.name': 'v1.2.3',
      'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
      'org.opencontainers.image.source': 'https://github.com/plumbline-dev/sample-gateway',
      'org.opencontainers.image.title': "Sample gateway's config",
      'org.opencontainers.image.url': 'https://example.com/gateway',
      'org.opencontainers.image.vendor': 'Example Inc.',
      'org.opencontainers.image.version': 'v1.2.3',
    });
    expect(Object.keys(labels)).toEqual(Object.keys(labels).sort());
    // The build URL is never published.
    expect(JSON.stringify(labels)).not.toContain('ci.example.com');
  });

  it('keeps optional fields out when the header lacks them', () => {
    const minimal = ociLabels(
      sampleHeader({ provenance: { builder: { id: 'b', version: '1' } } }),
      { omitCreated: true },
    );
    expect(minimal).toEqual({
      'dev.plumbline.artifact.hash': header.artifact_hash,
      'dev.plumbline.builder.id': 'b',
      'dev.plumbline.format': 'plumbline.header/v1',
    });
    const branch = ociLabels(
      sampleHeader({
        provenance: { ...header.provenance, ref: 'refs/heads/main', source: 'acme/gw.git' },
      }),
    );
    expect(branch['org.opencontainers.image.version']).toBeUndefined();
    expect(branch['org.opencontainers.image.source']).toBe('https://github.com/acme/gw');
  });

  it('refuses URLs with credentials, without echoing them', () => {
    let caught: unknown;
    try {
      ociLabels(
        sampleHeader({
          provenance: { ...header.provenance, source: 'https://user:s3cret@git.example.com/gw' },
        }),
      );
    } catch (error) {
      caught = error;
    }
    expect(PlumblineError.is(caught, 'PLB_OCI_LABEL_SECRET')).toBe(true);
    expect(
      JSON.stringify({ m: (caught as Error).message, d: (caught as PlumblineError).details }),
    ).not.toContain('s3cret');
    expect(codeOf(() => ociLabels(header, { url: 'https://token@example.com' }))).toBe(
      'PLB_OCI_LABEL_SECRET',
    );
  });

  it('refuses invalid keys and values', () => {
    expect(codeOf(() => ociLabels(header, { title: 'two\nlines' }))).toBe('PLB_OCI_LABEL_INVALID');
    expect(codeOf(() => ociLabels(header, { title: '' }))).toBe('PLB_OCI_LABEL_INVALID');
    expect(codeOf(() => ociLabels(header, { title: 'x'.repeat(5000) }))).toBe(
      'PLB_OCI_LABEL_INVALID',
    );
    expect(codeOf(() => ociLabels(header, { title: 'bad \uD800 surrogate' }))).toBe(
      'PLB_OCI_LABEL_INVALID',
    );
    expect(codeOf(() => ociLabels(header, { url: 'ftp://example.com' }))).toBe(
      'PLB_OCI_LABEL_INVALID',
    );
    expect(codeOf(() => ociLabels(header, { url: 'not a url' }))).toBe('PLB_OCI_LABEL_INVALID');
    expect(codeOf(() => ociLabels(header, { refName: 'has space' }))).toBe('PLB_OCI_LABEL_INVALID');
    expect(codeOf(() => ociLabels(header, { headerDigest: 'sha256:XYZ' }))).toBe(
      'PLB_OCI_LABEL_INVALID',
    );
    expect(codeOf(() => assertValidLabel('Upper.Case', 'x'))).toBe('PLB_OCI_LABEL_INVALID');
    expect(isValidLabelKey('dev.plumbline.artifact.hash')).toBe(true);
    expect(isValidLabelKey('nodots')).toBe(false);
    expect(isValidLabelKey('a..b')).toBe(false);
    expect(sourceUrl('https://gitlab.com/a/b.git')).toBe('https://gitlab.com/a/b');
    expect(sourceUrl('a/b', 'https://git.example.com/')).toBe('https://git.example.com/a/b');
  });
});

describe('renderLabels', () => {
  for (const format of ['args', 'dockerfile', 'json', 'env'] as LabelFormat[]) {
    it(`matches the ${format} golden file`, () => {
      expect(renderLabels(labels, format)).toBe(golden(`labels.${format}.txt`));
    });
  }

  it('refuses an unknown format and hand-made labels that would inject', () => {
    expect(codeOf(() => renderLabels(labels, 'yaml' as LabelFormat))).toBe('PLB_OCI_FORMAT');
    expect(codeOf(() => renderLabels({ 'a.b': 'x\nRUN rm -rf /' }, 'dockerfile'))).toBe(
      'PLB_OCI_LABEL_INVALID',
    );
    expect(codeOf(() => renderLabels({ 'a.b c': 'x' }, 'args'))).toBe('PLB_OCI_LABEL_INVALID');
    expect(renderLabels({}, 'args')).toBe('');
    expect(renderLabels({}, 'dockerfile')).toBe('');
  });

  it('gives argv arrays for spawn', () => {
    expect(labelArgs({ 'b.c': 'two', 'a.b': "it's" })).toEqual([
      '--label',
      "a.b=it's",
      '--label',
      'b.c=two',
    ]);
  });

  it('shell-quotes any value into exactly one word (checked with a real sh)', () => {
    const value = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter(
      // eslint-disable-next-line no-control-regex
      (s) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Surrogate}/u.test(s),
    );
    const samples = fc.sample(value, 40);
    samples.push("'", "''", '$(id)', '`id`', '"$HOME"', '\\', '*', '; rm -rf /');
    const rendered = renderLabels(
      Object.fromEntries(samples.map((s, i) => [`dev.test.k${String(i).padStart(3, '0')}`, s])),
      'args',
    );
    const result = spawnSync(
      'sh',
      ['-c', `for a in ${rendered.trimEnd()}; do printf '%s\\0' "$a"; done`],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(0);
    const words = result.stdout.split('\0').slice(0, -1);
    const expected = samples.flatMap((s, i) => [
      '--label',
      `dev.test.k${String(i).padStart(3, '0')}=${s}`,
    ]);
    expect(words).toEqual(expected);
    fc.assert(
      fc.property(fc.string(), (s) => {
        const quoted = shellQuote(s);
        return (
          quoted.startsWith("'") &&
          quoted.endsWith("'") &&
          quoted.slice(1, -1).replaceAll(`'\\''`, "'") === s
        );
      }),
    );
  });

  it('Dockerfile quoting escapes quotes, backslashes and $ (property)', () => {
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1 })
          // eslint-disable-next-line no-control-regex
          .filter((s) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Surrogate}/u.test(s)),
        (s) => {
          const line = renderLabels({ 'a.b': s }, 'dockerfile');
          const value = line.slice('LABEL "a.b"='.length, -1);
          expect(value.startsWith('"') && value.endsWith('"')).toBe(true);
          const inner = value.slice(1, -1);
          // Every ", \ and $ is escaped; unescaping gives the value back.
          expect(/(^|[^\\])(\\\\)*["$]/.test(inner)).toBe(false);
          expect(inner.replace(/\\(.)/gsu, '$1')).toBe(s);
        },
      ),
    );
  });
});
