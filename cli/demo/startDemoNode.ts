import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Address, Hex } from 'viem'
import { ChanvmError, type ChanvmErrorCode } from '../../engine/errors.ts'
import type { NodeConfig } from '../../node/types.ts'
import { createApiClient, type ApiClient } from '../apiClient.ts'
import { readNodeEvents, type DemoNodeEvent } from './readNodeEvents.ts'
import type { RefusalPolicy } from './refusalPolicy.ts'
import { serveDemoNode, writeDemoNodeFiles, type DemoNodeInit } from './serveDemoNode.ts'

/** Messages from a demo node's process to its parent. */
export type DemoNodeMessage =
  | { type: 'ready'; address: Address; url: string; pid: number }
  | { type: 'failed'; code: ChanvmErrorCode | string; message: string }

/** A demo party's node as the demo drives it: through its HTTP API. */
export type DemoNodeHandle = {
  role: string
  address: Address
  /** The node's API (what `chanvm node` serves), on 127.0.0.1. */
  api: ApiClient
  /** Process id of the node: its own process, or this one. */
  pid: number
  close(): Promise<void>
}

/** Options of {@link startDemoNode}. */
export type StartDemoNodeOptions = {
  role: string
  /** Folder of the node's configuration file, keystore and data. */
  dir: string
  /** The configuration besides its files and API address (those the demo sets). */
  config: Omit<NodeConfig, 'keystore' | 'dataDir' | 'http'>
  privateKey: Hex
  refuse?: RefusalPolicy
  /** scrypt cost of the keystore; lower it only for throw-away keys (default: the standard cost). */
  scryptN?: number
  /** Run the node in a process of its own (default true) or in this one. */
  separate?: boolean
  /** The node's events as its event stream (GET /v1/events) reports them; without it the stream is not opened. */
  onEvent?: (event: DemoNodeEvent) => void
}

const STOP_GRACE_MS = 15_000

/**
 * Starts a demo party's node as `chanvm node --config FILE` would: writes its keystore and
 * configuration file into `dir` and runs the node daemon (runNodeDaemon) on them, by default in a
 * process of its own (`cli/demo/demoNode.mjs`), with `separate: false` in this process. The
 * returned handle drives the node through its HTTP API (`cli/apiClient.ts`) and, with `onEvent`,
 * follows its event stream. If this process dies, a node process stops as on SIGTERM; `close` stops it (SIGKILL
 * after 15 s).
 *
 * @example
 * ```ts
 * const payer = await startDemoNode({ role: 'payer', dir, config, privateKey, onEvent: console.log })
 * await payer.api.openChannel(request)
 * await payer.close()
 * ```
 */
export async function startDemoNode(opts: StartDemoNodeOptions): Promise<DemoNodeHandle> {
  const files = await writeDemoNodeFiles(opts.dir, opts.config, opts.privateKey, opts.scryptN)
  const init: DemoNodeInit = {
    role: opts.role,
    ...files,
    ...(opts.refuse === undefined ? {} : { refuse: opts.refuse }),
  }
  const started = opts.separate === false ? await inThisProcess(init) : await inOwnProcess(init, opts.role)
  try {
    // Followed only for a listener: each event costs the reader a parse, and a benchmark has none.
    const { onEvent } = opts
    const events = onEvent === undefined ? undefined : await readNodeEvents(started.url, onEvent)
    let closing: Promise<void> | undefined
    return {
      role: opts.role,
      address: started.address,
      api: createApiClient({ url: started.url, timeoutMs: 180_000 }),
      pid: started.pid,
      close: () =>
        (closing ??= (async () => {
          await events?.close()
          await started.stop()
        })()),
    }
  } catch (e) {
    await started.stop()
    throw e
  }
}

type Started = { address: Address; url: string; pid: number; stop(): Promise<void> }

async function inThisProcess(init: DemoNodeInit): Promise<Started> {
  const served = await serveDemoNode(init)
  return {
    address: served.address,
    url: served.url,
    pid: process.pid,
    stop: async () => void (await served.stop()),
  }
}

/** Node options that load tsx (`--import tsx`, tsx's `--require …/preflight.cjs`, `--loader …`). */
const TSX_OPTION = /^--(import|require|loader|experimental-loader)$/
const isTsx = (value: string): boolean => /^tsx(\/|$)|[\\/]tsx[\\/]/.test(value)

/**
 * `execArgv` without the options that load tsx. demoNode.mjs runs the bundle when it is current
 * and registers tsx itself otherwise (cli/bundleEntry.mjs), so a parent's tsx (`npx tsx`, mocha's
 * `--import tsx`) is not handed down: its hooks would see every module the bundle loads, which
 * costs a node start about twice the CPU time. Other options (`--inspect`, `--cpu-prof`) stay.
 */
function withoutTsx(execArgv: readonly string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string
    const eq = arg.indexOf('=')
    if (eq > 0 && TSX_OPTION.test(arg.slice(0, eq)) && isTsx(arg.slice(eq + 1))) continue
    if (TSX_OPTION.test(arg) && isTsx(execArgv[i + 1] ?? '')) {
      i++
      continue
    }
    kept.push(arg)
  }
  return kept
}

async function inOwnProcess(init: DemoNodeInit, role: string): Promise<Started> {
  const entry = fileURLToPath(new URL('./demoNode.mjs', import.meta.url))
  const child = fork(entry, [], {
    execArgv: withoutTsx(process.execArgv),
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)))
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let closing: Promise<void> | undefined
  const stop = () =>
    (closing ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
      if (child.connected) child.send({ type: 'stop' })
      else child.kill('SIGTERM')
      await exit
      clearTimeout(timer)
    })())
  const ready = new Promise<Extract<DemoNodeMessage, { type: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code, signal) =>
      reject(
        new ChanvmError('CONFIG', `the ${role} node exited (${code ?? signal}) before it was ready`, {
          details: stderr.trim().split('\n').slice(-5),
        }),
      ),
    )
    child.on('message', (raw) => {
      const m = raw as DemoNodeMessage
      if (m.type === 'ready') resolve(m)
      else if (m.type === 'failed') reject(new ChanvmError(m.code as ChanvmErrorCode, m.message))
    })
  })
  child.send(init)
  try {
    const r = await ready
    return { address: r.address, url: r.url, pid: r.pid, stop }
  } catch (e) {
    await stop()
    throw e
  }
}
