import { PlumblineError } from '@plumbline/core';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `5s`, `2m` or `1h` (a bare number is seconds) into ms.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` naming `what` when it is not a positive duration
 *   of at most 24 hours.
 * @internal
 */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim();
  const match = DURATION.exec(/^\d+(?:\.\d+)?$/.test(trimmed) ? `${trimmed}s` : trimmed);
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) : NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 86_400_000) {
    throw new PlumblineError(
      'PLB_USAGE',
      `${what}: expected a duration such as 500ms, 5s or 2m (at most 24h), got ${JSON.stringify(text.slice(0, 40))}`,
      { details: { key: what } },
    );
  }
  return ms;
}

/**
 * A listen address: host and port.
 *
 * @internal
 */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT` (`[::1]:8443` for IPv6; port 0 picks a free port).
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` naming `what`.
 * @internal
 */
export function parseListen(text: string, what: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new PlumblineError(
      'PLB_USAGE',
      `${what}: expected HOST:PORT such as 127.0.0.1:8443, got ${JSON.stringify(text.slice(0, 80))}`,
      { details: { key: what } },
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

/**
 * Formats a host and port for a URL (brackets around IPv6).
 *
 * @internal
 */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Whether `text` is an absolute URL with one of `schemes` (such as `http:`), for flags that take
 * a URL of a given kind.
 *
 * @internal
 */
export function isUrlOf(text: string, schemes: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return schemes.includes(url.protocol);
}
