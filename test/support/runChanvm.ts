import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The `chanvm` command as a package bin runs it. */
export const CHANVM_BIN = fileURLToPath(new URL('../../cli/bin.mjs', import.meta.url))

/** What a `chanvm` run printed and how it exited. */
export type ChanvmRun = { code: number | null; stdout: string; stderr: string }

/** The process's environment without the variables a command or node would pick up by default, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of ['CHANVM_API_TOKEN', 'CHANVM_API_URL', 'CHANVM_PASSPHRASE', 'CHANVM_DEPLOYER_KEY'])
    delete env[name]
  return { ...env, ...extra }
}

/**
 * Runs `chanvm ARGS` as a child process in a clean environment plus `env`; `during` runs again and
 * again until it exits (to act on the nodes while a command waits on them).
 *
 * @example
 * ```ts
 * const r = await runChanvm(['channels', '--api', url, '--json'])
 * assert.equal(r.code, 0, r.stderr)
 * ```
 */
export function runChanvm(
  args: string[],
  env: Record<string, string> = {},
  during?: () => Promise<void>,
): Promise<ChanvmRun> {
  const child = spawn(process.execPath, [CHANVM_BIN, ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  // 'close': the process exited and its output was read to the end.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return (async () => {
    if (during !== undefined) {
      let done = false
      void exited.then(() => (done = true))
      while (!done) await Promise.race([during(), exited])
    }
    return { code: await exited, stdout, stderr }
  })()
}
