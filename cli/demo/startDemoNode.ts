import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Address } from 'viem'
import { ChanvmError, type ChanvmErrorCode } from '../../engine/errors.ts'
import type { NodeEvent } from '../../node/types.ts'
import { createApiClient, type ApiClient } from '../apiClient.ts'
import { serveDemoNode, type DemoNodeHooks, type DemoNodeInit, type ServedDemoNode } from './serveDemoNode.ts'

/** Messages from a demo node's process to its parent. */
export type DemoNodeMessage =
  | { type: 'ready'; address: Address; url: string; pid: number }
  | { type: 'failed'; code: ChanvmErrorCode | string; message: string }
  | { type: 'event'; event: NodeEvent }
  | { type: 'refused'; version: bigint; reason: string }

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

const STOP_GRACE_MS = 10_000

/**
 * Starts a demo party's node: by default in a process of its own (`cli/demo/demoNode.mjs`), with
 * `separate: false` in this process. Either way the node is `createNode` behind its HTTP API, and
 * the returned handle drives it through `cli/apiClient.ts`. Node events and refusals reach
 * `hooks` (over IPC from a node process). If this process dies, a node process closes its
 * database and MQTT links and exits; `close` stops it (SIGKILL after 10 s).
 *
 * @example
 * ```ts
 * const payer = await startDemoNode({ role: 'payer', config, privateKey }, { onEvent: console.log })
 * await payer.api.openChannel(request)
 * await payer.close()
 * ```
 */
export async function startDemoNode(
  init: DemoNodeInit,
  hooks: DemoNodeHooks & { separate?: boolean } = {},
): Promise<DemoNodeHandle> {
  const handle = (
    served: Pick<ServedDemoNode, 'address' | 'url'>,
    pid: number,
    close: () => Promise<void>,
  ) => ({
    role: init.role,
    address: served.address,
    api: createApiClient({ url: served.url, timeoutMs: 180_000 }),
    pid,
    close,
  })
  if (hooks.separate === false) {
    const served = await serveDemoNode(init, hooks)
    return handle(served, process.pid, () => served.close())
  }
  const entry = fileURLToPath(new URL('./demoNode.mjs', import.meta.url))
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)))
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = new Promise<Extract<DemoNodeMessage, { type: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code, signal) =>
      reject(
        new ChanvmError('CONFIG', `the ${init.role} node exited (${code ?? signal}) before it was ready`, {
          details: stderr.trim().split('\n').slice(-5),
        }),
      ),
    )
    child.on('message', (raw) => {
      const m = raw as DemoNodeMessage
      if (m.type === 'ready') resolve(m)
      else if (m.type === 'failed')
        reject(new ChanvmError(m.code as ChanvmErrorCode, `${init.role} node: ${m.message}`))
      else if (m.type === 'event') hooks.onEvent?.(m.event)
      else if (m.type === 'refused') hooks.onRefused?.(m.version, m.reason)
    })
  })
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
      if (child.connected) child.send({ type: 'stop' })
      else child.kill('SIGTERM')
      await exit
      clearTimeout(timer)
    })())
  child.send(init)
  try {
    const r = await ready
    return handle(r, r.pid, close)
  } catch (e) {
    await close()
    throw e
  }
}
