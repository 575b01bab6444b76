/** Longest accepted entry path, in UTF-16 code units. @public */
export const MANIFEST_MAX_PATH_LENGTH = 4096;
