// Child processes a test file left running (an anvil, a Mosquitto, a node daemon, a browser), found
// in /proc by their parent pid. The root hooks (test/support/rootHooks.ts) end them after every file
// and when the test process exits, so that no run leaves processes behind, in mocha's parallel mode
// (a worker runs many files and may be ended by mocha at any time) as in a serial run.
import { readdirSync, readFileSync } from 'node:fs'

const KEPT = Symbol.for('chanvm.tests.keptChildren')

/**
 * Pids that outlive a file on purpose (the worker's shared chain): not leftovers. Held on
 * `globalThis`, as mocha may load this module once through `require` (the root hooks) and once more
 * through `import` (the test files).
 */
const kept: Set<number> = ((globalThis as { [KEPT]?: Set<number> })[KEPT] ??= new Set<number>())

/** Marks `pid` as a child that stays from file to file (it is still ended when the process exits). */
export function keepChild(pid: number): void {
  kept.add(pid)
}

/** Forgets a pid given to {@link keepChild} (its process ended). */
export function forgetChild(pid: number): void {
  kept.delete(pid)
}

/** A running child process of this one. */
export type ChildInfo = { pid: number; command: string }

/** The direct children of this process (Linux /proc; none elsewhere), but tsx's esbuild service. */
export function childProcesses(): ChildInfo[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  const out: ChildInfo[] = []
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[1]) !== process.pid || fields[0] === 'Z') continue
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim()
      if (/\/esbuild\b.*--service/.test(command)) continue
      out.push({ pid: Number(name), command })
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/**
 * SIGKILLs `child` and, when it leads a process group of its own (spawned `detached`), the group,
 * so that what it started goes with it.
 */
function killTree(child: ChildInfo): void {
  for (const target of [-child.pid, child.pid]) {
    try {
      process.kill(target, 'SIGKILL')
    } catch {
      // no such group, or already gone
    }
  }
}

/** SIGKILLs every child of this process but the kept ones; returns what it killed. */
export function killLeftoverChildren(): ChildInfo[] {
  const left = childProcesses().filter((c) => !kept.has(c.pid))
  for (const child of left) killTree(child)
  return left
}

/** SIGKILLs every child of this process, kept ones included (for the process's exit). */
export function killAllChildren(): void {
  for (const child of childProcesses()) killTree(child)
}
