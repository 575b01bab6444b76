/**
 * Broken signers and signature verifiers: the core key signer and verifier (Ed25519), with one
 * flaw each. The signer and verifier conformance suites must fail every one (mutation.test.ts).
 */
import {
  createKeySignatureVerifier,
  createKeySigner,
  generateSigningKeyPair,
  type SignatureVerifier,
  type Signer,
} from '@plumbline/core/signer';
import type { SignerHarness, VerifierHarness } from '@plumbline/core/testing';

/** Each signer flaw and the contract clause the suite must name when it catches it. */
export const SIGNER_FLAWS = {
  'signs different bytes': 'signer.round-trip',
  'signs only the first 64 bytes': 'signer.exact-bytes',
  'signs only the DSSE body, not its header': 'signer.payload-type',
  "signs the latest call's bytes": 'signer.concurrent',
  'zeroes the bytes after signing': 'signer.concurrent',
  'a new key id on every read': 'signer.key-id',
  "names another key's id": 'signer.key-id',
} as const;

/** Each verifier flaw and the contract clause the suite must name when it catches it. */
export const VERIFIER_FLAWS = {
  'refuses empty data': 'verifier.accepts',
  'accepts a signature over a prefix of the bytes': 'verifier.exact-bytes',
  'accepts any signature of the right length': 'verifier.tampered-signature',
  'accepts an empty signature': 'verifier.tampered-signature',
  'ignores bytes after the signature': 'verifier.tampered-signature',
  'accepts a signature by another key': 'verifier.wrong-key',
  'reuses a verdict for the same signature': 'verifier.payload-type',
  'throws on a malformed signature': 'verifier.never-throws',
  'resolves undefined instead of false': 'verifier.never-throws',
  'a new key id on every read': 'verifier.key-id',
} as const;

export type SignerFlaw = keyof typeof SIGNER_FLAWS;
export type VerifierFlaw = keyof typeof VERIFIER_FLAWS;

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** Strips a DSSE pre-authentication encoding down to its body (a broken reading of PAE). */
function body(data: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(data.slice(0, 200));
  const match = /^DSSEv1 \d+ \S+ \d+ /.exec(text);
  return match ? data.slice(new TextEncoder().encode(match[0]).length) : data;
}

const pairs = (async () => {
  const [own, other] = await Promise.all([
    generateSigningKeyPair({ algorithm: 'ed25519' }),
    generateSigningKeyPair({ algorithm: 'ed25519' }),
  ]);
  return { own, other };
})();

/** A signer harness with `flaw` built in (a correct one for `undefined`). */
export function flawedSigner(flaw: SignerFlaw | undefined): () => Promise<SignerHarness> {
  return async () => {
    const { own, other } = await pairs;
    const real = await createKeySigner({ privateKey: own.privateKeyPem });
    let verifier: SignatureVerifier = await createKeySignatureVerifier({
      publicKey: own.publicKeyPem,
    });
    let latest: Uint8Array | undefined;
    let reads = 0;
    const signer: Signer = {
      algorithm: real.algorithm,
      get keyId() {
        if (flaw === 'a new key id on every read') return `${real.keyId}-${++reads}`;
        if (flaw === "names another key's id") return other.keyId;
        return real.keyId;
      },
      async sign(data) {
        switch (flaw) {
          case 'signs different bytes':
            return real.sign(Uint8Array.of(...data, 0x0a));
          case 'signs only the first 64 bytes':
            return real.sign(data.slice(0, 64));
          case 'signs only the DSSE body, not its header':
            return real.sign(body(data));
          case "signs the latest call's bytes":
            latest = data;
            await tick();
            return real.sign(latest);
          case 'zeroes the bytes after signing': {
            const signature = await real.sign(data);
            data.fill(0);
            return signature;
          }
          default:
            return real.sign(data);
        }
      },
    };
    if (
      flaw === 'signs only the first 64 bytes' ||
      flaw === 'signs only the DSSE body, not its header'
    ) {
      // The integrator's own verifier shares the flaw, so the round trip still passes.
      const cut =
        flaw === 'signs only the first 64 bytes' ? (d: Uint8Array) => d.slice(0, 64) : body;
      const inner = verifier;
      verifier = { ...inner, verify: (d, s) => inner.verify(cut(d), s) };
    }
    return { signer, verifier };
  };
}

/** A verifier harness with `flaw` built in (a correct one for `undefined`). */
export function flawedVerifier(flaw: VerifierFlaw | undefined): () => Promise<VerifierHarness> {
  return async () => {
    const { own, other } = await pairs;
    const signer = await createKeySigner({ privateKey: own.privateKeyPem });
    const otherSigner = await createKeySigner({ privateKey: other.privateKeyPem });
    const real = signer.verifier();
    const otherReal = otherSigner.verifier();
    const verdicts = new Map<string, boolean>();
    let reads = 0;
    const verifier: SignatureVerifier = {
      algorithm: real.algorithm,
      get keyId() {
        return flaw === 'a new key id on every read' ? `${own.keyId}-${++reads}` : own.keyId;
      },
      async verify(data, signature) {
        switch (flaw) {
          case 'refuses empty data':
            return data.length > 0 && real.verify(data, signature);
          case 'accepts a signature over a prefix of the bytes':
            return data.length <= 64
              ? real.verify(data, signature)
              : (await real.verify(data, signature)) ||
                  (await real.verify(data.slice(0, 64), signature));
          case 'accepts any signature of the right length':
            return signature.length === 64;
          case 'accepts an empty signature':
            return signature.length === 0 || real.verify(data, signature);
          case 'ignores bytes after the signature':
            return real.verify(data, signature.slice(0, 64));
          case 'accepts a signature by another key':
            return (await real.verify(data, signature)) || otherReal.verify(data, signature);
          case 'reuses a verdict for the same signature': {
            const key = Buffer.from(signature).toString('hex');
            const known = verdicts.get(key);
            if (known !== undefined) return known;
            const verdict = await real.verify(data, signature);
            verdicts.set(key, verdict);
            return verdict;
          }
          case 'throws on a malformed signature':
            if (signature.length !== 64) throw new Error('bad signature length');
            return real.verify(data, signature);
          case 'resolves undefined instead of false':
            return (await real.verify(data, signature)) || (undefined as unknown as boolean);
          default:
            return real.verify(data, signature);
        }
      },
    };
    return {
      verifier,
      sign: (data) => signer.sign(data),
      signOther: (data) => otherSigner.sign(data),
      keyId: own.keyId,
    };
  };
}
