// `chanvm node --config FILE` as a real process: its configuration and keystore on disk, started
// through `node cli/bin.mjs` or `npx chanvm`, with its output, its ready line, its JSON logs and
// the processes it consists of.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Address, Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { createKeystore } from '../../node/keystore.ts'
import type { NodeConfig } from '../../node/types.ts'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(ROOT, 'cli', 'bin.mjs')
export const PASSPHRASE = 'node daemon test'

/** Writes `dir/key.json` (a fresh key, or `privateKey`) and `dir/node.json`; returns the config path. */
export async function writeNodeFiles(
  dir: string,
  config: Omit<NodeConfig, 'keystore' | 'dataDir'> & { dataDir?: string },
  privateKey: Hex = generatePrivateKey(),
): Promise<{ configPath: string; address: Address }> {
  writeFileSync(join(dir, 'key.json'), await createKeystore(privateKey, PASSPHRASE, { n: 1024 }))
  const full: NodeConfig = { dataDir: './data', keystore: './key.json', ...config }
  const configPath = join(dir, 'node.json')
  writeFileSync(configPath, JSON.stringify(full, null, 2))
  return { configPath, address: privateKeyToAddress(privateKey) }
}

/** One JSON log line of the daemon. */
export type LogLine = { level: number; msg: string; [field: string]: unknown }

export type DaemonProcess = {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** The JSON log lines so far (stderr lines that are not JSON are left out). */
  logs(): LogLine[]
  /** Resolves with the API URL once the ready line is printed; rejects if the process exits first. */
  ready(): Promise<string>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILLs whatever of the process tree is left (for `finally`). */
  kill(): void
}

/** Starts `chanvm node --config configPath` through `node cli/bin.mjs` or `npx chanvm`. */
export function startDaemon(configPath: string, via: 'bin' | 'npx' = 'bin'): DaemonProcess {
  const env = { ...process.env, CHANVM_PASSPHRASE: PASSPHRASE, CHANVM_API_TOKEN: '' }
  const child =
    via === 'bin'
      ? spawn(process.execPath, [BIN, 'node', '--config', configPath], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(join(dirname(process.execPath), 'npx'), ['--no', 'chanvm', 'node', '--config', configPath], {
          env,
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const pid = child.pid ?? -1
  let tree: number[] = []
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as LogLine]
          } catch {
            return []
          }
        }),
    async ready() {
      let gone = false
      void exited.then(() => (gone = true))
      await waitUntil('the ready line', () => gone || /api (http:\/\/\S+)\n/.test(out), 90_000)
      const m = /chanvm node ready: address \S+ api (http:\/\/\S+)\n/.exec(out)
      if (m === null) throw new Error(`no ready line\nstdout: ${out}\nstderr: ${err}`)
      tree = processTree(pid)
      return m[1] as string
    },
    exited,
    kill() {
      for (const p of [...processTree(pid), ...tree]) {
        try {
          process.kill(p, 'SIGKILL')
        } catch {
          // gone already
        }
      }
    },
  }
}

/** `pid` and all its descendants (from `ps`). */
export function processTree(pid: number): number[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout
  const children = new Map<number, number[]>()
  for (const line of out.split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number)
    if (p === undefined || pp === undefined || Number.isNaN(p)) continue
    children.set(pp, [...(children.get(pp) ?? []), p])
  }
  const all: number[] = []
  const visit = (p: number) => {
    all.push(p)
    for (const c of children.get(p) ?? []) visit(c)
  }
  if (pid > 0) visit(pid)
  return all
}

/** Whether a process with this pid exists (a zombie counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim()
  return stat !== '' && !stat.startsWith('Z')
}

/** Whether a TCP port on 127.0.0.1 can be listened on. */
export async function isPortFree(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Polls `check` every 25 ms until it holds; throws naming `what` after `ms`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
