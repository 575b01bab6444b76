import { PlumblineError, type PlumblineErrorCode } from '../errors.js';
import { formatDigest, isDigestString, type DigestString } from '../hash/digest.js';
import { sha256 } from '../hash/select.js';
import type { ProvenanceHeader } from '../header/types.js';
import type { SignatureVerdict } from '../signer/types.js';
import { processInstanceId, rfc3339 } from './instance.js';
import { parseRfc3339, resolvePolicy, sourceAllowed, type ResolvedPolicy } from './policy.js';
import type { LoadedArtifactRegistry } from './registry.js';
import type {
  LoadCandidate,
  LoadedArtifact,
  LoadPolicy,
  LoadRule,
  RuleResult,
  SignatureSummary,
  VerificationOutcome,
  VerificationReason,
  VerificationStatus,
} from './types.js';

/**
 * An event {@link verifyOnLoad} hands to its audit hook: `artifact.loaded` after every load that
 * went ahead, `artifact.verification_failed` when a rule failed (under `warn` the artifact was
 * still loaded, under `enforce` it was refused).
 *
 * @public
 */
export interface LoadAuditEvent {
  /** `artifact.loaded` after a load that went ahead, `artifact.verification_failed` when a rule failed. */
  readonly type: 'artifact.loaded' | 'artifact.verification_failed';
  /** RFC 3339 UTC. */
  readonly at: string;
  /** The manifest root from the artifact's header; `null` for a legacy artifact or an unreadable header. */
  readonly artifact_hash: DigestString | null;
  /** The artifact digest (the file's SHA-256 for a legacy artifact), when known. */
  readonly artifact_digest?: DigestString;
  /** The process instance (a UUID per process start, unless overridden). */
  readonly instance_id: string;
  /** The worker the load was for, when one was named. */
  readonly worker_id?: string;
  /** The load policy's mode. */
  readonly mode: LoadPolicy['mode'];
  /** `loaded` or `rejected`. */
  readonly outcome: 'loaded' | 'rejected';
  /** The overall verification status; absent when the load was rejected. */
  readonly status?: VerificationStatus;
  /** The failed rules; empty for a load where every rule passed or was skipped. */
  readonly reasons: readonly VerificationReason[];
  /** The signature check, when a verifier ran. */
  readonly signature?: SignatureSummary;
}

/**
 * Options for {@link verifyOnLoad}.
 *
 * @public
 */
export interface VerifyOnLoadOptions {
  /** Where to record the result (or the load error). */
  readonly registry?: LoadedArtifactRegistry;
  /** The worker this load is for, when a gateway has several. */
  readonly workerId?: string;
  /** Overrides the instance id (default: the registry's, else {@link processInstanceId}). */
  readonly instanceId?: string;
  /** Cancels the load (payload hashing and the verifier get it). */
  readonly signal?: AbortSignal;
  /** The clock, for tests. */
  readonly now?: () => Date;
  /**
   * Receives `artifact.loaded` and `artifact.verification_failed` events. Errors it throws are
   * caught and ignored: auditing never blocks a load.
   */
  readonly onAudit?: (event: LoadAuditEvent) => void;
}

interface Evaluation {
  readonly checks: RuleResult[];
  signature?: SignatureSummary;
}

function passed(rule: LoadRule): RuleResult {
  return { rule, status: 'passed' };
}

function skipped(rule: LoadRule, reason: string): RuleResult {
  return { rule, status: 'skipped', reason };
}

function failed(rule: LoadRule, code: PlumblineErrorCode, reason: string): RuleResult {
  return { rule, status: 'failed', code, reason };
}

function describeError(error: unknown): { code: PlumblineErrorCode; message: string } {
  if (PlumblineError.is(error)) return { code: error.code, message: error.message };
  return { code: 'PLB_INTERNAL', message: 'an unexpected error' };
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PlumblineError('PLB_ABORTED', 'the load was cancelled', { cause: signal.reason });
  }
}

