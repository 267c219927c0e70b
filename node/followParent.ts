// A node started through npm (`npx chanvm node`, `npm run ...`) runs under `npm exec` → `sh -c` →
// node. A supervisor signals the PID it holds, npm's: npm passes the signal to the shell, which
// dies without passing it on, and the node would run on, orphaned, holding its port and its data
// folder. So such a node follows the processes that started it and stops when they are gone.
import { readFileSync } from 'node:fs'

/** Options of {@link followParent}. */
export type FollowParentOptions = {
  /** Called once when a process the node was started by is gone. */
  onGone: (why: string) => void
  /** How often to look (default 500 ms). */
  intervalMs?: number
  /** Default `process.env`: following starts only when npm started the process (`npm_command`). */
  env?: NodeJS.ProcessEnv
}

/** The parent pid and command line of `pid`, from /proc (Linux); undefined elsewhere. */
function procInfo(pid: number): { ppid: number; cmd: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    return Number.isInteger(ppid) ? { ppid, cmd } : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * When this process was started by npm (`npm_command` is set), watches the chain of processes
 * from its parent up to the npm process (read from /proc on Linux; only the parent elsewhere) and
 * calls `onGone` once when one of them has exited: the parent changed (the process was
 * re-parented) or the npm process no longer exists. Returns a function that stops watching.
 * A process not started by npm is left alone: it gets its signals itself.
 *
 * @example
 * ```ts
 * const stop = followParent({ onGone: (why) => controller.abort(why) })
 * ```
 */
export function followParent(options: FollowParentOptions): () => void {
  const env = options.env ?? process.env
  if (env.npm_command === undefined || env.npm_command === '') return () => undefined
  const parent = process.ppid
  const ancestors: { pid: number; cmd: string }[] = []
  let pid = parent
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    const info = procInfo(pid)
    if (info === undefined) break
    ancestors.push({ pid, cmd: info.cmd.trim() })
    if (/(^|[\s/])(npm|npx)(\.js|-cli\.js)?(\s|$)/.test(info.cmd)) break
    pid = info.ppid
  }
  const npm = ancestors.findLast((a) => /(^|[\s/])(npm|npx)(\.js|-cli\.js)?(\s|$)/.test(a.cmd))
  const watched = npm === undefined ? [] : ancestors.slice(0, ancestors.indexOf(npm) + 1)
  let done = false
  const timer = setInterval(() => {
    if (done) return
    let why: string | undefined
    if (process.ppid !== parent) why = `its parent process ${parent} exited`
    else {
      const gone = watched.find((a) => !isAlive(a.pid))
      if (gone !== undefined) why = `the process that started it (pid ${gone.pid}, ${gone.cmd}) exited`
    }
    if (why === undefined) return
    done = true
    clearInterval(timer)
    options.onGone(why)
  }, options.intervalMs ?? 500)
  timer.unref()
  return () => {
    done = true
    clearInterval(timer)
  }
}
