import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createKeySignatureVerifier,
  createKeySigner,
  encodeDsseEnvelope,
  generateSigningKeyPair,
  IN_TOTO_PAYLOAD_TYPE,
  parseDsseEnvelope,
  preAuthEncoding,
  signDsseEnvelope,
  toDsseEnvelope,
  verifyDsseEnvelope,
  type DsseEnvelope,
} from '../../src/signer/index.js';
import { PlumblineError } from '../../src/errors.js';

const enc = new TextEncoder();
const payload = enc.encode('{"_type":"https://in-toto.io/Statement/v1"}');

async function p256() {
  const pair = await generateSigningKeyPair({ algorithm: 'ecdsa-p256-sha256' });
  const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
  const verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
  return { pair, signer, verifier };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return PlumblineError.is(error) ? error.code : 'not-coded';
  }
  return undefined;
}

describe('DSSE', () => {
  it('computes the PAE of the specification example', () => {
    const pae = preAuthEncoding('http://example.com/HelloWorld', enc.encode('hello world'));
    expect(new TextDecoder().decode(pae)).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters, in the PAE', () => {
    const pae = preAuthEncoding('tÿpe', enc.encode('é'));
    expect(new TextDecoder().decode(pae)).toBe('DSSEv1 5 tÿpe 2 é');
  });

  it('signs and verifies with ECDSA P-256, naming the key id', async () => {
    const { signer, verifier } = await p256();
    const envelope = await signDsseEnvelope({ payload, signers: signer });
    expect(envelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(envelope.signatures).toHaveLength(1);
    expect(envelope.signatures[0]!.keyid).toBe(signer.keyId);
    const result = await verifyDsseEnvelope(envelope, { verifiers: [verifier] });
    expect(result).toMatchObject({ valid: true, keyIds: [signer.keyId] });
    if (result.valid) expect(result.payload).toEqual(payload);
    // The signature covers the PAE, not the bare payload.
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    expect(await verifier.verify(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), sig)).toBe(true);
    expect(await verifier.verify(payload, sig)).toBe(false);
  });

  it('round-trips through JSON bytes', async () => {
    const { signer, verifier } = await p256();
    const envelope = await signDsseEnvelope({ payload, signers: [signer] });
    const parsed = parseDsseEnvelope(encodeDsseEnvelope(envelope));
    expect(parsed).toEqual(envelope);
    expect((await verifyDsseEnvelope(parsed, { verifiers: [verifier] })).valid).toBe(true);
  });

  it('fails with its own code for a tampered payload, payload type, signature or unknown key', async () => {
    const { signer, verifier } = await p256();
    const other = await p256();
    const envelope = await signDsseEnvelope({ payload, signers: signer });
    const tamperedPayload: DsseEnvelope = {
      ...envelope,
      payload: Buffer.from(enc.encode('{"x":1}')).toString('base64'),
    };
    expect(await verifyDsseEnvelope(tamperedPayload, { verifiers: [verifier] })).toMatchObject({
      valid: false,
      code: 'PLB_SIGNATURE_INVALID',
    });
    const tamperedType = { ...envelope, payloadType: 'application/json' };
    expect(await verifyDsseEnvelope(tamperedType, { verifiers: [verifier] })).toMatchObject({
      valid: false,
      code: 'PLB_DSSE_PAYLOAD_TYPE',
    });
    expect(
      await verifyDsseEnvelope(tamperedType, {
        verifiers: [verifier],
        payloadType: 'application/json',
      }),
    ).toMatchObject({
      valid: false,
      code: 'PLB_SIGNATURE_INVALID',
    });
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    sig[10]! ^= 0xff;
    const tamperedSig = {
      ...envelope,
      signatures: [{ keyid: signer.keyId, sig: sig.toString('base64') }],
    };
    expect(await verifyDsseEnvelope(tamperedSig, { verifiers: [verifier] })).toMatchObject({
      code: 'PLB_SIGNATURE_INVALID',
    });
    expect(await verifyDsseEnvelope(envelope, { verifiers: [other.verifier] })).toMatchObject({
      valid: false,
      code: 'PLB_SIGNATURE_UNKNOWN_KEY',
    });
    // Without a key id the signature is tried against every key, and fails as invalid.
    const anonymous = { ...envelope, signatures: [{ sig: envelope.signatures[0]!.sig }] };
    expect(await verifyDsseEnvelope(anonymous, { verifiers: [other.verifier] })).toMatchObject({
      code: 'PLB_SIGNATURE_INVALID',
    });
    expect(
      (await verifyDsseEnvelope(anonymous, { verifiers: [other.verifier, verifier] })).valid,
    ).toBe(true);
    const badBase64 = { ...envelope, payload: '!!!' };
    expect(await verifyDsseEnvelope(badBase64, { verifiers: [verifier] })).toMatchObject({
      code: 'PLB_DSSE_MALFORMED',
    });
    const badSigBase64 = { ...envelope, signatures: [{ sig: '!!!' }] };
    expect(await verifyDsseEnvelope(badSigBase64, { verifiers: [verifier] })).toMatchObject({
      valid: false,
    });
  });

  it('finds the right key by key id among several, and tolerates a wrong key id hint', async () => {
    const a = await p256();
    const b = await p256();
    const envelope = await signDsseEnvelope({ payload, signers: b.signer });
    expect(
      (await verifyDsseEnvelope(envelope, { verifiers: [a.verifier, b.verifier] })).valid,
    ).toBe(true);
    const keyless = await createKeySigner({ privateKey: b.pair.privateKeyPem, keyId: '' });
    const envelope2 = await signDsseEnvelope({ payload, signers: keyless });
    expect(envelope2.signatures[0]!.keyid).toBeUndefined();
    const unnamedVerifier = { algorithm: b.verifier.algorithm, verify: b.verifier.verify };
    expect((await verifyDsseEnvelope(envelope, { verifiers: [unnamedVerifier] })).valid).toBe(true);
  });

  it('enforces a threshold of distinct keys', async () => {
    const a = await p256();
    const b = await p256();
    const both = await signDsseEnvelope({ payload, signers: [a.signer, b.signer] });
    expect(both.signatures).toHaveLength(2);
    expect(
      (await verifyDsseEnvelope(both, { verifiers: [a.verifier, b.verifier], threshold: 2 })).valid,
    ).toBe(true);
    const once = await signDsseEnvelope({ payload, signers: [a.signer, a.signer] });
    const result = await verifyDsseEnvelope(once, {
      verifiers: [a.verifier, b.verifier],
      threshold: 2,
    });
    expect(result).toMatchObject({ valid: false, code: 'PLB_SIGNATURE_INVALID' });
    if (!result.valid) expect(result.reason).toMatch(/only 1 of the required 2/);
  });

  it('signs with Ed25519 too', async () => {
    const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
    const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
    const envelope = await signDsseEnvelope({
      payload,
      payloadType: 'text/plain',
      signers: signer,
    });
    const verifier = await createKeySignatureVerifier({ publicKey: pair.publicKeyPem });
    expect(
      (await verifyDsseEnvelope(envelope, { verifiers: [verifier], payloadType: 'text/plain' }))
        .valid,
    ).toBe(true);
  });

  it('refuses to sign without signers and honours an aborted signal', async () => {
    await expect(signDsseEnvelope({ payload, signers: [] })).rejects.toMatchObject({
      code: 'PLB_DSSE_NO_SIGNER',
    });
    const { signer, verifier } = await p256();
    const signal = AbortSignal.abort();
    await expect(signDsseEnvelope({ payload, signers: signer, signal })).rejects.toMatchObject({
      code: 'PLB_ABORTED',
    });
    const envelope = await signDsseEnvelope({ payload, signers: signer });
    await expect(
      verifyDsseEnvelope(envelope, { verifiers: [verifier], signal }),
    ).rejects.toMatchObject({ code: 'PLB_ABORTED' });
  });

  it.each([
    ['not an object', '[]', 'PLB_DSSE_MALFORMED'],
    ['not JSON', '{', 'PLB_DSSE_MALFORMED'],
    ['no payload', '{"payloadType":"t","signatures":[{"sig":"AA=="}]}', 'PLB_DSSE_MALFORMED'],
    ['no payload type', '{"payload":"","signatures":[{"sig":"AA=="}]}', 'PLB_DSSE_MALFORMED'],
    ['no signatures', '{"payload":"","payloadType":"t","signatures":[]}', 'PLB_DSSE_MALFORMED'],
    [
      'signature not an object',
      '{"payload":"","payloadType":"t","signatures":[1]}',
      'PLB_DSSE_MALFORMED',
    ],
    [
      'empty sig',
      '{"payload":"","payloadType":"t","signatures":[{"sig":""}]}',
      'PLB_DSSE_MALFORMED',
    ],
    [
      'numeric keyid',
      '{"payload":"","payloadType":"t","signatures":[{"sig":"AA==","keyid":1}]}',
      'PLB_DSSE_MALFORMED',
    ],
  ])('refuses an envelope with %s', (_name, text, code) => {
    expect(codeOf(() => parseDsseEnvelope(enc.encode(text)))).toBe(code);
  });

  it('checks size limits before decoding', () => {
    const sigs = Array.from({ length: 3 }, () => ({ sig: 'AA==' }));
    expect(
      codeOf(() =>
        toDsseEnvelope({ payload: '', payloadType: 't', signatures: sigs }, { maxSignatures: 2 }),
      ),
    ).toBe('PLB_DSSE_TOO_LARGE');
    expect(
      codeOf(() =>
        toDsseEnvelope(
          { payload: 'A'.repeat(400), payloadType: 't', signatures: sigs },
          { maxPayloadBytes: 100 },
        ),
      ),
    ).toBe('PLB_DSSE_TOO_LARGE');
    expect(codeOf(() => parseDsseEnvelope(new Uint8Array(200), { maxEnvelopeBytes: 100 }))).toBe(
      'PLB_DSSE_TOO_LARGE',
    );
  });

  it('never throws anything but coded errors on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        const code = codeOf(() => parseDsseEnvelope(enc.encode(text)));
        expect(code === undefined || code.startsWith('PLB_')).toBe(true);
      }),
    );
  });
});
