// What the tests that kill and restart child processes share: a seeded generator, so a failing
// run replays with its seed, and the child's script bundled once so each restart starts fast.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NOT_BUNDLED, REQUIRE_SHIM } from '../../cli/bundleEntry.mjs'

/** mulberry32: a small seeded generator in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * `script` bundled into one file under `.tmp/{name}-{pid}/` (esbuild, which tsx brings), its npm
 * packages included but for `NOT_BUNDLED` (cli/bundleEntry.mjs, the same as the chanvm command's
 * bundle), run by plain node. A cold start then neither loads each module through tsx nor has
 * node's module loader find, read and link the packages' many small files (viem, ox, mqtt): the
 * kill test's party reaches its standby in 0.8-0.9 s of CPU instead of
 * 1.7-1.8 s with its packages outside, which matters with a hundred process starts on a small CI
 * machine. Falls back to tsx without esbuild.
 */
export async function bundleChildScript(
  script: string,
  name: string,
): Promise<{ file: string; execArgv: string[] }> {
  try {
    const { build } = (await import('esbuild')) as typeof import('esbuild')
    const file = fileURLToPath(new URL(`../../.tmp/${name}-${process.pid}/${name}.mjs`, import.meta.url))
    await build({
      entryPoints: [script],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: [...NOT_BUNDLED],
      banner: { js: REQUIRE_SHIM },
      outfile: file,
      logLevel: 'warning',
    })
    // The input source's verifier threads load their entry from beside the bundle.
    await build({
      entryPoints: [fileURLToPath(new URL('../../oracles/mqtt/checkEnvelopesInWorker.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: [...NOT_BUNDLED],
      banner: { js: REQUIRE_SHIM },
      outfile: join(dirname(file), 'checkEnvelopesInWorker.mjs'),
      logLevel: 'warning',
    })
    return { file, execArgv: [] }
  } catch (e) {
    console.log(`      esbuild not available (${(e as Error).message}): ${name} runs through tsx`)
    return { file: script, execArgv: ['--import', 'tsx'] }
  }
}
