/**
 * The version of `@plumbline/core`, as reported in the drift protocol's `sdk` field.
 * A test keeps it equal to the package's `package.json` version.
 *
 * @public
 */
export const SDK_VERSION = '0.1.0';

/**
 * The SDK identifier sent by data planes (`@plumbline/core@x.y.z`).
 *
 * @public
 */
export const SDK_ID = `@plumbline/core@${SDK_VERSION}`;
