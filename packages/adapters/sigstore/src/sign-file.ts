import { writeFile } from 'node:fs/promises';
import { PlumblineError } from '@plumbline/core';
import {
  attestArtifactFile,
  updateAttachmentsFile,
  type ArtifactStatementOptions,
  type AttestedArtifactFile,
} from '@plumbline/core/node';
import { DETACHED_BUNDLE_SUFFIX, SIGSTORE_BUNDLE_ATTACHMENT } from '@plumbline/core/signer';
import type { SerializedBundle } from '@sigstore/bundle';
import {
  createKeyBundle,
  createKeylessBundle,
  type KeyBundleOptions,
  type KeylessBundleOptions,
} from './sign.js';

/**
 * Options of {@link signArtifactFileWithSigstore}: `key` or `keyless` (the options of
 * {@link createKeyBundle} / {@link createKeylessBundle} without the statement), where the bundle
 * goes, and the statement options.
 *
 * @public
 */
export type SigstoreArtifactFileOptions = ArtifactStatementOptions & {
  /** Sign with a local key or your own `Signer` (a KMS, an HSM) (see {@link createKeyBundle}). */
  readonly key?: Omit<KeyBundleOptions, 'statement' | 'payload' | 'signal'>;
  /** Sign keylessly through Fulcio (and Rekor) (see {@link createKeylessBundle}). */
  readonly keyless?: Omit<KeylessBundleOptions, 'statement' | 'payload' | 'signal'>;
  /**
   * Store the bundle in the container under `dev.plumbline.sigstore.bundle` (default `true`). The
   * artifact digest does not change.
   */
  readonly attach?: boolean;
  /**
   * Write the bundle to this file too. Default: `<artifact>.sigstore.json` when `attach` is
   * `false`, nowhere when attaching.
   */
  readonly out?: string;
};

/**
 * A signed artifact file: its three digests and statement, and the Sigstore bundle.
 *
 * @public
 */
export interface SigstoreSignedArtifactFile extends AttestedArtifactFile {
  /** The Sigstore bundle (v0.3, DSSE). */
  readonly bundle: SerializedBundle;
  /** The bundle as written: its JSON and a newline. */
  readonly bundleBytes: Uint8Array;
  /** Whether the bundle was stored in the container. */
  readonly attached: boolean;
  /** The detached bundle file written, if any. */
  readonly detachedPath?: string;
}

function createBundle(
  options: SigstoreArtifactFileOptions,
  attested: AttestedArtifactFile,
): Promise<SerializedBundle> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  if (options.keyless !== undefined) {
    return createKeylessBundle({ ...options.keyless, ...signal, statement: attested.statement });
  }
  return createKeyBundle({ ...options.key, ...signal, statement: attested.statement });
}

/**
 * Signs an artifact file into a Sigstore bundle in one call, as `plumbline sign` does: builds the
 * artifact's SLSA provenance statement (subject: the artifact digest), signs it with a key or
 * keylessly, and attaches the bundle to the container and/or writes it beside the artifact.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { signArtifactFileWithSigstore } from '@plumbline/sigstore';
 * const signed = await signArtifactFileWithSigstore('dist/gateway.plb', {
 *   key: { privateKey: await readFile('keys/release.key.pem', 'utf8') },
 * });
 * console.log(signed.artifactDigest, signed.bundle.verificationMaterial?.publicKey?.hint);
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_SIGNER_CONFIG` unless exactly one of `key` and `keyless` is
 *   given; as `attestArtifactFile`, {@link createKeyBundle} / {@link createKeylessBundle}
 *   (`PLB_SIGSTORE_*`), and `updateAttachmentsFile`; `PLB_IO` when the detached bundle cannot be
 *   written.
 * @public
 */
export async function signArtifactFileWithSigstore(
  path: string,
  options: SigstoreArtifactFileOptions,
): Promise<SigstoreSignedArtifactFile> {
  if ((options.key === undefined) === (options.keyless === undefined)) {
    throw new PlumblineError('PLB_SIGNER_CONFIG', 'give either key or keyless signing options');
  }
  const attested = await attestArtifactFile(path, options);
  const bundle = await createBundle(options, attested);
  const bundleBytes = new TextEncoder().encode(`${JSON.stringify(bundle)}\n`);
  const attach = options.attach ?? true;
  if (attach) {
    await updateAttachmentsFile(
      attested.path,
      { [SIGSTORE_BUNDLE_ATTACHMENT]: bundleBytes },
      options.signal === undefined ? {} : { signal: options.signal },
    );
  }
  const detachedPath = options.out ?? (attach ? undefined : `${path}${DETACHED_BUNDLE_SUFFIX}`);
  if (detachedPath !== undefined) {
    try {
      await writeFile(detachedPath, bundleBytes);
    } catch (error) {
      throw new PlumblineError('PLB_IO', `cannot write ${detachedPath}`, {
        cause: error,
        details: { path: detachedPath, errno: (error as NodeJS.ErrnoException).code },
      });
    }
  }
  return {
    ...attested,
    bundle,
    bundleBytes,
    attached: attach,
    ...(detachedPath === undefined ? {} : { detachedPath }),
  };
}
