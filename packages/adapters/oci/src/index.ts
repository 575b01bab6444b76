/**
 * `@plumbline/oci`: OCI image labels (and annotations) carrying a Plumbline provenance header,
 * renderers for `docker build`/`buildah`, Dockerfiles, JSON and CI metadata, and verification of
 * OCI image layouts on disk against an artifact.
 *
 * @packageDocumentation
 */
export {
  ociLabels,
  sortLabels,
  sourceUrl,
  isValidLabelKey,
  assertValidLabel,
  OCI_LABEL_KEYS,
  type OciLabels,
  type OciLabelsOptions,
} from './labels.js';
export { renderLabels, labelArgs, shellQuote, LABEL_FORMATS, type LabelFormat } from './render.js';
export {
  verifyImage,
  type VerifyImageOptions,
  type VerifyImageResult,
  type ImageArtifact,
  type LabelCheck,
  type ImageProblem,
  type ImageFileCheck,
} from './verify-image.js';
export { OCI_MEDIA_TYPES, type OciDescriptor } from './layout/descriptor.js';
export type { OciPlatform, OciImage } from './layout/image.js';
export { supportsZstdLayers } from './layout/layers.js';
export { DEFAULT_OCI_LAYOUT_LIMITS, type OciLayoutLimits } from './layout/limits.js';
