import * as z from 'zod/mini';
import { describeIssue } from '../schema-issue.js';
import { PlumblineError } from '../errors.js';
import { compareUtf8 } from '../encoding/utf8.js';
import { manifestFromEntries } from './from-entries.js';
import { MANIFEST_FORMAT, type Manifest, type ManifestEntry } from './types.js';
import { MANIFEST_MAX_PATH_LENGTH } from './limits.js';
import { manifestText } from './text.js';

/**
 * Limits applied by {@link parseManifest}, each checked before the work it bounds.
 *
 * @public
 */
export interface ManifestParseOptions {
  /** Largest accepted document, in bytes (UTF-8). Default 256 MiB. */
  readonly maxBytes?: number;
  /** Largest number of entries. Default 1,000,000. */
  readonly maxEntries?: number;
  /**
   * `'allow'` (default) accepts manifests whose paths differ only by case (they were built with
   * `caseCollisions: 'allow'`); `'error'` refuses them.
   */
  readonly caseCollisions?: 'error' | 'allow';
}

/** Default largest manifest document: 256 MiB. @public */
export const DEFAULT_MANIFEST_MAX_BYTES = 256 * 1024 * 1024;
/** Default largest number of manifest entries. @public */
export const DEFAULT_MANIFEST_MAX_ENTRIES = 1_000_000;
export { MANIFEST_MAX_PATH_LENGTH };
/** Longest accepted media type. @public */
export const MANIFEST_MAX_MEDIA_TYPE_LENGTH = 255;

const TOKEN = "[A-Za-z0-9!#$&^_.+'*`|~-]+";
const MEDIA_TYPE_RE = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"[^"\\\\\\x00-\\x1f]*"))*$`,
);

/**
 * The zod schema of one manifest entry (a `zod/mini` schema).
 *
 * @public
 */
export const manifestEntrySchema = z
  .strictObject({
    path: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(MANIFEST_MAX_PATH_LENGTH),
        z.describe('Relative, "/"-separated, Unicode NFC path of the input file.'),
      ),
    size: z
      .int()
      .check(
        z.minimum(0),
        z.maximum(Number.MAX_SAFE_INTEGER),
        z.describe('Size of the file in bytes.'),
      ),
    digest: z
      .string()
      .check(
        z.regex(/^sha256:[0-9a-f]{64}$/),
        z.describe('SHA-256 of the exact bytes: "sha256:" and 64 lowercase hex characters.'),
      ),
    role: z
      .optional(z.enum(['spec', 'config', 'plugin', 'other']))
      .check(z.describe('What the input is to the gateway (metadata, not hashed).')),
    media_type: z
      .optional(
        z.string().check(z.maxLength(MANIFEST_MAX_MEDIA_TYPE_LENGTH), z.regex(MEDIA_TYPE_RE)),
      )
      .check(z.describe('Media type such as application/wasm (metadata, not hashed).')),
  })
  .check(z.describe('One input file of a gateway configuration.'));

/**
 * The zod schema of a manifest document (`plumbline.manifest/v1`). It checks the shape only;
 * {@link parseManifest} also checks the paths, the order and the root. A `zod/mini` schema, so
 * that bundles of the verify path stay small.
 *
 * @public
 */
export const manifestSchema = z
  .strictObject({
    format: z.literal(MANIFEST_FORMAT),
    hash_alg: z.literal('sha256'),
    root: z
      .string()
      .check(
        z.regex(/^sha256:[0-9a-f]{64}$/),
        z.describe('RFC 9162 Merkle Tree Hash over the leaf inputs of the sorted entries.'),
      ),
    entries: z
      .array(manifestEntrySchema)
      .check(z.describe('Entries sorted by the UTF-8 bytes of their path.')),
  })
  .check(z.describe('A Plumbline manifest: the fingerprint of a gateway configuration’s inputs.'));

/** The `$id` of the manifest JSON Schema. @public */
export const MANIFEST_SCHEMA_ID = 'https://plumbline.dev/schemas/manifest.schema.json';

/**
 * The JSON Schema (draft 2020-12) of the manifest document, generated from {@link manifestSchema}.
 * The repository commits it as `docs/schemas/manifest.schema.json`.
 *
 * @example
 * ```ts
 * import { manifestJsonSchema } from '@plumbline/core/manifest';
 * console.log(JSON.stringify(manifestJsonSchema(), null, 2));
 * ```
 * @public
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(manifestSchema, { target: 'draft-2020-12' });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return { $schema, $id: MANIFEST_SCHEMA_ID, title: 'Plumbline manifest v1', ...rest };
}

function fail(
  code: `PLB_${string}`,
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new PlumblineError(code, message, { details });
}

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    fail('PLB_INVALID_OPTION', `option ${name} must be a non-negative integer`, { option: name });
  }
  return limit;
}

/**
 * Parses and verifies a manifest document: size limit first, then JSON, the schema (strict: no
 * unknown fields), the entry limit, every path, the sort order, and finally that `root` is the
 * Merkle root of the entries. A manifest that parses is one whose root can be trusted to match
 * its entries.
 *
 * @example
 * ```ts
 * import { parseManifest } from '@plumbline/core/manifest';
 * const manifest = parseManifest(await fs.readFile('manifest.json'));
 * console.log(manifest.root, manifest.entries.length);
 * ```
 * @throws {@link PlumblineError} `PLB_MANIFEST_TOO_LARGE`, `PLB_MANIFEST_MALFORMED` (not JSON or
 *   not UTF-8), `PLB_MANIFEST_FORMAT` (another format or major version), `PLB_MANIFEST_INVALID`
 *   (schema or order), `PLB_LIMIT_ENTRIES`, the `PLB_PATH_*` codes, and
 *   `PLB_MANIFEST_ROOT_MISMATCH`.
 * @public
 */
