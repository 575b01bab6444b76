/**
 * A value deterministic CBOR can carry in Plumbline: no floats, no tags, no `undefined`.
 * Maps have text keys and become plain objects; byte strings become `Uint8Array`.
 *
 * @public
 */
export type CborValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly CborValue[]
  | { readonly [key: string]: CborValue };
