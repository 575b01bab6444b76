import { IN_TOTO_STATEMENT_TYPE, ARTIFACT_HASH_DIGEST_KEY } from '../attest/statement.js';
import { decodeBase64, encodeBase64 } from '../encoding/base64.js';
import type { DigestString } from '../hash/digest.js';
import { SIGSTORE_BUNDLE_ATTACHMENT } from '../signer/attachments.js';
import type { SignatureSubject, SignatureVerdict, Verifier } from '../signer/types.js';
import {
  check,
  answerOf,
  clauseRunner,
  suiteContext,
  type ConformanceOptions,
  type ConformanceTestApi,
} from './api.js';
import { ARTIFACT_VERIFIER_CLAUSES as C } from './signer-clauses.js';

export { ARTIFACT_VERIFIER_CLAUSES } from './signer-clauses.js';

/**
 * An artifact verifier under test, built by the factory passed to
 * {@link describeArtifactVerifierConformance}.
 *
 * @public
 */
export interface ArtifactVerifierHarness {
  /** The verifier. */
  readonly verifier: Verifier;
  /**
   * Signs an in-toto statement (its exact JSON bytes) as a signer the verifier trusts, and returns
   * the signature document: a Sigstore bundle or a DSSE envelope, as JSON bytes.
   */
  sign(statement: Uint8Array): Promise<Uint8Array>;
  /** The same, as a signer the verifier does not trust (another key or identity). */
  signUntrusted(statement: Uint8Array): Promise<Uint8Array>;
  /** The attachment key the verifier reads the document from. Default: the Sigstore bundle's. */
  readonly attachmentKey?: string;
  /** The largest document the verifier reads; the suite checks a larger one is refused. */
  readonly maxBytes?: number;
}

const encoder = new TextEncoder();

function hex(seed: number): string {
  return Array.from({ length: 32 }, (_, i) =>
    ((seed * 31 + i * 7) & 0xff).toString(16).padStart(2, '0'),
  ).join('');
}

function subjectFor(seed: number): Omit<SignatureSubject, 'attachments'> {
  return {
    artifactDigest: `sha256:${hex(seed)}` as DigestString,
    artifactHash: `sha256:${hex(seed + 1)}` as DigestString,
    headerDigest: `sha256:${hex(seed + 2)}` as DigestString,
  };
}

function statementFor(subject: Omit<SignatureSubject, 'attachments'>): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [
        {
          name: 'gateway.plb',
          digest: {
            sha256: subject.artifactDigest.slice('sha256:'.length),
            [ARTIFACT_HASH_DIGEST_KEY]: subject.artifactHash.slice('sha256:'.length),
          },
        },
      ],
      predicateType: 'https://plumbline.dev/conformance/v1',
      predicate: { note: 'conformance' },
    }),
  );
}

type Envelope = { payload: string; payloadType: string; signatures: { sig: string }[] };

/** Rewrites the DSSE envelope inside a signature document (a bundle or a bare envelope). */
function rewrite(document: Uint8Array, change: (envelope: Envelope) => void): Uint8Array {
  const parsed = JSON.parse(new TextDecoder().decode(document)) as Record<string, unknown>;
  const envelope = (parsed.dsseEnvelope ?? parsed) as Envelope;
  change(envelope);
  return encoder.encode(JSON.stringify(parsed));
}

function flipSignature(envelope: Envelope): void {
  for (const signature of envelope.signatures) {
    const bytes = decodeBase64(signature.sig);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    signature.sig = encodeBase64(bytes);
  }
}

function checkRefused(verdict: SignatureVerdict, what: string): void {
  check(verdict.valid === false, `${what} is accepted`);
  check(
    typeof verdict.code === 'string' && /^PLB_[A-Z0-9_]+$/.test(verdict.code),
    `${what} is refused without a PLB_ code (${String(verdict.code)})`,
  );
  check(typeof verdict.reason === 'string' && verdict.reason.length > 0, `${what}: no reason`);
}

/**
 * Registers the artifact verifier conformance suite: a trusted signature over this artifact's
 * statement accepted (attached or detached); a statement about another artifact, a tampered
 * payload, signature or payload type, and an untrusted signer refused with a `PLB_` code; no
 * signature reported as absent; hostile and oversized documents answered with a coded verdict,
 * never a rejection.
 *
 * @example
 * ```ts
 * import { describeArtifactVerifierConformance } from '@plumbline/core/testing';
 * await describeArtifactVerifierConformance('my verifier', async () => ({
 *   verifier, sign: (statement) => signBundle(statement, trustedKey), signUntrusted: (s) => signBundle(s, otherKey),
 * }));
 * ```
 * @public
 */
