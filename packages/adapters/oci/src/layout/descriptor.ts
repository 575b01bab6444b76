import { PlumblineError } from '@plumbline/core';

/**
 * An OCI content descriptor (the fields Plumbline reads).
 *
 * @public
 */
export interface OciDescriptor {
  /** The media type of the referenced content. */
  readonly mediaType: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  /** Size of the referenced blob in bytes. */
  readonly size: number;
  /** Annotations such as `org.opencontainers.image.ref.name`. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The platform of an image in an image index. */
  readonly platform?: {
    /** Operating system, e.g. `linux`. */
    readonly os?: string;
    /** CPU architecture, e.g. `amd64`. */
    readonly architecture?: string;
    /** CPU variant, e.g. `v8`. */
    readonly variant?: string;
  };
}

/** OCI and Docker media types Plumbline understands. @public */
export const OCI_MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const DIGEST = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** Throws `PLB_OCI_JSON_INVALID`. @internal */
export function invalidJson(
  what: string,
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new PlumblineError('PLB_OCI_JSON_INVALID', `${what}: ${message}`, {
    details: { what, ...details },
  });
}

/** Whether a value is a plain JSON object. @internal */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads string-to-string annotations/labels, refusing other shapes. @internal */
export function stringMap(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) invalidJson(what, 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') invalidJson(what, `value of ${JSON.stringify(key)} is not a string`);
    out[key] = v;
  }
  return out;
}

/**
 * Checks a descriptor's shape: media type, a sha256 digest (other registered algorithms are
 * `PLB_OCI_DIGEST_UNSUPPORTED`), a non-negative integer size.
 *
 * @internal
 */
export function parseDescriptor(value: unknown, what: string): OciDescriptor {
  if (!isObject(value)) invalidJson(what, 'descriptor is not an object');
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) {
    invalidJson(what, 'descriptor has no valid mediaType');
  }
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    invalidJson(what, 'descriptor has no valid digest');
  }
  if (!SHA256.test(digest)) {
    if (digest.startsWith('sha256:')) invalidJson(what, 'sha256 digest is not 64 lowercase hex');
    throw new PlumblineError(
      'PLB_OCI_DIGEST_UNSUPPORTED',
      `${what}: digest algorithm ${digest.split(':')[0]} is not supported (sha256 only)`,
      { details: { what, digest } },
    );
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    invalidJson(what, 'descriptor size is not a non-negative integer');
  }
  const annotations = stringMap(value.annotations, `${what} annotations`);
  const platform = isObject(value.platform)
    ? {
        ...(typeof value.platform.os === 'string' ? { os: value.platform.os } : {}),
        ...(typeof value.platform.architecture === 'string'
          ? { architecture: value.platform.architecture }
          : {}),
        ...(typeof value.platform.variant === 'string' ? { variant: value.platform.variant } : {}),
      }
    : undefined;
  return {
    mediaType,
    digest,
    size,
    ...(annotations ? { annotations } : {}),
    ...(platform ? { platform } : {}),
  };
}
