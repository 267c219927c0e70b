import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  http,
  parseEventLogs,
  type Abi,
  type Address,
  type Hex,
} from 'viem'
import { Adjudicator } from '../../contracts/generated/Adjudicator.ts'
import type { ChannelParams, Env, State } from '../channel/types.ts'
import { deployContracts } from '../chain/deployContracts.ts'
import { startAnvil } from '../chain/startAnvil.ts'
import { waitForMinedReceipt } from '../chain/waitForMinedReceipt.ts'
import { ChanvmError } from '../errors.ts'
import { decodeRevert } from '../sandbox/decodeRevert.ts'
import type { CheckKey, StepOutcome } from './types.ts'

/** Gas limit of every forced step: well above the sandbox's cap, so the chain shows what the app really uses. */
export const CHECK_TX_GAS = 20_000_000n

/** One forced step for {@link CheckChain.force}. */
export type ChainStepRequest = {
  params: ChannelParams
  from: State
  /** Signatures of `from` when the chain does not hold it yet (the first step registers it). */
  fromSignatures: readonly Hex[]
  mover: bigint
  action: Hex
  moverSignature: Hex
  /** The timestamp of the block the step is mined in. */
  timestamp: bigint
  /** The app's ABI, to decode its errors. */
  abi: Abi
}

/** What the chain did with a step. */
export type ChainStepResult = {
  outcome: StepOutcome
  /** The block the step ran in. */
  env: Env
  txGas: bigint
  /** Gas of the app's `transition` call inside the transaction (from the call trace). */
  appGas: bigint | undefined
}

/** An anvil with the Adjudicator and one app deployed, for the checker. */
export type CheckChain = {
  chainId: number
  adjudicator: Address
  app: Address
  /** The app's runtime code hash as the chain reports it. */
  appCodeHash: Hex
  participants: readonly CheckKey[]
  actors: readonly CheckKey[]
  /** The latest block: its number and timestamp. */
  head(): Promise<Env>
  /** Runs `forceProgress` in a block of its own at `timestamp`, with a fixed gas limit, and reads its outcome. */
  force(req: ChainStepRequest): Promise<ChainStepResult>
  stop(): Promise<void>
}

type CallFrame = { to?: string; type?: string; gasUsed?: string; output?: string; calls?: CallFrame[] }

function adjudicatorOutcome(data: Hex, abi: Abi): StepOutcome {
  if (data === '0x')
    return {
      kind: 'bad-output',
      reason: 'the Adjudicator could not take the output of the app (it reverted without data)',
    }
  let name: string
  let args: readonly unknown[]
  try {
    const r = decodeErrorResult({ abi: Adjudicator.abi, data })
    name = r.errorName
    args = (r.args ?? []) as readonly unknown[]
  } catch {
    return { kind: 'chain', reason: `the Adjudicator reverted with ${data}` }
  }
  if (name === 'AppReverted') {
    const inner = args[0] as Hex
    const reason = decodeRevert(abi, inner)?.text ?? (inner === '0x' ? 'reverted without data' : inner)
    return { kind: 'revert', data: inner, reason }
  }
  const text = `${name}(${args.map(String).join(', ')})`
  if (name === 'NotConserved') return { kind: 'not-conserved', reason: text }
  if (name === 'BalancesLength') return { kind: 'bad-output', reason: text }
  if (name === 'StateIsFinal') return { kind: 'final', reason: text }
  return { kind: 'chain', reason: text }
}

/**
 * Starts an anvil of its own, deploys the Adjudicator and the app from its creation bytecode, and
 * returns what the checker needs to force steps: two funded participants, extra actors and
 * `force`, which mines each step in its own block at a chosen time and reads the outcome from the
 * receipt and the call trace (the revert data of a failed step, the app's own gas).
 *
 * @example
 * ```ts
 * const chain = await startCheckChain({ name: 'Tally', bytecode })
 * try { const r = await chain.force({ ... }) } finally { await chain.stop() }
 * ```
 */
export async function startCheckChain(opts: { name: string; bytecode: Hex }): Promise<CheckChain> {
  const anvil = await startAnvil()
  try {
    const [deployer, a, b, ...rest] = anvil.accounts
    if (deployer === undefined || a === undefined || b === undefined)
      throw new ChanvmError('CHAIN_ERROR', 'anvil gave too few accounts')
    const d = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: deployer.privateKey,
      apps: [{ contractName: opts.name, bytecode: opts.bytecode }],
    })
    const app = d.apps[opts.name]
    if (app === undefined) throw new ChanvmError('CHAIN_ERROR', `${opts.name} was not deployed`)
    const transport = http(anvil.rpcUrl)
    const publicClient = createPublicClient({ transport, pollingInterval: 20 })
    const test = createTestClient({ mode: 'anvil', transport })
    const wallet = createWalletClient({ transport })
    const adjudicator = d.adjudicator.address

    const force = async (req: ChainStepRequest): Promise<ChainStepResult> => {
      await test.setNextBlockTimestamp({ timestamp: req.timestamp })
      const hash = await wallet.writeContract({
        chain: null,
        account: a.address,
        address: adjudicator,
        abi: Adjudicator.abi,
        functionName: 'forceProgress',
        args: [req.params, req.from, [...req.fromSignatures], req.mover, req.action, req.moverSignature],
        gas: CHECK_TX_GAS,
      })
      const receipt = await waitForMinedReceipt({ publicClient, testClient: test, hash })
      const env: Env = { blockNumber: receipt.blockNumber, timestamp: req.timestamp }
      const trace = (await publicClient.request({
        method: 'debug_traceTransaction' as never,
        params: [hash, { tracer: 'callTracer' }] as never,
      })) as CallFrame
      const appCall = (trace.calls ?? []).find((c) => c.to?.toLowerCase() === app.address.toLowerCase())
      const appGas = appCall?.gasUsed === undefined ? undefined : BigInt(appCall.gasUsed)
      if (receipt.status !== 'success') {
        const outcome = adjudicatorOutcome((trace.output ?? '0x') as Hex, req.abi)
        return { outcome, env, txGas: receipt.gasUsed, appGas }
      }
      const [ev] = parseEventLogs({ abi: Adjudicator.abi, eventName: 'Progressed', logs: receipt.logs })
      if (ev === undefined)
        throw new ChanvmError('CHAIN_ERROR', 'forceProgress was mined without a Progressed event')
      const state: State = { ...ev.args.state, balances: [...ev.args.state.balances] }
      return { outcome: { kind: 'state', state }, env, txGas: receipt.gasUsed, appGas }
    }

    const key = (x: { address: Address; privateKey: Hex }): CheckKey => ({
      address: x.address,
      privateKey: x.privateKey,
    })
    return {
      chainId: anvil.chainId,
      adjudicator,
      app: app.address,
      appCodeHash: app.codeHash,
      participants: [key(a), key(b)],
      actors: rest.map(key),
      head: async () => {
        const block = await publicClient.getBlock()
        return { blockNumber: block.number, timestamp: block.timestamp }
      },
      force,
      stop: () => anvil.stop(),
    }
  } catch (e) {
    await anvil.stop()
    throw e
  }
}