export async function describeArtifactVerifierConformance(
  name: string,
  factory: () => Promise<ArtifactVerifierHarness>,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);
  api.describe(`artifact verifier conformance: ${name}`, () => {
    acceptanceTests(api, factory, timeout);
    hostileTests(api, factory, timeout);
  });
}

type Factory = () => Promise<ArtifactVerifierHarness>;

function setup(harness: ArtifactVerifierHarness, seed: number) {
  const base = subjectFor(seed);
  const key = harness.attachmentKey ?? SIGSTORE_BUNDLE_ATTACHMENT;
  const verify = (document: Uint8Array | undefined, detached = false) =>
    harness.verifier.verify({
      ...base,
      attachments: document === undefined || detached ? {} : { [key]: document },
      ...(detached && document !== undefined ? { detached: document } : {}),
    });
  return { base, verify };
}

function acceptanceTests(api: ConformanceTestApi, factory: Factory, timeout: number): void {
  const clause = clauseRunner(api, factory, timeout);
  clause(
    C.accepts,
    "accepts a trusted signature over the artifact's statement, attached or detached",
    async (harness) => {
      const { base, verify } = setup(harness, 1);
      const document = await harness.sign(statementFor(base));
      for (const detached of [false, true]) {
        const verdict = await verify(document, detached);
        check(
          verdict.present && verdict.valid,
          `a valid ${detached ? 'detached' : 'attached'} signature gives ${verdict.code ?? 'invalid'}: ${verdict.reason ?? ''}`,
        );
      }
    },
  );

  clause(
    C.subject,
    'refuses a valid signature over a statement about another artifact',
    async (harness) => {
      const { verify } = setup(harness, 2);
      const document = await harness.sign(statementFor(subjectFor(99)));
      checkRefused(await verify(document), 'a statement about another artifact');
    },
  );

  clause(C.tampered, 'refuses a tampered payload, signature or payload type', async (harness) => {
    const { base, verify } = setup(harness, 3);
    const document = await harness.sign(statementFor(base));
    const other = encodeBase64(statementFor(subjectFor(3)).map((b, i) => (i === 40 ? b ^ 1 : b)));
    const cases: [string, Uint8Array][] = [
      ['a changed payload', rewrite(document, (e) => void (e.payload = other))],
      ['a changed signature', rewrite(document, flipSignature)],
      ['another payload type', rewrite(document, (e) => void (e.payloadType = 'text/plain'))],
      ['no signature', rewrite(document, (e) => void (e.signatures = []))],
    ];
    for (const [what, changed] of cases) checkRefused(await verify(changed), what);
  });

  clause(C.untrusted, 'refuses a signature by an untrusted signer', async (harness) => {
    const { base, verify } = setup(harness, 4);
    const document = await harness.signUntrusted(statementFor(base));
    checkRefused(await verify(document), 'a signature by an untrusted signer');
  });

  clause(
    C.missing,
    'reports an artifact without a signature as not signed, PLB_SIGNATURE_MISSING',
    async (harness) => {
      const { verify } = setup(harness, 5);
      const verdict = await verify(undefined);
      check(!verdict.present && !verdict.valid, 'an unsigned artifact is reported as signed');
      check(verdict.code === 'PLB_SIGNATURE_MISSING', `code ${String(verdict.code)}`);
    },
  );
}

function hostileTests(api: ConformanceTestApi, factory: Factory, timeout: number): void {
  const clause = clauseRunner(api, factory, timeout);
  clause(
    C.hostile,
    'answers hostile and oversized documents with a coded verdict, never a rejection',
    async (harness) => {
      const { base, verify } = setup(harness, 6);
      const valid = await harness.sign(statementFor(base));
      const cases: [string, Uint8Array][] = [
        ['empty bytes', new Uint8Array(0)],
        ['random bytes', Uint8Array.from({ length: 512 }, (_, i) => (i * 193 + 7) & 0xff)],
        ['JSON null', encoder.encode('null')],
        ['an empty object', encoder.encode('{}')],
        ['a truncated document', valid.slice(0, valid.length >> 1)],
        ['deeply nested arrays', encoder.encode('['.repeat(100_000))],
        ['a payload that is not base64', rewrite(valid, (e) => void (e.payload = '%%%'))],
        [
          'a payload that is not a statement',
          rewrite(valid, (e) => void (e.payload = encodeBase64(encoder.encode('[1,2]')))),
        ],
        [
          'signatures that are not a list',
          rewrite(valid, (e) => void ((e as { signatures: unknown }).signatures = 'x')),
        ],
      ];
      if (harness.maxBytes !== undefined) {
        cases.push([
          'a document over the size limit',
          new Uint8Array(harness.maxBytes + 1).fill(0x20),
        ]);
      }
      for (const [what, document] of cases) {
        checkRefused(await answerOf(() => verify(document), `verify rejected ${what}`), what);
      }
    },
  );
}
