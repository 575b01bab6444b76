import { signDsseEnvelope, verifyDsseEnvelope, type DsseEnvelope } from '../signer/dsse.js';
import type { SignatureVerifier, Signer } from '../signer/types.js';
import {
  check,
  answerOf,
  clauseRunner,
  suiteContext,
  type ConformanceOptions,
  type ConformanceTestApi,
} from './api.js';
import { SIGNER_CLAUSES as S, VERIFIER_CLAUSES as V } from './signer-clauses.js';

export { SIGNER_CLAUSES, VERIFIER_CLAUSES } from './signer-clauses.js';

/**
 * A signer under test, built by the factory passed to {@link describeSignerConformance}.
 *
 * @public
 */
export interface SignerHarness {
  /** The signer (over a KMS, an HSM, a local key...). */
  readonly signer: Signer;
  /** A verifier of the signer's public key, independent of the signer where possible. */
  readonly verifier: SignatureVerifier;
}

/**
 * A signature verifier under test, built by the factory passed to
 * {@link describeVerifierConformance}.
 *
 * @public
 */
export interface VerifierHarness {
  /** The verifier. */
  readonly verifier: SignatureVerifier;
  /** Signs bytes with the key the verifier checks with. */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Signs bytes with another key of the same algorithm. */
  signOther(data: Uint8Array): Promise<Uint8Array>;
  /** The key id the verifier must report, when known. */
  readonly keyId?: string;
}

const encoder = new TextEncoder();

/** Deterministic pseudo-random bytes (the suite's results do not depend on the run). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function payloads(): { name: string; data: Uint8Array }[] {
  return [
    { name: 'empty bytes', data: new Uint8Array(0) },
    { name: 'one zero byte', data: new Uint8Array(1) },
    { name: 'non-ASCII text', data: encoder.encode('{"node":"gw-ß-😀","ok":true}') },
    { name: '64 KiB of binary', data: bytes(64 * 1024, 7) },
  ];
}

/** Variants of `data` that differ from it by one byte changed, added or removed. */
function alterations(data: Uint8Array): { name: string; data: Uint8Array }[] {
  const flip = (at: number): Uint8Array => {
    const copy = data.slice();
    copy[at] = copy[at]! ^ 0x01;
    return copy;
  };
  return [
    { name: 'first byte changed', data: flip(0) },
    { name: 'middle byte changed', data: flip(data.length >> 1) },
    { name: 'last byte changed', data: flip(data.length - 1) },
    { name: 'a byte appended', data: Uint8Array.of(...data, 0) },
    { name: 'last byte removed', data: data.slice(0, -1) },
  ];
}

const TYPE_A = 'application/vnd.plumbline.conformance-a+json';
const TYPE_B = 'application/vnd.plumbline.conformance-b+json';

async function retyped(
  signer: Signer,
  verifier: SignatureVerifier,
): Promise<{ original: boolean; altered: boolean }> {
  const payload = encoder.encode('{"subject":"gateway.plb"}');
  const envelope = await signDsseEnvelope({ payload, payloadType: TYPE_A, signers: signer });
  const original = await verifyDsseEnvelope(envelope, {
    verifiers: [verifier],
    payloadType: TYPE_A,
  });
  const swapped: DsseEnvelope = { ...envelope, payloadType: TYPE_B };
  const altered = await verifyDsseEnvelope(swapped, { verifiers: [verifier], payloadType: TYPE_B });
  return { original: original.valid, altered: altered.valid };
}

/**
 * Registers the signer conformance suite: signatures that verify with the matching key for any
 * bytes (directly and in DSSE envelopes), bound to exactly those bytes and, in DSSE, to the
 * payload type; concurrent calls that each sign their own bytes without changing them; and a
 * stable key id.
 *
 * @example
 * ```ts
 * import { describeSignerConformance } from '@plumbline/core/testing';
 * await describeSignerConformance('KMS signer', async () => ({
 *   signer: createKmsSigner(keyArn), verifier: await createKeySignatureVerifier({ publicKey: kmsPublicKeyPem }),
 * }));
 * ```
 * @public
 */
