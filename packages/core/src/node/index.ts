/**
 * The Node.js-only parts of `@plumbline/core`: building manifests from the file system, sealing,
 * signing and reading artifact files, loading them through verification
 * ({@link loadVerifiedFile}), atomic writes, the loopback admin listener, the file audit sink and
 * transparency log, and the file-backed fleet store.
 *
 * @packageDocumentation
 */
export {};
export { buildManifest, type BuildManifestOptions, type ManifestProgress } from './manifest-fs.js';
export { mediaTypeOf } from './media-type.js';
export {
  startAdminListener,
  isLoopbackHost,
  type AdminListener,
  type AdminListenerOptions,
  type AdminListenerTlsOptions,
} from './admin-listener.js';
export { parseSubjectAltNames, type SubjectAltName } from './subject-alt-name.js';
export {
  guardConnections,
  type ConnectionGuard,
  type ConnectionGuardOptions,
} from './connection-guard.js';
export {
  createAuditFileSink,
  type AuditFileSink,
  type AuditFileSinkOptions,
} from './audit-file-sink.js';
export {
  createAuditTransparencyLog,
  type AuditTransparencyLog,
  type AuditTransparencyLogOptions,
} from './audit-transparency-log.js';
export { FileFleetStore, FLEET_STATE_FORMAT, type FileFleetStoreOptions } from './file-store.js';
export {
  readHeader,
  openArtifact,
  verifyArtifact,
  fileHandleSource,
  type NodeArtifactSource,
  type VerifyArtifactFileOptions,
} from './container-file.js';
export {
  sealArtifactFile,
  type SealArtifactFileOptions,
  type SealFileResult,
} from './seal-file.js';
export { withAtomicFile, writeFileAtomic, type AtomicFileOptions } from './atomic-file.js';
export { updateAttachmentsFile, type UpdateAttachmentsFileOptions } from './attachments-file.js';
export {
  readLoadCandidate,
  loadVerifiedFile,
  type ReadLoadCandidateOptions,
  type LoadVerifiedFileOptions,
} from './load-candidate-file.js';
export {
  attestArtifactFile,
  type ArtifactStatementOptions,
  type AttestedArtifactFile,
} from './attest-artifact-file.js';
export {
  signArtifactFile,
  type SignArtifactFileOptions,
  type SignedArtifactFile,
} from './sign-artifact-file.js';