function headerRule(candidate: LoadCandidate, policy: ResolvedPolicy): RuleResult {
  if (candidate.header !== undefined) {
    if (candidate.headerError !== undefined) {
      return failed('header', 'PLB_VERIFY_HEADER_INVALID', 'the header is damaged');
    }
    const header = candidate.header;
    if (
      typeof header !== 'object' ||
      header === null ||
      !isDigestString(header.artifact_hash) ||
      typeof header.provenance !== 'object' ||
      header.provenance === null
    ) {
      return failed('header', 'PLB_VERIFY_HEADER_INVALID', 'the header is not a provenance header');
    }
    return passed('header');
  }
  if (candidate.headerError !== undefined) {
    const { code, message } = describeError(candidate.headerError);
    return failed(
      'header',
      'PLB_VERIFY_HEADER_INVALID',
      `the header could not be read (${code}: ${message})`,
    );
  }
  if (!policy.requireHeader)
    return skipped('header', 'no header (legacy artifact), allowed by policy');
  return failed('header', 'PLB_VERIFY_HEADER_MISSING', 'the artifact has no provenance header');
}

async function payloadRule(
  candidate: LoadCandidate,
  header: ProvenanceHeader | undefined,
  policy: ResolvedPolicy,
  signal: AbortSignal | undefined,
): Promise<RuleResult> {
  if (!policy.checkPayloadDigest) return skipped('payload', 'not required by policy');
  if (header === undefined) return skipped('payload', 'no header to compare with');
  const expected = header.payload as { digest?: unknown; size?: unknown } | undefined;
  if (expected === undefined || !isDigestString(expected.digest)) {
    return failed('payload', 'PLB_VERIFY_HEADER_INVALID', 'the header has no payload digest');
  }
  let actual: { digest: DigestString; size: number };
  if (candidate.payload !== undefined) {
    actual = { digest: formatDigest(sha256(candidate.payload)), size: candidate.payload.length };
  } else if (candidate.measurePayload !== undefined) {
    const measured = await candidate.measurePayload(signal === undefined ? {} : { signal });
    actual = { digest: measured.digest, size: measured.size };
  } else {
    return failed(
      'payload',
      'PLB_VERIFY_PAYLOAD_UNAVAILABLE',
      'the payload was not given, so its digest cannot be checked',
    );
  }
  if (actual.digest !== expected.digest || actual.size !== expected.size) {
    return failed(
      'payload',
      'PLB_VERIFY_PAYLOAD_MISMATCH',
      `payload digest ${actual.digest} (${actual.size} bytes) does not match the header's ${String(expected.digest)} (${String(expected.size)} bytes)`,
    );
  }
  return passed('payload');
}

function commitRule(header: ProvenanceHeader | undefined, policy: ResolvedPolicy): RuleResult {
  if (!policy.requireCommit) return skipped('commit', 'not required by policy');
  const commit = header?.provenance.commit;
  if (typeof commit !== 'string' || commit.length === 0) {
    return failed('commit', 'PLB_VERIFY_COMMIT_MISSING', 'the header names no source commit');
  }
  return passed('commit');
}

function sourceRule(header: ProvenanceHeader | undefined, policy: ResolvedPolicy): RuleResult {
  if (policy.allowedSources === undefined) return skipped('source', 'no allow-list in policy');
  const source = header?.provenance.source;
  if (typeof source !== 'string' || source.length === 0) {
    return failed('source', 'PLB_VERIFY_SOURCE_NOT_ALLOWED', 'the header names no source');
  }
  if (!sourceAllowed(source, policy.allowedSources)) {
    return failed(
      'source',
      'PLB_VERIFY_SOURCE_NOT_ALLOWED',
      `source ${JSON.stringify(source.slice(0, 200))} is not in the allow-list`,
    );
  }
  return passed('source');
}

function builtAfterRule(header: ProvenanceHeader | undefined, policy: ResolvedPolicy): RuleResult {
  if (policy.builtNotBefore === undefined) return skipped('built_after', 'no time in policy');
  const stamp = header?.build_timestamp;
  const built = typeof stamp === 'string' ? parseRfc3339(stamp) : undefined;
  if (built === undefined) {
    return failed('built_after', 'PLB_VERIFY_BUILT_TOO_EARLY', 'the build time is unknown');
  }
  if (built < policy.builtNotBefore) {
    return failed(
      'built_after',
      'PLB_VERIFY_BUILT_TOO_EARLY',
      `built at ${String(stamp)}, before ${new Date(policy.builtNotBefore).toISOString()}`,
    );
  }
  return passed('built_after');
}

