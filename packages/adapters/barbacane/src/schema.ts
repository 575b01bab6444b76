/**
 * Zod schemas of Barbacane's `manifest.json`, one per artifact version.
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

const TEXT = 4096;
const HEX64 = /^[0-9a-f]{64}$/;
const PREFIXED = /^sha256:[0-9a-f]{64}$/;

/** The artifact versions this package knows (1 to 6). @public */
export const BARBACANE_ARTIFACT_VERSIONS = [1, 2, 3, 4, 5, 6] as const;

/** One artifact version this package knows. @public */
export type BarbacaneArtifactVersion = (typeof BARBACANE_ARTIFACT_VERSIONS)[number];

const sourceSpecSchema = z.looseObject({
  file: z.string().min(1).max(TEXT),
  sha256: z.string().regex(HEX64, 'a source spec sha256 is 64 lowercase hex characters'),
  type: z.string().max(TEXT),
  version: z.string().max(TEXT),
});

const capabilitiesSchema = z.looseObject({
  body_access: z.boolean().default(false),
  host_functions: z.array(z.string().max(TEXT)).max(1024).default([]),
});

const pluginSchema = z.looseObject({
  name: z.string().min(1).max(TEXT),
  version: z.string().max(TEXT),
  plugin_type: z.string().max(TEXT),
  wasm_path: z.string().min(1).max(TEXT),
  sha256: z.string().regex(HEX64, 'a plugin sha256 is 64 lowercase hex characters'),
  capabilities: capabilitiesSchema.default({ body_access: false, host_functions: [] }),
});

const provenanceSchema = z.looseObject({
  commit: z.string().max(TEXT).nullable().optional(),
  source: z.string().max(TEXT).nullable().optional(),
});

const mcpSchema = z.looseObject({
  enabled: z.boolean(),
  server_name: z.string().max(TEXT).nullable().optional(),
  server_version: z.string().max(TEXT).nullable().optional(),
});

// Barbacane's `WafConfig` (barbacane-compiler `src/artifact.rs`, main after v0.8.1) holds the
// thresholds as `i64` and `max_response_body` as `u64`; serde refuses a fraction or an exponent
// for them. Beyond 2^53 the manifest's digits are kept exact as a `bigint` (see
// `parseJsonKeepingBigIntegers`), so the hash prints them as Rust does.
const safeInteger = z
  .number()
  .refine(
    Number.isSafeInteger,
    'an integer (a number beyond 2^53 must be written without exponent)',
  );
const i64 = z.union([
  safeInteger,
  z
    .bigint()
    .min(-(2n ** 63n))
    .max(2n ** 63n - 1n),
]);
const u64 = z.union([
  safeInteger.refine((n) => n >= 0, 'not negative'),
  z
    .bigint()
    .min(0n)
    .max(2n ** 64n - 1n),
]);

const wafSchema = z.looseObject({
  enabled: z.boolean(),
  ruleset: z.string().max(TEXT).nullable().optional(),
  paranoia_level: z.number().int().min(0).max(255).default(0),
  mode: z.enum(['blocking', 'detection-only']).default('blocking'),
  inbound_threshold: i64.default(0),
  outbound_threshold: i64.default(0),
  max_response_body: u64.default(1_048_576),
  audit: z.enum(['off', 'relevant-only', 'on']).default('relevant-only'),
  unsupported_rules: z.enum(['fail', 'skip']).default('fail'),
  rules_path: z.string().max(TEXT).nullable().optional(),
  skipped_rules: z.array(z.number().int().min(0).max(0xffffffff)).max(100_000).default([]),
});

const checksumsSchema = z
  .record(z.string().min(1).max(TEXT), z.string().regex(PREFIXED, 'a checksum is sha256:<64 hex>'))
  .refine((value) => Object.keys(value).length <= 100_000, 'too many checksums');

const base = {
  compiled_at: z.string().max(TEXT),
  compiler_version: z.string().max(TEXT),
  source_specs: z.array(sourceSpecSchema).max(100_000),
  routes_count: z.number().int().min(0),
  checksums: checksumsSchema,
  plugins: z.array(pluginSchema).max(100_000).optional(),
  bundled_plugins: z.array(pluginSchema).max(100_000).optional(),
};

const v1Schema = z.looseObject({ barbacane_artifact_version: z.literal(1), ...base });

const v2Fields = {
  ...base,
  artifact_hash: z.string().regex(PREFIXED, 'artifact_hash is sha256:<64 hex>'),
  provenance: provenanceSchema,
};
const v2Schema = z.looseObject({ barbacane_artifact_version: z.literal(2), ...v2Fields });
const v3Schema = z.looseObject({
  barbacane_artifact_version: z.literal(3),
  ...v2Fields,
  mcp: mcpSchema.optional(),
});
const v4Fields = {
  ...v2Fields,
  mcp: mcpSchema.optional(),
  signature: z
    .string()
    .regex(/^[0-9a-f]{128}$/)
    .optional(),
  signing_public_key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  capabilities_enforced: z.boolean().default(false),
};
// Version 4 (Barbacane 0.8.0 and 0.8.1) has no `waf`: serde ignores the field, so it is kept
// unchecked like any unknown field.
const v4Schema = z.looseObject({ barbacane_artifact_version: z.literal(4), ...v4Fields });
const v5Schema = z.looseObject({
  barbacane_artifact_version: z.literal(5),
  ...v4Fields,
  waf: wafSchema.optional(),
});
const v6Schema = z.looseObject({
  barbacane_artifact_version: z.literal(6),
  ...v4Fields,
  waf: wafSchema.optional(),
});

