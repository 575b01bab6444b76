/**
 * Container attachment key of a Sigstore bundle (JSON bytes of a
 * `application/vnd.dev.sigstore.bundle.v0.3+json` document) whose DSSE envelope signs an
 * in-toto statement about the artifact.
 *
 * @public
 */
export const SIGSTORE_BUNDLE_ATTACHMENT = 'dev.plumbline.sigstore.bundle';

/**
 * Container attachment key of a bare DSSE envelope (JSON bytes) over an in-toto statement,
 * for signatures made without any Sigstore tooling.
 *
 * @public
 */
export const DSSE_ENVELOPE_ATTACHMENT = 'dev.plumbline.dsse.envelope';

/**
 * File name suffix of a detached Sigstore bundle: `<artifact>.sigstore.json`.
 *
 * @public
 */
export const DETACHED_BUNDLE_SUFFIX = '.sigstore.json';
