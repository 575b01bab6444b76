/**
 * What `plumbline seal` needs, and nothing more: building the inputs' manifest and sealing a
 * payload file. This entry imports no schema library and none of the Node-side modules `seal`
 * does not use (admin listener, audit sinks, fleet store, drift). Not a public API: use
 * `@plumbline/core` and `@plumbline/core/node`.
 *
 * @internal
 * @packageDocumentation
 */
export { PlumblineError } from '../errors.js';
export { SDK_VERSION } from '../version.js';
export { buildManifest } from '../node/manifest-fs.js';
export { sealArtifactFile } from '../node/seal-file.js';