function summarize(name: string, verdict: SignatureVerdict): SignatureSummary {
  const signer =
    verdict.signer === undefined
      ? undefined
      : {
          ...(verdict.signer.keyId === undefined ? {} : { key_id: verdict.signer.keyId }),
          ...(verdict.signer.identity === undefined ? {} : { identity: verdict.signer.identity }),
          ...(verdict.signer.issuer === undefined ? {} : { issuer: verdict.signer.issuer }),
        };
  return {
    verifier: name,
    present: verdict.present === true,
    valid: verdict.present === true && verdict.valid === true,
    ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
    ...(signer === undefined ? {} : { signer }),
  };
}

async function runVerifier(
  policy: ResolvedPolicy,
  subject: Parameters<NonNullable<ResolvedPolicy['verifier']>['verify']>[0],
  signal: AbortSignal | undefined,
): Promise<SignatureVerdict> {
  const verifier = policy.verifier!;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new PlumblineError(
        'PLB_VERIFY_VERIFIER_ERROR',
        `verifier ${verifier.name} took longer than ${policy.verifierTimeoutMs} ms`,
      );
      controller.abort(error);
      reject(error);
    }, policy.verifierTimeoutMs);
  });
  try {
    const verdict = await Promise.race([
      Promise.resolve().then(() => verifier.verify(subject, { signal: controller.signal })),
      timeout,
    ]);
    if (typeof verdict !== 'object' || verdict === null) {
      throw new PlumblineError(
        'PLB_VERIFY_VERIFIER_ERROR',
        `verifier ${verifier.name} gave no verdict`,
      );
    }
    return verdict;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

async function signatureRule(
  candidate: LoadCandidate,
  header: ProvenanceHeader | undefined,
  headerDigest: DigestString | null,
  policy: ResolvedPolicy,
  evaluation: Evaluation,
  signal: AbortSignal | undefined,
): Promise<RuleResult> {
  if (policy.verifier === undefined) return skipped('signature', 'no verifier in policy');
  const verifier = policy.verifier;
  if (header === undefined || headerDigest === null || candidate.artifactDigest === undefined) {
    if (!policy.requireSignature) return skipped('signature', 'nothing to verify (no header)');
    return failed(
      'signature',
      'PLB_VERIFY_SIGNATURE_MISSING',
      'a signature is required but the artifact has no header or digest to verify',
    );
  }
  let verdict: SignatureVerdict;
  try {
    verdict = await runVerifier(
      policy,
      {
        artifactDigest: candidate.artifactDigest,
        artifactHash: header.artifact_hash,
        headerDigest,
        attachments: candidate.attachments ?? {},
        ...(candidate.detached === undefined ? {} : { detached: candidate.detached }),
      },
      signal,
    );
  } catch (error) {
    checkAborted(signal);
    const message = PlumblineError.is(error, 'PLB_VERIFY_VERIFIER_ERROR')
      ? error.message
      : `verifier ${verifier.name} failed (${describeError(error).code})`;
    evaluation.signature = {
      verifier: verifier.name,
      present: false,
      valid: false,
      reason: message,
    };
    return failed('signature', 'PLB_VERIFY_VERIFIER_ERROR', message);
  }
  const summary = summarize(verifier.name, verdict);
  evaluation.signature = summary;
  if (!summary.present) {
    if (!policy.requireSignature)
      return skipped('signature', 'no signature present (not required)');
    return failed(
      'signature',
      'PLB_VERIFY_SIGNATURE_MISSING',
      'a signature is required but none is present',
    );
  }
  if (!summary.valid) {
    return failed(
      'signature',
      'PLB_VERIFY_SIGNATURE_INVALID',
      `signature not valid${verdict.reason === undefined ? '' : `: ${verdict.reason}`}`,
    );
  }
  return passed('signature');
}

async function evaluate(
  candidate: LoadCandidate,
  policy: ResolvedPolicy,
  headerDigest: DigestString | null,
  signal: AbortSignal | undefined,
): Promise<Evaluation> {
  const evaluation: Evaluation = { checks: [] };
  const { checks } = evaluation;
  const headerResult = headerRule(candidate, policy);
  checks.push(headerResult);
  const header = headerResult.status === 'passed' ? candidate.header : undefined;
  checkAborted(signal);
  checks.push(await payloadRule(candidate, header, policy, signal));
  checks.push(commitRule(header, policy));
  checks.push(sourceRule(header, policy));
  checks.push(builtAfterRule(header, policy));
  checkAborted(signal);
  checks.push(await signatureRule(candidate, header, headerDigest, policy, evaluation, signal));
  return evaluation;
}

function safeAudit(hook: VerifyOnLoadOptions['onAudit'], event: LoadAuditEvent): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // Auditing never blocks or breaks a load.
  }
}

