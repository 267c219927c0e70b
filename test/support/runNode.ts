import { spawn } from 'node:child_process'

export type NodeRun = { code: number | null; stdout: string; stderr: string }

/**
 * Runs `node <args>` as a child process and collects its output; killed after `timeoutMs` (default
 * 5 minutes, far above a run on an idle machine: the bound is for a hang, not a speed check), which
 * the collected stderr then says.
 *
 * @example
 * ```ts
 * const r = await runNode(['--import', 'tsx', 'examples/escrow/run.ts'], { cwd: root })
 * assert.equal(r.code, 0, r.stderr)
 * ```
 */
export function runNode(
  args: string[],
  opts: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.env === undefined ? {} : { env: opts.env }),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timeoutMs = opts.timeoutMs ?? 300_000
    const timer = setTimeout(() => {
      stderr += `\n(killed with SIGKILL after ${timeoutMs} ms)`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
