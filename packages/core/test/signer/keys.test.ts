import { describe, expect, it } from 'vitest';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  verify as nodeVerify,
  webcrypto,
} from 'node:crypto';
import {
  computeKeyId,
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
  type CryptoRuntime,
} from '../../src/signer/index.js';
import { PlumblineError } from '../../src/errors.js';
import type { SignatureAlgorithm } from '../../src/signer/types.js';

const data = new TextEncoder().encode('plumbline signing test');
const algorithms: SignatureAlgorithm[] = ['ecdsa-p256-sha256', 'ed25519'];
const runtimes: CryptoRuntime[] = ['node:crypto', 'webcrypto'];

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(PlumblineError.is(error), String(error)).toBe(true);
  expect((error as PlumblineError).code).toBe(code);
}

describe.each(algorithms)('%s keys', (algorithm) => {
  it.each(runtimes)(
    'generate, sign and verify with %s, cross-checked with the other runtime',
    async (runtime) => {
      const pair = await generateSigningKeyPair({ algorithm, runtime });
      expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      const spki = createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
      expect(pair.keyId).toBe(createHash('sha256').update(spki).digest('hex'));

      const signer = await createKeySigner({ privateKey: pair.privateKeyPem, runtime });
      expect(signer.algorithm).toBe(algorithm);
      expect(signer.keyId).toBe(pair.keyId);
      expect(signer.publicKeyPem).toBe(pair.publicKeyPem);
      const signature = await signer.sign(data);
      expect(await signer.verifier().verify(data, signature)).toBe(true);

      for (const other of runtimes) {
        const verifier = await createKeySignatureVerifier({
          publicKey: pair.publicKeyPem,
          runtime: other,
        });
        expect(verifier.keyId).toBe(pair.keyId);
        expect(await verifier.verify(data, signature)).toBe(true);
        expect(await verifier.verify(new TextEncoder().encode('other'), signature)).toBe(false);
        const flipped = signature.slice();
        flipped[flipped.length - 1]! ^= 1;
        expect(await verifier.verify(data, flipped)).toBe(false);
        expect(await verifier.verify(data, new Uint8Array([1, 2, 3]))).toBe(false);
        expect(await verifier.verify(data, new Uint8Array())).toBe(false);
      }
      // Raw node:crypto agrees (DER for ECDSA, pure Ed25519).
      const ok =
        algorithm === 'ed25519'
          ? nodeVerify(null, data, pair.publicKeyPem, signature)
          : nodeVerify('sha256', data, { key: pair.publicKeyPem, dsaEncoding: 'der' }, signature);
      expect(ok).toBe(true);
    },
  );

  it('accepts JWK, KeyObject, DER and CryptoKey inputs', async () => {
    const pair =
      algorithm === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = pair.privateKey.export({ format: 'jwk' }) as JsonWebKey;
    const publicJwk = pair.publicKey.export({ format: 'jwk' }) as JsonWebKey;
    const pkcs8 = new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' }));
    const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
    const expectedId = createHash('sha256').update(spki).digest('hex');
    for (const runtime of runtimes) {
      for (const privateKey of [
        jwk,
        pkcs8,
        ...(runtime === 'node:crypto' ? [pair.privateKey] : []),
      ]) {
        const signer = await createKeySigner({ privateKey, runtime });
        expect(signer.keyId).toBe(expectedId);
        const signature = await signer.sign(data);
        for (const publicKey of [
          publicJwk,
          spki,
          jwk,
          ...(runtime === 'node:crypto' ? [pair.publicKey, pair.privateKey] : []),
        ]) {
          const verifier = await createKeySignatureVerifier({ publicKey, runtime });
          expect(await verifier.verify(data, signature)).toBe(true);
        }
      }
    }
    const webAlg =
      algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
    const cryptoPrivate = await webcrypto.subtle.importKey('jwk', jwk, webAlg, true, ['sign']);
    const cryptoPublic = await webcrypto.subtle.importKey('jwk', publicJwk, webAlg, true, [
      'verify',
    ]);
    const signer = await createKeySigner({ privateKey: cryptoPrivate as CryptoKey });
    const verifier = await createKeySignatureVerifier({ publicKey: cryptoPublic as CryptoKey });
    expect(signer.keyId).toBe(expectedId);
    expect(await verifier.verify(data, await signer.sign(data))).toBe(true);
    expect(await computeKeyId(publicJwk)).toBe(expectedId);
    await expectCode(createKeySigner({ privateKey: cryptoPublic as CryptoKey }), 'PLB_KEY_INVALID');
    await expectCode(
      createKeySignatureVerifier({ publicKey: cryptoPrivate as CryptoKey }),
      'PLB_KEY_INVALID',
    );
  });
});