export function parseManifest(
  input: string | Uint8Array,
  options: ManifestParseOptions = {},
): Manifest {
  const maxBytes = checkLimit('maxBytes', options.maxBytes, DEFAULT_MANIFEST_MAX_BYTES);
  const maxEntries = checkLimit('maxEntries', options.maxEntries, DEFAULT_MANIFEST_MAX_ENTRIES);
  let text: string;
  if (typeof input === 'string') {
    // UTF-8 takes at least one byte per UTF-16 unit and at most three, so the cheap bound first.
    if (
      input.length > maxBytes ||
      (input.length * 3 > maxBytes && new TextEncoder().encode(input).length > maxBytes)
    ) {
      fail('PLB_MANIFEST_TOO_LARGE', `the manifest is larger than ${maxBytes} bytes`, {
        limit: maxBytes,
      });
    }
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) {
      fail('PLB_MANIFEST_TOO_LARGE', `the manifest is larger than ${maxBytes} bytes`, {
        limit: maxBytes,
        size: input.byteLength,
      });
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (cause) {
      throw new PlumblineError('PLB_MANIFEST_MALFORMED', 'the manifest is not valid UTF-8', {
        cause,
      });
    }
  } else {
    fail('PLB_MANIFEST_MALFORMED', 'the manifest must be a string or bytes');
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : 'invalid JSON';
    throw new PlumblineError('PLB_MANIFEST_MALFORMED', `the manifest is not valid JSON: ${why}`, {
      cause,
    });
  }
  return manifestFromDocument(document, { ...options, maxEntries });
}

/**
 * Verifies an already-decoded manifest document (for example one embedded in a larger JSON
 * document) exactly as {@link parseManifest} does after decoding.
 *
 * @example
 * ```ts
 * import { manifestFromDocument } from '@plumbline/core/manifest';
 * const manifest = manifestFromDocument(JSON.parse(text));
 * ```
 * @throws {@link PlumblineError} as {@link parseManifest}, except the size and JSON errors.
 * @public
 */
export function manifestFromDocument(
  document: unknown,
  options: Omit<ManifestParseOptions, 'maxBytes'> = {},
): Manifest {
  const maxEntries = checkLimit('maxEntries', options.maxEntries, DEFAULT_MANIFEST_MAX_ENTRIES);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    fail('PLB_MANIFEST_INVALID', 'the manifest must be a JSON object');
  }
  const raw = document as Record<string, unknown>;
  if (typeof raw.format === 'string' && raw.format !== MANIFEST_FORMAT) {
    const other = raw.format.slice(0, 80);
    fail(
      'PLB_MANIFEST_FORMAT',
      raw.format.startsWith('plumbline.manifest/')
        ? `manifest format ${JSON.stringify(other)} is another version; this reader supports ${MANIFEST_FORMAT}`
        : `${JSON.stringify(other)} is not a Plumbline manifest format`,
      { format: other },
    );
  }
  // The entry count is bounded before the schema walks (and copies) every entry.
  if (Array.isArray(raw.entries) && raw.entries.length > maxEntries) {
    fail('PLB_LIMIT_ENTRIES', `${raw.entries.length} entries exceed the limit of ${maxEntries}`, {
      count: raw.entries.length,
      limit: maxEntries,
    });
  }
  const result = manifestSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length === 0 ? 'the manifest' : issue.path.map(String).join('.');
    fail('PLB_MANIFEST_INVALID', `invalid manifest at ${where}: ${describeIssue(issue)}`, {
      at: issue.path.map(String).join('.'),
    });
  }
  const entries = result.data.entries as readonly ManifestEntry[];
  for (let i = 1; i < entries.length; i++) {
    if (compareUtf8(entries[i - 1]!.path, entries[i]!.path) > 0) {
      fail(
        'PLB_MANIFEST_INVALID',
        `manifest entries are not sorted by the UTF-8 bytes of their path (${JSON.stringify(entries[i]!.path)} follows ${JSON.stringify(entries[i - 1]!.path)})`,
        { path: entries[i]!.path },
      );
    }
  }
  const rebuilt = manifestFromEntries(entries, {
    caseCollisions: options.caseCollisions ?? 'allow',
    maxEntries,
  });
  if (rebuilt.root !== result.data.root) {
    fail(
      'PLB_MANIFEST_ROOT_MISMATCH',
      `the manifest root ${result.data.root} is not the root of its entries (${rebuilt.root})`,
      { root: result.data.root, computed: rebuilt.root },
    );
  }
  return rebuilt;
}

/**
 * Options for {@link serializeManifest}.
 *
 * @public
 */
export interface ManifestSerializeOptions {
  /** Indentation: `2` (default, with a trailing newline) or `0` for one compact line. */
  readonly indent?: 0 | 2;
}

/**
 * Serializes a manifest as its JSON document with a fixed key order, so equal manifests give equal
 * bytes. The manifest is checked against the schema first (the root is not recomputed).
 *
 * @example
 * ```ts
 * import { manifestFromEntries, serializeManifest } from '@plumbline/core/manifest';
 * await fs.writeFile('manifest.json', serializeManifest(manifestFromEntries(entries)));
 * ```
 * @throws {@link PlumblineError} `PLB_MANIFEST_INVALID` when the manifest does not match the schema.
 * @public
 */
export function serializeManifest(
  manifest: Manifest,
  options: ManifestSerializeOptions = {},
): string {
  const result = manifestSchema.safeParse(manifest);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    fail(
      'PLB_MANIFEST_INVALID',
      `cannot serialize an invalid manifest at ${issue.path.map(String).join('.') || 'the root'}: ${describeIssue(issue)}`,
    );
  }
  return manifestText(manifest, options);
}