/**
 * The schema of each artifact version's `manifest.json`. Unknown fields are kept.
 *
 * @public
 */
export const barbacaneManifestSchemas = {
  1: v1Schema,
  2: v2Schema,
  3: v3Schema,
  4: v4Schema,
  5: v5Schema,
  6: v6Schema,
} as const;

/** A bundled plugin as the manifest lists it. @public */
export type BarbacanePlugin = z.output<typeof pluginSchema>;
/** A source spec as the manifest lists it. @public */
export type BarbacaneSourceSpec = z.output<typeof sourceSpecSchema>;
/** The WAF policy of a manifest. @public */
export type BarbacaneWafConfig = z.output<typeof wafSchema>;
/** The MCP configuration of a manifest. @public */
export type BarbacaneMcpConfig = z.output<typeof mcpSchema>;

/**
 * A parsed `manifest.json` of any known version. `plugins` is normalized: it holds
 * `bundled_plugins` when an artifact used that older name.
 *
 * @public
 */
export type BarbacaneManifest = (
  | z.output<typeof v1Schema>
  | z.output<typeof v2Schema>
  | z.output<typeof v3Schema>
  | z.output<typeof v4Schema>
  | z.output<typeof v5Schema>
  | z.output<typeof v6Schema>
) & { readonly plugins: readonly BarbacanePlugin[] };

// A JSON string, or a JSON number; outside strings, JSON text holds only these, punctuation,
// whitespace and the literals.
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

// The manifest fields Barbacane reads as 64-bit integers that the hash prints.
const WIDE_INTEGER_KEYS = new Set(['inbound_threshold', 'outbound_threshold', 'max_response_body']);

/**
 * `JSON.parse`, except that an integer beyond `Number.MAX_SAFE_INTEGER` written without fraction
 * or exponent under a key in `wideKeys` becomes a `bigint` with its exact digits instead of a
 * rounded number (elsewhere it reads as `JSON.parse` reads it).
 *
 * @internal
 */
export function parseJsonKeepingBigIntegers(
  text: string,
  wideKeys: ReadonlySet<string> = WIDE_INTEGER_KEYS,
): unknown {
  let found = false;
  const marker = `plb-bigint-${randomUUID()}:`;
  const marked = text.replace(JSON_TOKEN, (token) => {
    if (token.startsWith('"') || !/^-?\d+$/.test(token) || Number.isSafeInteger(Number(token))) {
      return token;
    }
    found = true;
    return `"${marker}${token}"`;
  });
  if (!found) return JSON.parse(text);
  return JSON.parse(marked, (key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(marker)) return value;
    const digits = value.slice(marker.length);
    return wideKeys.has(key) ? BigInt(digits) : Number(digits);
  });
}

/**
 * Parses the bytes of a `manifest.json` with the schema of the artifact version it declares.
 *
 * @example
 * ```ts
 * const manifest = parseBarbacaneManifest(new TextEncoder().encode(json));
 * console.log(manifest.barbacane_artifact_version);
 * ```
 * @throws PlumblineError `PLB_BCA_MANIFEST_INVALID` when the bytes are not JSON or do not match
 *   the schema of their version; `PLB_BCA_UNSUPPORTED_VERSION` for a version this package does
 *   not know.
 * @public
 */
export function parseBarbacaneManifest(bytes: Uint8Array): BarbacaneManifest {
  let json: unknown;
  try {
    json = parseJsonKeepingBigIntegers(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new PlumblineError('PLB_BCA_MANIFEST_INVALID', 'manifest.json is not UTF-8 JSON', {
      cause: error,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PlumblineError('PLB_BCA_MANIFEST_INVALID', 'manifest.json is not a JSON object');
  }
  const version = (json as Record<string, unknown>)['barbacane_artifact_version'];
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new PlumblineError(
      'PLB_BCA_MANIFEST_INVALID',
      'manifest.json has no integer barbacane_artifact_version',
    );
  }
  if (!(BARBACANE_ARTIFACT_VERSIONS as readonly number[]).includes(version)) {
    throw new PlumblineError(
      'PLB_BCA_UNSUPPORTED_VERSION',
      `Barbacane artifact version ${version} is not supported (this reader knows versions ${BARBACANE_ARTIFACT_VERSIONS.join(', ')}); update @plumbline/barbacane`,
      { details: { version, supported: [...BARBACANE_ARTIFACT_VERSIONS] } },
    );
  }
  const schema = barbacaneManifestSchemas[version as BarbacaneArtifactVersion];
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined ? '' : issue.path.join('.');
    throw new PlumblineError(
      'PLB_BCA_MANIFEST_INVALID',
      `manifest.json does not match the version ${version} schema${where === '' ? '' : ` at ${where}`}: ${issue?.message ?? 'invalid'}`,
      { details: { version, path: where } },
    );
  }
  const data = result.data as Record<string, unknown>;
  const plugins = (data['plugins'] ?? data['bundled_plugins'] ?? []) as BarbacanePlugin[];
  return { ...data, plugins } as BarbacaneManifest;
}