export async function describeSignerConformance(
  name: string,
  factory: () => Promise<SignerHarness>,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);
  api.describe(`signer conformance: ${name}`, () => {
    signerTests(api, factory, timeout);
  });
}

function signerTests(
  api: ConformanceTestApi,
  factory: () => Promise<SignerHarness>,
  timeout: number,
): void {
  const clause = clauseRunner(api, factory, timeout);
  clause(
    S.roundTrip,
    'signs any bytes so that the matching key verifies them, directly and in DSSE',
    async ({ signer, verifier }) => {
      for (const { name, data } of payloads()) {
        const signature = await signer.sign(data);
        check(await verifier.verify(data, signature), `the signature over ${name} does not verify`);
      }
      const payload = encoder.encode('{"_type":"https://in-toto.io/Statement/v1"}');
      const envelope = await signDsseEnvelope({ payload, signers: signer });
      const result = await verifyDsseEnvelope(envelope, { verifiers: [verifier] });
      check(result.valid, `the DSSE envelope does not verify (${result.valid || result.code})`);
    },
  );

  clause(S.exactBytes, 'signs exactly the bytes given', async ({ signer, verifier }) => {
    const data = bytes(300, 11);
    const signature = await signer.sign(data);
    check(await verifier.verify(data, signature), 'the signature does not verify');
    for (const variant of alterations(data)) {
      check(
        !(await verifier.verify(variant.data, signature)),
        `the signature also verifies the bytes with the ${variant.name}`,
      );
    }
  });

  clause(
    S.payloadType,
    'binds a DSSE signature to the payload type',
    async ({ signer, verifier }) => {
      const { original, altered } = await retyped(signer, verifier);
      check(original, 'the DSSE envelope does not verify');
      check(!altered, 'the signature also verifies the same payload under another payload type');
    },
  );

  clause(
    S.concurrent,
    'signs concurrent calls each over their own bytes, leaving them unchanged',
    async ({ signer, verifier }) => {
      const inputs = Array.from({ length: 12 }, (_, i) => bytes(40 + i, 100 + i));
      const copies = inputs.map((d) => d.slice());
      const signatures = await Promise.all(inputs.map((d) => signer.sign(d)));
      for (let i = 0; i < inputs.length; i++) {
        check(
          inputs[i]!.every((b, at) => b === copies[i]![at]) &&
            inputs[i]!.length === copies[i]!.length,
          'sign changed the bytes it was given',
        );
        check(
          await verifier.verify(copies[i]!, signatures[i]!),
          `the signature of concurrent call ${i} does not verify its bytes`,
        );
      }
    },
  );

  clause(
    S.keyId,
    'keeps a stable key id, the one its envelopes carry',
    async ({ signer, verifier }) => {
      const first = signer.keyId;
      check(signer.keyId === first, 'keyId changes from one read to the next');
      if (first && verifier.keyId)
        check(first === verifier.keyId, `keyId ${first} is not the key's (${verifier.keyId})`);
      const payload = encoder.encode('{}');
      const a = await signDsseEnvelope({ payload, signers: signer });
      const b = await signDsseEnvelope({ payload, signers: signer });
      check(
        a.signatures[0]?.keyid === b.signatures[0]?.keyid && signer.keyId === first,
        'two envelopes carry different key ids',
      );
      if (first) check(a.signatures[0]?.keyid === first, 'the envelope carries another key id');
    },
  );
}

/**
 * Registers the signature verifier conformance suite: valid signatures by its key accepted for
 * any bytes; changed bytes, changed signatures and signatures by other keys refused; in DSSE, a
 * signature bound to its payload type; hostile input answered with `false`, never a throw; and
 * a stable key id.
 *
 * @example
 * ```ts
 * import { describeVerifierConformance } from '@plumbline/core/testing';
 * await describeVerifierConformance('HSM verifier', async () => ({
 *   verifier: createHsmVerifier(slot), sign: (d) => hsm.sign(slot, d), signOther: (d) => other.sign(d),
 * }));
 * ```
 * @public
 */
