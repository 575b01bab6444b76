import { PlumblineError } from '@plumbline/core';
import type { ProvenanceHeader } from '@plumbline/core/header';

/**
 * The label keys `ociLabels` can fill: the standard `org.opencontainers.image.*` annotations and
 * Plumbline's own reverse-DNS keys.
 *
 * @public
 */
export const OCI_LABEL_KEYS = {
  created: 'org.opencontainers.image.created',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  version: 'org.opencontainers.image.version',
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  url: 'org.opencontainers.image.url',
  documentation: 'org.opencontainers.image.documentation',
  licenses: 'org.opencontainers.image.licenses',
  vendor: 'org.opencontainers.image.vendor',
  refName: 'org.opencontainers.image.ref.name',
  artifactHash: 'dev.plumbline.artifact.hash',
  headerDigest: 'dev.plumbline.header.digest',
  builderId: 'dev.plumbline.builder.id',
  format: 'dev.plumbline.format',
} as const;

/**
 * Options for {@link ociLabels}. Every field is optional; the header fills the rest.
 *
 * @public
 */
export interface OciLabelsOptions {
  /**
   * The header digest (`sha256:…`), as returned by core's `headerDigest(header)` or `readHeader`.
   * Sets `dev.plumbline.header.digest`; left out when absent.
   */
  readonly headerDigest?: string;
  /** `org.opencontainers.image.version`; defaults to the tag name when `provenance.ref` is `refs/tags/…`. */
  readonly version?: string;
  /** `org.opencontainers.image.title`. */
  readonly title?: string;
  /** `org.opencontainers.image.description`. */
  readonly description?: string;
  /** `org.opencontainers.image.url` (an http(s) URL without credentials). */
  readonly url?: string;
  /** `org.opencontainers.image.documentation` (an http(s) URL without credentials). */
  readonly documentation?: string;
  /** `org.opencontainers.image.licenses` (an SPDX expression). */
  readonly licenses?: string;
  /** `org.opencontainers.image.vendor`. */
  readonly vendor?: string;
  /** `org.opencontainers.image.ref.name` (a tag-like name: `[A-Za-z0-9._:@/+-]`). */
  readonly refName?: string;
  /**
   * Base URL for a `source` given as `owner/repo` (default `https://github.com`), so that
   * `org.opencontainers.image.source` is always a URL.
   */
  readonly sourceBaseUrl?: string;
  /** Leave out `org.opencontainers.image.created` (for images whose creation time is set elsewhere). */
  readonly omitCreated?: boolean;
  /** Longest value accepted, in UTF-16 code units (default 4096). */
  readonly maxValueLength?: number;
}

/**
 * Labels as a plain object whose keys are in sorted order.
 *
 * @public
 */
export type OciLabels = Readonly<Record<string, string>>;

const KEY_PATTERN = /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?:\.[a-z0-9]+(?:[.-][a-z0-9]+)*)+$/;
const REF_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._:@/+-]*[A-Za-z0-9_])?$/;
// C0 and C1 controls, DEL, line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether `key` is a valid label key: lowercase reverse-DNS, dot-separated, at least two
 * segments (`org.opencontainers.image.revision`, `dev.plumbline.artifact.hash`).
 *
 * @example
 * ```ts
 * isValidLabelKey('dev.plumbline.artifact.hash'); // true
 * isValidLabelKey('Bad Key'); // false
 * ```
 * @public
 */
export function isValidLabelKey(key: string): boolean {
  return key.length <= 256 && KEY_PATTERN.test(key);
}

/**
 * Checks one label key and value: a valid key, a value without control characters or line breaks,
 * within `maxValueLength`, and, for URL-valued keys, an http(s) URL without user info.
 *
 * @example
 * ```ts
 * assertValidLabel('org.opencontainers.image.url', 'https://example.com');
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_OCI_LABEL_INVALID` for a bad key or value,
 *   `PLB_OCI_LABEL_SECRET` for a URL carrying credentials.
 * @public
 */
export function assertValidLabel(key: string, value: string, maxValueLength = 4096): void {
  if (!isValidLabelKey(key)) {
    throw new PlumblineError('PLB_OCI_LABEL_INVALID', `invalid label key ${JSON.stringify(key)}`, {
      details: { key },
    });
  }
  if (value.length === 0 || value.length > maxValueLength) {
    throw new PlumblineError(
      'PLB_OCI_LABEL_INVALID',
      `label ${key} must have 1 to ${maxValueLength} characters (has ${value.length})`,
      { details: { key, length: value.length, limit: maxValueLength } },
    );
  }
  if (CONTROL.test(value) || LONE_SURROGATE.test(value)) {
    throw new PlumblineError(
      'PLB_OCI_LABEL_INVALID',
      `label ${key} contains a control character, a line break or a lone surrogate`,
      { details: { key } },
    );
  }
  if (
    key === OCI_LABEL_KEYS.url ||
    key === OCI_LABEL_KEYS.documentation ||
    key === OCI_LABEL_KEYS.source
  ) {
    assertPublicUrl(key, value);
  }
  if (key === OCI_LABEL_KEYS.refName && !REF_NAME_PATTERN.test(value)) {
    throw new PlumblineError(
      'PLB_OCI_LABEL_INVALID',
      `label ${key} must be a tag-like name ([A-Za-z0-9._:@/+-])`,
      { details: { key } },
    );
  }
}

