import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Validation } from '@cyclonedx/cyclonedx-library';
import { PlumblineError } from '@plumbline/core';
import type { CycloneDXFormat, CycloneDXSpecVersion } from './spec.js';

/**
 * Options for {@link validateBom}.
 *
 * @public
 */
export interface ValidateBomOptions {
  /** The document's format. */
  readonly format: CycloneDXFormat;
  /** The schema version to validate against. */
  readonly specVersion: CycloneDXSpecVersion;
  /**
   * The `xmllint` executable for XML validation (default `xmllint` on `PATH`; Debian/Ubuntu
   * package `libxml2-utils`). When it is missing, the library's own XML validator is tried (it needs
   * the optional native `libxmljs2`).
   */
  readonly xmllint?: string;
  /** Stops an `xmllint` run with `PLB_ABORTED`. */
  readonly signal?: AbortSignal;
}

const jsonValidators = new Map<string, Validation.JsonStrictValidator>();

/** The folder of the CycloneDX schemas shipped with `@cyclonedx/cyclonedx-library`. @internal */
export function schemaDir(): string {
  const require = createRequire(import.meta.url);
  return join(
    dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')),
    'res',
    'schema',
  );
}

function invalid(format: CycloneDXFormat, specVersion: string, errors: unknown): PlumblineError {
  const list = Array.isArray(errors) ? errors.slice(0, 10) : [errors];
  return new PlumblineError(
    'PLB_SBOM_INVALID',
    `the BOM is not valid CycloneDX ${specVersion} ${format.toUpperCase()}: ${describe(list[0])}`,
    { details: { format, specVersion, errors: list } },
  );
}

function describe(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const e = error as { instancePath?: unknown; message?: unknown };
    if (typeof e.message === 'string') {
      return `${typeof e.instancePath === 'string' && e.instancePath !== '' ? `${e.instancePath} ` : ''}${e.message}`;
    }
  }
  return JSON.stringify(error);
}

async function validateJson(text: string, specVersion: CycloneDXSpecVersion): Promise<void> {
  let validator = jsonValidators.get(specVersion);
  if (!validator) {
    validator = new Validation.JsonStrictValidator(specVersion as never);
    jsonValidators.set(specVersion, validator);
  }
  let result: unknown;
  try {
    result = await validator.validate(text);
  } catch (cause) {
    if (cause instanceof SyntaxError) throw invalid('json', specVersion, 'not valid JSON');
    throw new PlumblineError(
      'PLB_SBOM_VALIDATOR_UNAVAILABLE',
      'the CycloneDX JSON validator could not run (ajv, ajv-formats, ajv-formats-draft2019 needed)',
      {
        details: {},
        cause,
      },
    );
  }
  if (result !== null) throw invalid('json', specVersion, result);
}

interface XmllintRun {
  code: number | null;
  stderr: string;
}

function runXmllint(
  executable: string,
  xsd: string,
  text: string,
  signal?: AbortSignal,
): Promise<XmllintRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, ['--noout', '--nonet', '--schema', xsd, '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}

async function validateXml(text: string, options: ValidateBomOptions): Promise<void> {
  const xsd = join(schemaDir(), `bom-${options.specVersion}.SNAPSHOT.xsd`);
  let run: XmllintRun;
  try {
    run = await runXmllint(options.xmllint ?? 'xmllint', xsd, text, options.signal);
  } catch (cause) {
    if (options.signal?.aborted) {
      throw new PlumblineError('PLB_ABORTED', 'BOM validation was aborted', {
        cause: options.signal.reason,
      });
    }
    if ((cause as { code?: unknown }).code !== 'ENOENT') throw cause;
    // No xmllint: the library's validator, which needs the optional native libxmljs2.
    let result: unknown;
    try {
      result = await new Validation.XmlValidator(options.specVersion as never).validate(text);
    } catch (inner) {
      throw new PlumblineError(
        'PLB_SBOM_VALIDATOR_UNAVAILABLE',
        'XML validation needs xmllint (Debian/Ubuntu: libxml2-utils) or the optional libxmljs2 package',
        { details: {}, cause: inner },
      );
    }
    if (result !== null) throw invalid('xml', options.specVersion, result);
    return;
  }
  if (run.code === 0) return;
  const lines = run.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== '- fails to validate');
  if (run.code === 1 || run.code === 3) throw invalid('xml', options.specVersion, lines);
  throw new PlumblineError(
    'PLB_SBOM_VALIDATOR_UNAVAILABLE',
    `xmllint could not validate (exit ${run.code})`,
    {
      details: { exitCode: run.code, messages: lines.slice(0, 10) },
    },
  );
}

/**
 * Validates a BOM strictly against the CycloneDX schema of `specVersion`: JSON with the library's
 * `JsonStrictValidator` (ajv), XML against the library's bundled XSD with `xmllint --schema`
 * (works on every Node version, no native addon), falling back to the library's `XmlValidator`.
 *
 * @example
 * ```ts
 * await validateBom(text, { format: 'json', specVersion: '1.6' });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SBOM_INVALID` with the first errors in
 *   `details.errors`, `PLB_SBOM_VALIDATOR_UNAVAILABLE` when no validator can run, `PLB_ABORTED`.
 * @public
 */
export async function validateBom(text: string, options: ValidateBomOptions): Promise<void> {
  if (options.format === 'json') await validateJson(text, options.specVersion);
  else await validateXml(text, options);
}
