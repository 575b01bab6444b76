import { PlumblineError } from '../errors.js';
import { decodeBase64, encodeBase64 } from '../encoding/base64.js';

/**
 * One PEM block: its label (`PUBLIC KEY`, `PRIVATE KEY`, `EC PRIVATE KEY`, `CERTIFICATE`, …) and
 * the DER bytes.
 *
 * @public
 */
export interface PemBlock {
  /** The label between `-----BEGIN ` and `-----`, such as `PUBLIC KEY`. */
  readonly label: string;
  /** The block's base64 body, decoded. */
  readonly der: Uint8Array;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Reads every PEM block in `text` (RFC 7468), in order.
 *
 * @example
 * ```ts
 * const [block] = decodePem(publicKeyPem);
 * block?.label; // 'PUBLIC KEY'
 * ```
 * @throws {@link PlumblineError} `PLB_KEY_INVALID` when there is no block, the BEGIN and END
 *   labels differ, the body is not base64, or the text is longer than `maxChars` (default 1 MiB).
 * @public
 */
export function decodePem(text: string, options: { readonly maxChars?: number } = {}): PemBlock[] {
  const maxChars = options.maxChars ?? 1024 * 1024;
  if (text.length > maxChars) {
    throw new PlumblineError('PLB_KEY_INVALID', `PEM text is longer than ${maxChars} characters`, {
      details: { length: text.length, maxChars },
    });
  }
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_RE)) {
    const [, begin, body, end] = match;
    if (begin !== end) {
      throw new PlumblineError('PLB_KEY_INVALID', 'PEM BEGIN and END labels differ', {
        details: { begin, end },
      });
    }
    const lines = body!.split(/\r?\n/).map((line) => line.trim());
    if (lines.some((line) => line.includes(':'))) {
      throw new PlumblineError(
        'PLB_KEY_INVALID',
        'PEM headers (encrypted legacy keys) are not supported',
        {
          details: { label: begin },
        },
      );
    }
    try {
      blocks.push({ label: begin!, der: decodeBase64(lines.join('')) });
    } catch (error) {
      throw new PlumblineError('PLB_KEY_INVALID', 'PEM body is not base64', {
        cause: error,
        details: { label: begin },
      });
    }
  }
  if (blocks.length === 0) {
    throw new PlumblineError('PLB_KEY_INVALID', 'no PEM block found');
  }
  return blocks;
}

/**
 * Encodes DER bytes as one PEM block with 64-character lines and a trailing newline.
 *
 * @example
 * ```ts
 * encodePem('PUBLIC KEY', spkiDer).startsWith('-----BEGIN PUBLIC KEY-----\n'); // true
 * ```
 * @public
 */
export function encodePem(label: string, der: Uint8Array): string {
  const body = encodeBase64(der).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