function headerHashOf(candidate: LoadCandidate): DigestString | null {
  const value = (candidate.header as { artifact_hash?: unknown } | undefined)?.artifact_hash;
  return isDigestString(value) ? value : null;
}

/**
 * Checks an opened artifact against a load policy and returns the record of what was loaded.
 *
 * - `off`: nothing is checked; the header (if any) is still recorded, status `skipped`.
 * - `warn`: every rule runs; failures (including a verifier that throws) are reported in
 *   `verification.reasons` and the artifact is loaded, status `warned`.
 * - `enforce`: any failed rule or any error (in the payload hashing, in a verifier, anywhere)
 *   refuses the load with `PLB_LOAD_REJECTED`: it fails closed.
 *
 * With `options.registry`, a successful load is registered (for `options.workerId`, or as the
 * process's record) and a refused one is kept as the registry's last load error.
 *
 * @example
 * ```ts
 * import { verifyOnLoad, LoadedArtifactRegistry } from '@plumbline/core/verify';
 * const registry = new LoadedArtifactRegistry();
 * const loaded = await verifyOnLoad(candidate, { mode: 'enforce', requireCommit: true }, { registry });
 * console.log(loaded.artifact_hash, loaded.verification.status);
 * ```
 * @throws {@link PlumblineError} `PLB_LOAD_REJECTED` under `enforce` when a rule fails or anything
 * throws (the failed rules are in `details.reasons`); `PLB_VERIFY_POLICY_INVALID` for a malformed
 * policy (in every mode); `PLB_ABORTED` when `options.signal` is aborted.
 * @public
 */
export async function verifyOnLoad(
  artifact: LoadCandidate,
  policy: LoadPolicy,
  options: VerifyOnLoadOptions = {},
): Promise<LoadedArtifact> {
  const resolved = resolvePolicy(policy);
  const instanceId = options.instanceId ?? options.registry?.instanceId ?? processInstanceId();
  checkAborted(options.signal);
  const load: LoadContext = {
    artifact,
    policy: resolved,
    options,
    now: options.now ?? (() => new Date()),
    instanceId,
    artifactHash: headerHashOf(artifact),
  };
  const { evaluation, headerDigest } = await evaluateForLoad(load);
  const reasons: VerificationReason[] = evaluation.checks
    .filter((c) => c.status === 'failed')
    .map((c) => ({ rule: c.rule, code: c.code ?? 'PLB_INTERNAL', message: c.reason ?? 'failed' }));
  if (resolved.mode === 'enforce' && reasons.length > 0) throw rejection(load, reasons);
  const record = loadedRecord(load, evaluation, reasons, headerDigest);
  const { status, signature } = record.verification;
  if (reasons.length > 0) {
    safeAudit(options.onAudit, {
      type: 'artifact.verification_failed',
      at: record.loaded_at,
      artifact_hash: record.artifact_hash,
      ...auditOrigin(load),
      outcome: 'loaded',
      status,
      reasons,
    });
  }
  options.registry?.set(
    record,
    options.workerId === undefined ? {} : { workerId: options.workerId },
  );
  safeAudit(options.onAudit, {
    type: 'artifact.loaded',
    at: record.loaded_at,
    artifact_hash: record.artifact_hash,
    ...auditOrigin(load),
    outcome: 'loaded',
    status,
    reasons,
    ...(signature === undefined ? {} : { signature }),
  });
  return record;
}

/** One {@link verifyOnLoad} call: what is loaded, under which policy, for which instance. */
interface LoadContext {
  readonly artifact: LoadCandidate;
  readonly policy: ResolvedPolicy;
  readonly options: VerifyOnLoadOptions;
  readonly now: () => Date;
  readonly instanceId: string;
  /** The header's artifact hash, as claimed. */
  readonly artifactHash: DigestString | null;
}

