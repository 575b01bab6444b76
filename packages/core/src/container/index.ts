/**
 * The artifact container v1: magic, version, deterministic CBOR header, attachments, payload.
 * Runtime-neutral (bytes, Web streams, random-access sources); `@plumbline/core/node` adds files.
 *
 * @packageDocumentation
 */
export {
  CONTAINER_MAGIC,
  CONTAINER_VERSION,
  EMPTY_ATTACHMENTS,
  HEADER_OFFSET,
  encodePrefix,
  prefixLength,
} from './format.js';
export {
  ATTACHMENT_KEYS,
  DEFAULT_ATTACHMENT_LIMITS,
  encodeAttachments,
  decodeAttachments,
  type Attachments,
  type AttachmentLimits,
} from './attachments.js';
export type { ArtifactSource, RandomAccessSource } from './reader.js';
export { artifactDigestOf, type ArtifactPrefix, type ContainerLimits } from './prefix.js';
export {
  readHeader,
  openArtifact,
  type ReadHeaderOptions,
  type ArtifactHeaderInfo,
  type OpenArtifactOptions,
  type OpenedArtifact,
} from './read.js';
export {
  sealArtifact,
  measurePayload,
  type SealArtifactOptions,
  type SealHeaderFields,
  type SealResult,
  type RereadablePayload,
} from './seal.js';
export {
  verifyArtifact,
  type VerifyArtifactOptions,
  type ArtifactVerification,
  type VerificationProblem,
} from './verify.js';
export {
  rewriteAttachments,
  mergeAttachments,
  type AttachmentChanges,
  type RewriteAttachmentsOptions,
} from './rewrite.js';
