import { BUILT_IN_APPS } from './builtInApps.ts'
import { createAppRegistry } from './module/createAppRegistry.ts'

/**
 * The registry of the built-in apps alone: what a node runs when its configuration adds none.
 *
 * @example
 * ```ts
 * BUILT_IN_REGISTRY.byCodeHash(params.appCodeHash)?.name
 * ```
 */
export const BUILT_IN_REGISTRY = createAppRegistry(BUILT_IN_APPS)