function assertPublicUrl(key: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new PlumblineError('PLB_OCI_LABEL_INVALID', `label ${key} is not a URL`, {
      details: { key },
      cause,
    });
  }
  if (url.username !== '' || url.password !== '') {
    // Never echo the value: it holds a credential.
    throw new PlumblineError(
      'PLB_OCI_LABEL_SECRET',
      `label ${key} is a URL with credentials; refusing to publish it`,
      { details: { key } },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PlumblineError('PLB_OCI_LABEL_INVALID', `label ${key} must be an http(s) URL`, {
      details: { key, protocol: url.protocol },
    });
  }
}

/**
 * The URL form of a header `source`: URLs stay as they are (without a trailing `.git`),
 * `owner/repo` becomes `<base>/owner/repo`.
 *
 * @example
 * ```ts
 * sourceUrl('plumbline-dev/plumbline'); // 'https://github.com/plumbline-dev/plumbline'
 * ```
 * @public
 */
export function sourceUrl(source: string, base = 'https://github.com'): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(source)) return source.replace(/\.git$/, '');
  return `${base.replace(/\/+$/, '')}/${source.replace(/^\/+/, '').replace(/\.git$/, '')}`;
}

/**
 * The OCI image labels (and annotations) a provenance header can fill: `created` (the build
 * timestamp), `revision` (the commit), `source`, `version`, `ref.name`, the descriptive fields
 * given in `options`, and Plumbline's `dev.plumbline.artifact.hash`, `.header.digest`,
 * `.builder.id` and `.format`. Only valid keys and values; the build URL and anything not listed
 * are never included, and URLs with credentials are refused.
 *
 * @example
 * ```ts
 * import { ociLabels, renderLabels } from '@plumbline/oci';
 * const labels = ociLabels(header, { headerDigest, title: 'edge gateway config' });
 * console.log(renderLabels(labels, 'args')); // --label 'dev.plumbline.artifact.hash=sha256:…' …
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_OCI_LABEL_INVALID` or `PLB_OCI_LABEL_SECRET`
 *   for a value that cannot be a label.
 * @public
 */
export function ociLabels(header: ProvenanceHeader, options: OciLabelsOptions = {}): OciLabels {
  const limit = options.maxValueLength ?? 4096;
  const out: Record<string, string> = {};
  const put = (key: string, value: string | undefined): void => {
    if (value === undefined) return;
    assertValidLabel(key, value, limit);
    out[key] = value;
  };
  const provenance = header.provenance;
  if (options.omitCreated !== true) put(OCI_LABEL_KEYS.created, header.build_timestamp);
  put(OCI_LABEL_KEYS.revision, provenance.commit);
  put(
    OCI_LABEL_KEYS.source,
    provenance.source === undefined
      ? undefined
      : sourceUrl(provenance.source, options.sourceBaseUrl),
  );
  const tag = provenance.ref?.startsWith('refs/tags/') ? provenance.ref.slice(10) : undefined;
  put(OCI_LABEL_KEYS.version, options.version ?? (tag === '' ? undefined : tag));
  put(OCI_LABEL_KEYS.title, options.title);
  put(OCI_LABEL_KEYS.description, options.description);
  put(OCI_LABEL_KEYS.url, options.url);
  put(OCI_LABEL_KEYS.documentation, options.documentation);
  put(OCI_LABEL_KEYS.licenses, options.licenses);
  put(OCI_LABEL_KEYS.vendor, options.vendor);
  put(OCI_LABEL_KEYS.refName, options.refName);
  put(OCI_LABEL_KEYS.artifactHash, header.artifact_hash);
  if (options.headerDigest !== undefined) {
    if (!/^sha256:[0-9a-f]{64}$/.test(options.headerDigest)) {
      throw new PlumblineError(
        'PLB_OCI_LABEL_INVALID',
        'headerDigest must be sha256: followed by 64 lowercase hex characters',
        { details: { key: OCI_LABEL_KEYS.headerDigest } },
      );
    }
    put(OCI_LABEL_KEYS.headerDigest, options.headerDigest);
  }
  put(OCI_LABEL_KEYS.builderId, provenance.builder.id);
  put(OCI_LABEL_KEYS.format, header.format);
  return sortLabels(out);
}

/**
 * Returns the labels with keys in ascending code-unit order (the order every renderer uses).
 *
 * @example
 * ```ts
 * sortLabels({ b: '1', a: '2' }); // { a: '2', b: '1' }
 * ```
 * @public
 */
export function sortLabels(labels: Readonly<Record<string, string>>): OciLabels {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) sorted[key] = labels[key]!;
  return sorted;
}
