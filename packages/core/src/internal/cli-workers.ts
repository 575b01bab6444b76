/**
 * What the CLI's entry calls before it loads a command that hashes many or large files: start the
 * hashing workers, so their start-up overlaps the loading of the command's code. This entry
 * imports only the worker pool (no manifest, schema or hashing code). Not a public API.
 *
 * @internal
 * @packageDocumentation
 */
export { prestartHashWorkers } from '../node/hash-workers.js';
