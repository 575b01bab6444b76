import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodePem, encodePem } from '../../src/signer/pem.js';

describe('PEM', () => {
  it('round-trips DER through 64-column PEM', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), (der) => {
        const pem = encodePem('PUBLIC KEY', der);
        expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
        expect(decodePem(pem)).toEqual([{ label: 'PUBLIC KEY', der }]);
      }),
    );
  });

  it('reads several blocks with CRLF line endings', () => {
    const text = (
      encodePem('CERTIFICATE', new Uint8Array([1])) + encodePem('CERTIFICATE', new Uint8Array([2]))
    ).replace(/\n/g, '\r\n');
    expect(decodePem(text).map((b) => b.der[0])).toEqual([1, 2]);
  });

  it.each([
    ['no block', 'hello', /no PEM block/],
    ['mismatched labels', '-----BEGIN A-----\nAA==\n-----END B-----', /labels differ/],
    [
      'headers',
      '-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAA==\n-----END EC PRIVATE KEY-----',
      /headers/,
    ],
    ['bad base64', '-----BEGIN A-----\n!!!!\n-----END A-----', /not base64/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => decodePem(text)).toThrow(message);
  });

  it('checks the size limit first', () => {
    expect(() => decodePem('x'.repeat(20), { maxChars: 10 })).toThrow(/longer than 10/);
  });
});