export async function describeVerifierConformance(
  name: string,
  factory: () => Promise<VerifierHarness>,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);
  api.describe(`signature verifier conformance: ${name}`, () => {
    verifierTests(api, factory, timeout);
    hostileTests(api, factory, timeout);
  });
}

function verifierTests(
  api: ConformanceTestApi,
  factory: () => Promise<VerifierHarness>,
  timeout: number,
): void {
  const clause = clauseRunner(api, factory, timeout);
  clause(V.accepts, 'accepts valid signatures over any bytes', async ({ verifier, sign }) => {
    for (const { name, data } of payloads()) {
      const result = await verifier.verify(data, await sign(data));
      check(result === true, `a valid signature over ${name} gives ${String(result)}`);
    }
  });

  clause(
    V.exactBytes,
    'refuses a signature for bytes other than the signed ones',
    async ({ verifier, sign }) => {
      const data = bytes(300, 13);
      const signature = await sign(data);
      check((await verifier.verify(data, signature)) === true, 'a valid signature is refused');
      for (const variant of alterations(data)) {
        check(
          (await verifier.verify(variant.data, signature)) === false,
          `the signature is accepted for the bytes with the ${variant.name}`,
        );
      }
      const prefix = data.slice(0, 64);
      check(
        (await verifier.verify(data, await sign(prefix))) === false,
        'a signature over the first 64 bytes is accepted for all of them',
      );
    },
  );

  clause(
    V.tamperedSignature,
    'refuses changed, truncated, extended and empty signatures',
    async ({ verifier, sign }) => {
      const data = bytes(100, 17);
      const signature = await sign(data);
      check((await verifier.verify(data, signature)) === true, 'a valid signature is refused');
      const variants = [...alterations(signature), { name: 'nothing', data: new Uint8Array(0) }];
      for (const variant of variants) {
        check(
          (await verifier.verify(data, variant.data)) === false,
          `a signature with the ${variant.name} is accepted`,
        );
      }
    },
  );

  clause(V.wrongKey, 'refuses signatures by another key', async ({ verifier, signOther }) => {
    for (const { name, data } of payloads()) {
      const result = await verifier.verify(data, await signOther(data));
      check(result === false, `another key's signature over ${name} gives ${String(result)}`);
    }
  });

  clause(
    V.payloadType,
    'refuses a DSSE signature under another payload type',
    async ({ verifier, sign }) => {
      const signer: Signer = { algorithm: verifier.algorithm, sign };
      const { original, altered } = await retyped(signer, verifier);
      check(original, 'the DSSE envelope does not verify');
      check(!altered, 'the signature is accepted for the same payload under another payload type');
    },
  );

  clause(V.keyId, 'keeps a stable key id, the key it checks with', async ({ verifier, keyId }) => {
    const first = verifier.keyId;
    check(verifier.keyId === first, 'keyId changes from one read to the next');
    if (keyId !== undefined)
      check(first === keyId, `keyId is ${String(first)}, the key's is ${keyId}`);
  });
}

function hostileTests(
  api: ConformanceTestApi,
  factory: () => Promise<VerifierHarness>,
  timeout: number,
): void {
  const clause = clauseRunner(api, factory, timeout);
  clause(
    V.neverThrows,
    'answers hostile input with false, never a throw',
    async ({ verifier, sign }) => {
      const data = bytes(64, 19);
      const valid = await sign(data);
      const cases: [string, Uint8Array, Uint8Array][] = [
        ['empty data and signature', new Uint8Array(0), new Uint8Array(0)],
        ['random signature', data, bytes(valid.length, 23)],
        ['a signature of zeros', data, new Uint8Array(valid.length)],
        ['a 64 KiB signature', data, bytes(64 * 1024, 29)],
        ['a signature of 0x30 bytes', data, new Uint8Array(200).fill(0x30)],
        ['4 MiB of data', bytes(4 * 1024 * 1024, 31), valid],
      ];
      for (const [name, d, s] of cases) {
        const result = await answerOf(() => verifier.verify(d, s), `verify threw on ${name}`);
        check(result === false, `${name} gives ${String(result)}, not false`);
      }
    },
  );
}
