import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { startAnvil } from '../../engine/chain/startAnvil.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { startEmbeddedBroker } from '../../oracles/mqtt/startEmbeddedBroker.ts'

/** Anvil's first three dev keys (public knowledge): right for any anvil chain, never for real funds. */
export const ANVIL_DEV_KEYS: readonly Hex[] = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
]

/** The chain, the broker and a data folder a demo runs in; {@link DemoEnvironment.close} stops what was started. */
export type DemoEnvironment = {
  rpcUrl: string
  brokerUrl: string
  /** True when this process started anvil: time may then be moved forward with `evm_increaseTime`. */
  embeddedChain: boolean
  embeddedBroker: boolean
  /** Funded keys: deployer, first party, second party. */
  keys: readonly [Hex, Hex, Hex]
  /** Folder for the parties' SQLite files. */
  dataDir: string
  /** Registers a clean-up step; steps run in reverse order on close. */
  defer(step: () => Promise<void> | void): void
  /** Runs every clean-up step (errors are collected, not thrown) and removes a temporary data folder. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts, or connects to, what a demo needs: anvil unless `rpcUrl` is given, the embedded MQTT
 * broker unless `brokerUrl` is given, and a temporary folder for the parties' databases.
 *
 * @example
 * ```ts
 * const env = await startDemoEnvironment({})
 * try { console.log(env.rpcUrl, env.brokerUrl) } finally { await env.close() }
 * ```
 */
export async function startDemoEnvironment(opts: {
  rpcUrl?: string
  brokerUrl?: string
  keys?: readonly Hex[]
  dataDir?: string
}): Promise<DemoEnvironment> {
  const steps: (() => Promise<void> | void)[] = []
  let closing: Promise<void> | undefined
  const ownDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'chanvm-demo-'))
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      for (const step of steps.reverse()) {
        try {
          await step()
        } catch {
          // keep stopping the rest
        }
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true })
    })())
  const defer = (step: () => Promise<void> | void): void => {
    steps.push(step)
  }
  try {
    let rpcUrl = opts.rpcUrl
    let keys = opts.keys ?? ANVIL_DEV_KEYS
    if (rpcUrl === undefined) {
      const anvil = await startAnvil()
      defer(() => anvil.stop())
      rpcUrl = anvil.rpcUrl
      keys = opts.keys ?? anvil.accounts.slice(0, 3).map((a) => a.privateKey)
    }
    const [k0, k1, k2] = keys
    if (k0 === undefined || k1 === undefined || k2 === undefined) {
      throw new ChanvmError('CONFIG', 'a demo needs three funded keys: deployer, first party, second party')
    }
    let brokerUrl = opts.brokerUrl
    if (brokerUrl === undefined) {
      const broker = await startEmbeddedBroker()
      defer(() => broker.close())
      brokerUrl = broker.url
    }
    return {
      rpcUrl,
      brokerUrl,
      embeddedChain: opts.rpcUrl === undefined,
      embeddedBroker: opts.brokerUrl === undefined,
      keys: [k0, k1, k2],
      dataDir,
      defer,
      close,
    }
  } catch (e) {
    await close()
    throw e
  }
}