/** The fields every load audit event carries after `artifact_hash`, in order. */
function auditOrigin(
  load: LoadContext,
): Pick<LoadAuditEvent, 'artifact_digest' | 'instance_id' | 'worker_id' | 'mode'> {
  const { artifact, options } = load;
  return {
    ...(artifact.artifactDigest === undefined ? {} : { artifact_digest: artifact.artifactDigest }),
    instance_id: load.instanceId,
    ...(options.workerId === undefined ? {} : { worker_id: options.workerId }),
    mode: load.policy.mode,
  };
}

/**
 * The rules' results. A rule that throws is a failed `header` check: under `enforce` the load is
 * refused, otherwise it is reported and the load goes on.
 */
async function evaluateForLoad(
  load: LoadContext,
): Promise<{ evaluation: Evaluation; headerDigest: DigestString | null }> {
  const { artifact, policy } = load;
  let headerDigest: DigestString | null = null;
  try {
    if (artifact.headerBytes !== undefined)
      headerDigest = formatDigest(sha256(artifact.headerBytes));
    if (policy.mode === 'off') {
      const rules = ['header', 'payload', 'commit', 'source', 'built_after', 'signature'] as const;
      return {
        evaluation: { checks: rules.map((rule) => skipped(rule, 'mode is off')) },
        headerDigest,
      };
    }
    const evaluation = await evaluate(artifact, policy, headerDigest, load.options.signal);
    return { evaluation, headerDigest };
  } catch (error) {
    if (PlumblineError.is(error, 'PLB_ABORTED')) throw error;
    const { code, message } = describeError(error);
    if (policy.mode === 'enforce') {
      throw rejection(
        load,
        [{ rule: 'header', code, message: `verification failed: ${message}` }],
        error,
      );
    }
    // warn or off: report the error as a failed check and load.
    return {
      evaluation: { checks: [failed('header', code, `verification failed: ${message}`)] },
      headerDigest,
    };
  }
}

/** The refusal of a load: recorded as the registry's load error, audited, returned to throw. */
function rejection(
  load: LoadContext,
  reasons: readonly VerificationReason[],
  cause?: unknown,
): PlumblineError {
  const { options, artifactHash } = load;
  const at = rfc3339(load.now());
  const summary = reasons.map((r) => `${r.rule}: ${r.message}`).join('; ');
  const error = new PlumblineError(
    'PLB_LOAD_REJECTED',
    `artifact refused by the load policy (${summary})`,
    {
      details: { artifact_hash: artifactHash, reasons },
      ...(cause === undefined ? {} : { cause }),
    },
  );
  options.registry?.recordLoadError({
    artifact_hash: artifactHash,
    code: error.code,
    message: error.message,
    at,
  });
  safeAudit(options.onAudit, {
    type: 'artifact.verification_failed',
    at,
    artifact_hash: artifactHash,
    ...auditOrigin(load),
    outcome: 'rejected',
    reasons,
  });
  return error;
}

/** The record of a load that goes ahead: the header only when it passed its check (or mode is off). */
function loadedRecord(
  load: LoadContext,
  evaluation: Evaluation,
  reasons: VerificationReason[],
  headerDigest: DigestString | null,
): LoadedArtifact {
  const { artifact, policy } = load;
  const intactHeader = evaluation.checks[0]?.status === 'passed' || policy.mode === 'off';
  const header = intactHeader && load.artifactHash !== null ? artifact.header : undefined;
  let status: VerificationStatus;
  if (policy.mode === 'off') status = 'skipped';
  else if (reasons.length > 0) status = 'warned';
  else status = header === undefined ? 'unverified' : 'verified';
  const verification: VerificationOutcome = {
    mode: policy.mode,
    status,
    checks: evaluation.checks,
    reasons,
    ...(evaluation.signature === undefined ? {} : { signature: evaluation.signature }),
  };
  return {
    artifact_hash: header === undefined ? null : header.artifact_hash,
    artifact_digest: artifact.artifactDigest ?? null,
    header_digest: headerDigest,
    kind: artifact.kind,
    build_timestamp: typeof header?.build_timestamp === 'string' ? header.build_timestamp : null,
    provenance: header?.provenance ?? null,
    payload: header?.payload ?? null,
    inputs: Array.isArray(header?.inputs) ? header.inputs : [],
    verification,
    loaded_at: rfc3339(load.now()),
    instance_id: load.instanceId,
  };
}
