import { PlumblineError } from '../errors.js';

const MAX_EPOCH = 253_402_300_799; // 9999-12-31T23:59:59Z

function fromEpochSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Parses `SOURCE_DATE_EPOCH` (decimal seconds since 1970, per reproducible-builds.org) into an
 * RFC 3339 UTC timestamp with whole seconds.
 *
 * @example
 * ```ts
 * timestampFromSourceDateEpoch('1700000000'); // '2023-11-14T22:13:20Z'
 * ```
 * @throws {@link PlumblineError} `PLB_SOURCE_DATE_EPOCH_INVALID` for anything but an integer in range.
 * @public
 */
export function timestampFromSourceDateEpoch(value: string): string {
  const text = value.trim();
  if (!/^\d{1,12}$/.test(text) || Number(text) > MAX_EPOCH) {
    throw new PlumblineError(
      'PLB_SOURCE_DATE_EPOCH_INVALID',
      'SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 (up to year 9999)',
      { details: { value: text.slice(0, 32) } },
    );
  }
  return fromEpochSeconds(Number(text));
}

/**
 * Normalizes a build time to RFC 3339 UTC with `Z` and whole seconds (fractions are truncated).
 * Accepts a `Date`, epoch seconds, or RFC 3339 text with any offset.
 *
 * @example
 * ```ts
 * normalizeTimestamp('2024-05-01T12:00:00.750+02:00'); // '2024-05-01T10:00:00Z'
 * ```
 * @throws {@link PlumblineError} `PLB_TIMESTAMP_INVALID`.
 * @public
 */
export function normalizeTimestamp(value: Date | number | string): string {
  const bad = (): never => {
    throw new PlumblineError(
      'PLB_TIMESTAMP_INVALID',
      'a build timestamp must be a valid date between 1970 and 9999',
    );
  };
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) bad();
    ms = value * 1000;
  } else {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) bad();
    ms = Date.parse(value.toUpperCase());
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_EPOCH * 1000 + 999) bad();
  return fromEpochSeconds(Math.floor(ms / 1000));
}

/**
 * Whether `text` is a header timestamp: RFC 3339 UTC, `Z`, whole seconds, a real date.
 *
 * @public
 */
export function isHeaderTimestamp(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text)) return false;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && fromEpochSeconds(ms / 1000) === text;
}

/**
 * Options for {@link resolveBuildTimestamp}.
 *
 * @public
 */
export interface BuildTimestampOptions {
  /** A build time; used when `SOURCE_DATE_EPOCH` is not set. Default: now. */
  readonly buildTimestamp?: Date | number | string | undefined;
  /**
   * `SOURCE_DATE_EPOCH` to honour. Omitted: read from the process environment where there is one.
   * `null`: ignore the environment.
   */
  readonly sourceDateEpoch?: string | null | undefined;
}

/**
 * The header's `build_timestamp`: `SOURCE_DATE_EPOCH` wins when set (docs/formats.md), then the given
 * build time, then the current time.
 *
 * @example
 * ```ts
 * resolveBuildTimestamp({ sourceDateEpoch: '0' }); // '1970-01-01T00:00:00Z'
 * ```
 * @throws {@link PlumblineError} `PLB_SOURCE_DATE_EPOCH_INVALID`, `PLB_TIMESTAMP_INVALID`.
 * @public
 */
export function resolveBuildTimestamp(options: BuildTimestampOptions = {}): string {
  let epoch = options.sourceDateEpoch;
  if (epoch === undefined) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
      ?.env;
    epoch = env?.['SOURCE_DATE_EPOCH'];
  }
  if (epoch !== undefined && epoch !== null && epoch !== '')
    return timestampFromSourceDateEpoch(epoch);
  return normalizeTimestamp(options.buildTimestamp ?? new Date());
}
