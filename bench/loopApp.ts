import { builtInBenches } from '../apps/builtInBenches.ts'
import type { AppBenchInput, AppModule, NamedAction } from '../apps/types.ts'
import { appKey } from './appKey.ts'

/**
 * The app the protocol, node-API, many-channel and gas benchmarks run: the first built-in app
 * whose benchmark inputs have a `loop`, with its figures' key.
 *
 * @example
 * ```ts
 * const { app, key } = await loopApp() // key 'escrow': escrowStepsPerSec
 * ```
 */
export async function loopApp(): Promise<{
  app: AppModule
  bench: AppBenchInput & { loop: NonNullable<AppBenchInput['loop']> }
  key: string
}> {
  for (const { app, bench } of await builtInBenches()) {
    const loop = bench.loop
    if (loop !== undefined) return { app, bench: { ...bench, loop }, key: appKey(app.name) }
  }
  throw new Error('no built-in app declares a benchmark loop (apps/<app>/bench.ts)')
}

/** `actions` encoded by `app` (none of them may take filled arguments). */
export function encodeLoop(
  app: AppModule,
  actions: readonly NamedAction[],
  base: Parameters<AppModule['encodeAction']>[2],
): `0x${string}`[] {
  return actions.map((a) => app.encodeAction(a.action, a.args, base))
}
