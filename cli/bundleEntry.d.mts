/** The bundle's folder. */
export const BUNDLE_DIR: URL
/** npm packages left outside a bundle (native addons, packages that find files beside their own, tsx, @ethereumjs). */
export const NOT_BUNDLED: readonly string[]
/** The first line of every bundled file: `require` for the CommonJS packages bundled into an ES module. */
export const REQUIRE_SHIM: string
/**
 * A SHA-256 over the bytes of each file of `files` and over the TypeScript files and folders each
 * folder of `dirs` lists, all relative to `root`: an edited, added or removed source changes it.
 */
export function sourcesDigest(root: string, files: readonly string[], dirs: readonly string[]): string
/** The URL of the bundled entry `name` when the bundle is current in this checkout, else undefined. */
export function bundleEntry(name: string): string | undefined
/** Runs the bundled entry `name` when the bundle is current, otherwise `source` through tsx. */
export function runEntry(name: string, source: URL): Promise<void>