describe('key input errors', () => {
  it('reads SEC1 and encrypted PEM keys with node:crypto', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect((await createKeySigner({ privateKey: sec1 })).algorithm).toBe('ecdsa-p256-sha256');
    const encrypted = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    }) as string;
    const signer = await createKeySigner({
      privateKey: encrypted,
      passphrase: 'pw',
      keyId: 'custom',
    });
    expect(signer.keyId).toBe('custom');
    await expectCode(
      createKeySigner({ privateKey: encrypted, passphrase: 'wrong' }),
      'PLB_KEY_INVALID',
    );
    await expectCode(
      createKeySigner({ privateKey: sec1, runtime: 'webcrypto' }),
      'PLB_KEY_UNSUPPORTED',
    );
    await expectCode(
      createKeySigner({ privateKey: encrypted, passphrase: 'pw', runtime: 'webcrypto' }),
      'PLB_KEY_UNSUPPORTED',
    );
    // PEM as bytes works too.
    expect(
      (await createKeySigner({ privateKey: new TextEncoder().encode(`\n${sec1}`) })).algorithm,
    ).toBe('ecdsa-p256-sha256');
  });

  it.each(runtimes)('refuses other algorithms and garbage (%s)', async (runtime) => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    for (const key of [rsa, p384]) {
      await expectCode(
        createKeySigner({
          privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
          runtime,
        }),
        'PLB_KEY_UNSUPPORTED',
      );
      await expectCode(
        createKeySignatureVerifier({
          publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
          runtime,
        }),
        'PLB_KEY_UNSUPPORTED',
      );
    }
    await expectCode(
      createKeySigner({ privateKey: { kty: 'RSA', d: 'x' }, runtime }),
      runtime === 'webcrypto' ? 'PLB_KEY_UNSUPPORTED' : 'PLB_KEY_INVALID',
    );
    await expectCode(createKeySigner({ privateKey: 'not a key', runtime }), 'PLB_KEY_INVALID');
    await expectCode(
      createKeySigner({ privateKey: new Uint8Array([1, 2, 3]), runtime }),
      runtime === 'webcrypto' ? 'PLB_KEY_UNSUPPORTED' : 'PLB_KEY_INVALID',
    );
    await expectCode(
      createKeySignatureVerifier({ publicKey: 'not a key', runtime }),
      'PLB_KEY_INVALID',
    );
    const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as JsonWebKey;
    await expectCode(createKeySigner({ privateKey: pub, runtime }), 'PLB_KEY_INVALID');
    const pubPem = generateKeyPairSync('ed25519').publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    await expectCode(
      createKeySigner({ privateKey: pubPem, runtime }),
      runtime === 'webcrypto' ? 'PLB_KEY_UNSUPPORTED' : 'PLB_KEY_INVALID',
    );
  });

  it('refuses a public KeyObject as private key and a secret KeyObject as public key', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    await expectCode(createKeySigner({ privateKey: publicKey }), 'PLB_KEY_INVALID');
    const { createSecretKey } = await import('node:crypto');
    await expectCode(
      createKeySignatureVerifier({ publicKey: createSecretKey(new Uint8Array(32)) }),
      'PLB_KEY_INVALID',
    );
  });

  it('refuses to generate other algorithms', async () => {
    await expectCode(
      generateSigningKeyPair({ algorithm: 'rsa' as SignatureAlgorithm }),
      'PLB_KEY_UNSUPPORTED',
    );
  });
});
