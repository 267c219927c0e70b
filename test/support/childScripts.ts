// What the tests that kill and restart child processes share: a seeded generator, so a failing
// run replays with its seed, and the child's script bundled once so each restart starts fast.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

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
 * `script` bundled into one file under `.tmp/{name}-{pid}/` (esbuild, which tsx brings), run by
 * plain node: a cold start then costs half the CPU of loading every module through tsx, which
 * matters with many process starts on a small CI machine. Falls back to tsx without esbuild.
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
      packages: 'external',
      outfile: file,
      logLevel: 'warning',
    })
    // The input source's verifier threads load their entry from beside the bundle.
    await build({
      entryPoints: [fileURLToPath(new URL('../../oracles/mqtt/checkEnvelopesInWorker.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: join(dirname(file), 'checkEnvelopesInWorker.mjs'),
      logLevel: 'warning',
    })
    return { file, execArgv: [] }
  } catch (e) {
    console.log(`      esbuild not available (${(e as Error).message}): ${name} runs through tsx`)
    return { file: script, execArgv: ['--import', 'tsx'] }
  }
}
