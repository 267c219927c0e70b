import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Address } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import {
  createAdjudicatorClient,
  type AdjudicatorClient,
} from '../../engine/adjudicator/createAdjudicatorClient.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { Party } from '../../engine/protocol/createParty.ts'
import type {
  PartyNodeInit,
  PartyNodeReply,
  PartyNodeRequest,
  PartyNodeResults,
} from './partyNodeProtocol.ts'

/** A party as the demo drives it, wherever it runs: its off-chain side and its chain client. */
export type DemoNodeHandle = {
  role: string
  address: Address
  party: Pick<Party, 'open' | 'confirmFunding' | 'update' | 'latest' | 'waitForVersion'>
  /** Sends this party's transactions (signed with its key). */
  chain: AdjudicatorClient
  close(): Promise<void>
}

type Method = PartyNodeRequest['method']
type ArgsOf<M extends Method> = Extract<PartyNodeRequest, { method: M }>['args']

/**
 * Starts a party node in a process of its own (`cli/demo/partyNode.mjs`): its SQLite file, sandbox,
 * MQTT connection and keys live there, and the demo drives it over IPC. The party's transactions
 * are sent from this process with the party's key. If this process dies, the node closes its
 * database and MQTT link and exits; `close` stops it (SIGKILL after 5 s).
 *
 * @example
 * ```ts
 * const payer = await startPartyProcess({ role: 'payer', privateKey, rpcUrl, brokerUrl, params, app: 'escrow', dataDir })
 * await payer.party.open(params, initial)
 * await payer.close()
 * ```
 */
export async function startPartyProcess(
  init: PartyNodeInit,
  onRefused?: (version: bigint, reason: string) => void,
): Promise<DemoNodeHandle> {
  const entry = fileURLToPath(new URL('./partyNode.mjs', import.meta.url))
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)))
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true
      for (const p of pending.values())
        p.reject(
          new ChanvmError('CONFIG', `the ${init.role} node exited (${code ?? signal})`, {
            details: stderr.trim().split('\n').slice(-5),
          }),
        )
      pending.clear()
      resolve()
    }),
  )
  child.on('message', (raw) => {
    const m = raw as PartyNodeReply
    if ('event' in m) return onRefused?.(m.version, m.reason)
    const p = pending.get(m.id)
    if (p === undefined) return
    pending.delete(m.id)
    if (m.ok) p.resolve(m.result)
    else
      p.reject(
        new ChanvmError(
          m.error.code === 'ERROR' ? 'CONFIG' : m.error.code,
          `${init.role} node: ${m.error.message}`,
        ),
      )
  })
  const call = <M extends Method>(method: M, args: ArgsOf<M>): Promise<PartyNodeResults[M]> =>
    new Promise((resolve, reject) => {
      if (exited || !child.connected)
        return reject(new ChanvmError('CONFIG', `the ${init.role} node is not running`))
      const id = nextId++
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      child.send({ id, method, args } as PartyNodeRequest)
    })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (!exited) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await Promise.race([call('close', {}).catch(() => undefined), exit])
        if (child.connected) child.disconnect()
        await exit
        clearTimeout(timer)
      }
    })())
  try {
    await call('init', init)
  } catch (e) {
    await close()
    throw e
  }
  const chain = await createAdjudicatorClient({
    rpcUrl: init.rpcUrl,
    chainId: Number(init.params.chainId),
    address: init.params.adjudicator,
    privateKey: init.privateKey,
  })
  return {
    role: init.role,
    address: privateKeyToAddress(init.privateKey),
    chain,
    party: {
      open: (params, initial) => call('open', { params, initial }),
      confirmFunding: (channelId, deposited) =>
        call('confirmFunding', { channelId, deposited: [...deposited] }),
      update: (channelId, action) => call('update', { channelId, action }),
      latest: (channelId) => call('latest', { channelId }),
      waitForVersion: (channelId, version, timeoutMs = 30_000) =>
        call('waitForVersion', { channelId, version, timeoutMs }),
    },
    close,
  }
}
