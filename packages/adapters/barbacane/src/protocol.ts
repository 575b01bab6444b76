/**
 * Barbacane's data-plane WebSocket protocol (JSON text frames tagged by `type`, snake_case), as
 * its control plane and data plane define it.
 *
 * @packageDocumentation
 */
import { z } from 'zod';

const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a UUID');

/** `register`: the first frame of a Barbacane data plane. @public */
export const barbacaneRegisterSchema = z.looseObject({
  type: z.literal('register'),
  project_id: uuid,
  // An empty key is a wrong key (4401, reported as an authentication failure), not a malformed message.
  api_key: z.string().max(1024),
  name: z.string().max(1024).nullable().optional(),
  artifact_id: uuid.nullable().optional(),
  metadata: z.unknown().optional(),
});

/** `heartbeat`: periodic frame of a registered data plane. @public */
export const barbacaneHeartbeatSchema = z.looseObject({
  type: z.literal('heartbeat'),
  artifact_id: uuid.nullable().optional(),
  artifact_hash: z.string().max(1024).nullable().optional(),
  uptime_secs: z.number().int().min(0).optional(),
  requests_total: z.number().int().min(0).optional(),
});

/** `artifact_downloaded`: the outcome of an artifact download. @public */
export const barbacaneArtifactDownloadedSchema = z.looseObject({
  type: z.literal('artifact_downloaded'),
  artifact_id: uuid,
  success: z.boolean(),
  error: z.string().max(65_536).nullable().optional(),
});

/** The `register` frame. @public */
export type BarbacaneRegister = z.output<typeof barbacaneRegisterSchema>;
/** The `heartbeat` frame. @public */
export type BarbacaneHeartbeat = z.output<typeof barbacaneHeartbeatSchema>;
/** The `artifact_downloaded` frame. @public */
export type BarbacaneArtifactDownloaded = z.output<typeof barbacaneArtifactDownloadedSchema>;

/**
 * Frames the control plane sends to a Barbacane data plane.
 *
 * @public
 */
export type BarbacaneControlMessage =
  | {
      readonly type: 'registered';
      readonly data_plane_id: string;
      readonly heartbeat_interval_secs: number;
    }
  | { readonly type: 'registration_failed'; readonly reason: string }
  | {
      readonly type: 'artifact_available';
      readonly artifact_id: string;
      readonly download_url: string;
      readonly sha256: string;
    }
  | { readonly type: 'heartbeat_ack'; readonly drift_detected: boolean }
  | { readonly type: 'disconnect'; readonly reason: string }
  | { readonly type: 'error'; readonly message: string };
