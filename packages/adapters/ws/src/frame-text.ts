import type { RawData } from 'ws';

/**
 * The text of a WebSocket text frame as `ws` hands it over (a Buffer with the default
 * `binaryType`, decoded without copying; a list of fragments or an ArrayBuffer otherwise).
 *
 * @internal
 */
export function frameText(data: RawData): string {
  return Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data).toString('utf8');
}
