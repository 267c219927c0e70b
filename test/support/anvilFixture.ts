// Shared set-up for the on-chain suites: one anvil per suite, contracts deployed, clients per
// party, and helpers to build channels and co-signed Escrow states.
import assert from 'node:assert/strict'
import { bytesToHex, createTestClient, http, keccak256, type Address, type Hex } from 'viem'
import { BrokenApp } from '../../contracts/generated/BrokenApp.ts'
import { Escrow } from '../../contracts/generated/Escrow.ts'
import { MultiForcer } from '../../contracts/generated/MultiForcer.ts'
import { encodeEscrowData, escrowApp, type EscrowData } from '../../apps/escrow/escrowClient.ts'
import {
  createAdjudicatorClient,
  type AdjudicatorClient,
} from '../../engine/adjudicator/createAdjudicatorClient.ts'
import {
  forceProgress,
  type ForceProgressArgs,
  type ForceProgressResult,
} from '../../engine/adjudicator/forceProgress.ts'
import { getChannelRecord } from '../../engine/adjudicator/getChannelRecord.ts'
import { deployContracts, type Deployment } from '../../engine/chain/deployContracts.ts'
import { startAnvil, type Anvil, type AnvilAccount } from '../../engine/chain/startAnvil.ts'
import { submitAdjudicatorTx, type TxResult } from '../../engine/adjudicator/submitAdjudicatorTx.ts'
import {
  encodeState,
  getChannelId,
  hashStateStruct,
  signState,
  type ChannelParams,
  type SignedState,
  type State,
} from '../../engine/channel/index.ts'
import { createSandbox, runTransition, type Sandbox } from '../../engine/sandbox/index.ts'
import { forgetChild, keepChild } from './leftoverChildren.ts'

export type Party = AnvilAccount & { client: AdjudicatorClient }

/** One `forceProgress` call of a {@link ChainFixture.forceMany} batch. */
export type ForcedStep = {
  from: State
  fromSignatures?: readonly Hex[]
  mover: bigint
  action: Hex
  moverSignature: Hex
}

export type ChainFixture = {
  anvil: Anvil
  deployment: Deployment
  alice: Party
  bob: Party
  /** Not a participant of any channel. */
  carol: Party
  arbiter: AnvilAccount
  sandbox: Sandbox
  /** Channel params of a fresh Escrow channel between alice (payer, 0) and bob (payee, 1). */
  escrowParams(overrides?: Partial<ChannelParams>): ChannelParams
  /** Channel params of a fresh BrokenApp channel between alice and bob. */
  brokenParams(): ChannelParams
  /** A state of `params`' channel. */
  state(
    params: ChannelParams,
    version: bigint,
    balances: readonly bigint[],
    data?: Partial<EscrowData>,
    isFinal?: boolean,
  ): State
  /** `state` signed by alice and bob (or by the given keys, in order). */
  cosign(params: ChannelParams, state: State, keys?: readonly Hex[]): SignedState
  /** Moves the chain's clock forward and mines a block. */
  increaseTime(seconds: bigint): Promise<void>
  /** The latest block's timestamp. */
  now(): Promise<bigint>
  /** Sets the timestamp of the next block (it must be later than the latest). */
  setNextBlockTimestamp(timestamp: bigint): Promise<void>
  /** Mines an empty block at `timestamp` (later than the latest), so calls simulated next see that time. */
  mineAt(timestamp: bigint): Promise<void>
  /**
   * Runs `send` with automining off, then mines everything it sent in ONE block and turns automining
   * back on. `send` must not wait for receipts (and should give each transaction its gas, as the
   * node estimates against a pending state).
   */
  inOneBlock<T>(send: () => Promise<T>): Promise<T>
  /** Sends several forceProgress calls in ONE transaction, through the MultiForcer test contract. */
  forceMany(client: AdjudicatorClient, params: ChannelParams, steps: readonly ForcedStep[]): Promise<TxResult>
  /** forceProgress, then the same step in the sandbox with the block's Env: both post-states must be the same bytes. */
  forceAndCheck(client: AdjudicatorClient, args: ForceProgressArgs): Promise<ForceProgressResult>
  /** How many forced steps `forceAndCheck` compared with the sandbox. */
  equivalenceChecks(): number
  stop(): Promise<void>
}

export const CHALLENGE = 100n

let nonce = 0n

/** A chain with the contracts deployed, shared by the fixtures of one process. */
type DeployedChain = { anvil: Anvil; deployment: Deployment }

/** This process's shared chain (one per mocha worker in parallel mode), started on first use. */
let sharedChain: Promise<DeployedChain> | undefined
/** Whether a fixture holds the shared chain now; a second fixture meanwhile gets a chain of its own. */
let sharedHeld = false

async function rpc(anvil: Anvil, method: string, params: readonly unknown[] = []): Promise<unknown> {
  const res = await fetch(anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } }
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message ?? 'failed'}`)
  return body.result
}

async function startDeployedChain(): Promise<DeployedChain> {
  const anvil = await startAnvil()
  try {
    const [deployer] = anvil.accounts
    assert(deployer)
    const deployment = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: deployer.privateKey,
      apps: [Escrow, BrokenApp, MultiForcer],
    })
    return { anvil, deployment }
  } catch (e) {
    await anvil.stop()
    throw e
  }
}

/**
 * The shared chain, started (anvil plus the contracts) on first use and again if its anvil no
 * longer answers. It is never stopped by a fixture: `startAnvil` kills it when the process exits.
 */
async function holdSharedChain(): Promise<DeployedChain> {
  const current = sharedChain
  if (current !== undefined) {
    const chain = await current.catch(() => undefined)
    if (chain !== undefined && (await rpc(chain.anvil, 'eth_chainId').catch(() => undefined)) !== undefined)
      return chain
    if (chain !== undefined) {
      await chain.anvil.stop()
      forgetChild(chain.anvil.pid)
    }
  }
  // The shared chain outlives the file that started it: the root hooks' end-of-file clean-up keeps
  // it (it still ends with the process).
  sharedChain = startDeployedChain().then((chain) => {
    keepChild(chain.anvil.pid)
    return chain
  })
  return sharedChain
}

/**
 * Starts a fixture: anvil with the Adjudicator, Escrow, BrokenApp and MultiForcer deployed, and a
 * client per party. The first fixture of a process starts that chain and keeps it for the next
 * ones: each fixture takes an `evm_snapshot` when it starts, sets the clock to the wall clock's and mines a block,
 * and `stop` reverts to the snapshot (block number, clock, balances, contract storage and account
 * nonces as after deployment), so a suite sees the chain as a fresh one, as when each suite started its own anvil, without the start-up
 * and deployment. A fixture started while another one holds the shared chain gets an anvil of its
 * own, stopped by its `stop`.
 */
export async function startChainFixture(): Promise<ChainFixture> {
  if (sharedHeld) {
    const own = await startDeployedChain()
    try {
      return await buildFixture(own.anvil, own.deployment, () => own.anvil.stop())
    } catch (e) {
      await own.anvil.stop()
      throw e
    }
  }
  sharedHeld = true
  try {
    const chain = await holdSharedChain()
    const snapshot = await rpc(chain.anvil, 'evm_snapshot')
    // A revert also takes anvil's clock back to the snapshot's time, and the latest block is as old
    // as the last suite's start: the clock is set to the wall clock's and a block mined now, so the
    // suite's head is at the current time, as a freshly started anvil's is (node clocks, chain-view
    // ages and signed readings stamped with Date.now() compare with it).
    await rpc(chain.anvil, 'evm_setTime', [Math.floor(Date.now() / 1000)])
    await rpc(chain.anvil, 'evm_mine')
    let stopped = false
    return await buildFixture(chain.anvil, chain.deployment, async () => {
      if (stopped) return
      stopped = true
      try {
        // Back to the chain as deployed, mining a block per transaction (a suite may have changed it).
        const reverted = await rpc(chain.anvil, 'evm_revert', [snapshot])
        await rpc(chain.anvil, 'evm_setAutomine', [true])
        if (reverted !== true)
          throw new Error(`evm_revert to ${String(snapshot)} returned ${String(reverted)}`)
      } catch {
        // A chain that cannot go back is not shared any more: the next fixture starts another one.
        sharedChain = undefined
        await chain.anvil.stop()
        forgetChild(chain.anvil.pid)
      } finally {
        sharedHeld = false
      }
    })
  } catch (e) {
    sharedHeld = false
    throw e
  }
}

/** The fixture's clients and helpers over a chain with the contracts deployed; `stop` ends it. */
async function buildFixture(
  anvil: Anvil,
  deployment: Deployment,
  stop: () => Promise<void>,
): Promise<ChainFixture> {
  const [, a, b, c, arbiter] = anvil.accounts
  assert(a && b && c && arbiter)
  const party = async (acct: AnvilAccount): Promise<Party> => ({
    ...acct,
    client: await createAdjudicatorClient({
      rpcUrl: anvil.rpcUrl,
      address: deployment.adjudicator.address,
      privateKey: acct.privateKey,
      chainId: anvil.chainId,
    }),
  })
  const alice = await party(a)
  const bob = await party(b)
  const carol = await party(c)
  const escrow = deployment.apps.Escrow
  const broken = deployment.apps.BrokenApp
  const multiForcer = deployment.apps.MultiForcer
  assert(escrow && broken && multiForcer)
  assert.equal(escrow.codeHash, escrowApp.codeHash, 'the deployed Escrow runs the bytes the sandbox runs')
  const sandbox = await createSandbox()
  const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
  let checks = 0

  const base = (app: Address, appCodeHash: Hex): ChannelParams => ({
    chainId: BigInt(anvil.chainId),
    adjudicator: deployment.adjudicator.address,
    participants: [alice.address, bob.address],
    app,
    appCodeHash,
    challengeDuration: CHALLENGE,
    nonce: ++nonce,
  })

  const fixture: ChainFixture = {
    anvil,
    deployment,
    alice,
    bob,
    carol,
    arbiter,
    sandbox,
    escrowParams: (overrides = {}) => ({ ...base(escrow.address, escrow.codeHash), ...overrides }),
    brokenParams: () => base(broken.address, broken.codeHash),
    state: (params, version, balances, data = {}, isFinal = false) => ({
      channelId: getChannelId(params),
      version,
      balances: [...balances],
      appData: encodeEscrowData({
        payer: 0,
        payee: 1,
        arbiter: arbiter.address,
        escrowId: 0n,
        funded: false,
        amount: 0n,
        deadline: 0n,
        ...data,
      }),
      isFinal,
    }),
    cosign: (params, state, keys = [alice.privateKey, bob.privateKey]) => ({
      state,
      signatures: keys.map((k) => signState(params, state, k)),
    }),
    increaseTime: async (seconds) => {
      await test.increaseTime({ seconds: Number(seconds) })
      await test.mine({ blocks: 1 })
    },
    now: async () => (await alice.client.publicClient.getBlock()).timestamp,
    setNextBlockTimestamp: (timestamp) => test.setNextBlockTimestamp({ timestamp }),
    mineAt: async (timestamp) => {
      await test.setNextBlockTimestamp({ timestamp })
      await test.mine({ blocks: 1 })
    },
    inOneBlock: async (send) => {
      await test.setAutomine(false)
      try {
        const out = await send()
        await test.mine({ blocks: 1 })
        return out
      } finally {
        await test.setAutomine(true)
      }
    },
    forceMany: (client, params, steps) =>
      submitAdjudicatorTx(
        client,
        { action: 'forceMany', channelId: getChannelId(params) },
        async (wallet, account) => {
          const { request } = await client.publicClient.simulateContract({
            address: multiForcer.address,
            abi: MultiForcer.abi,
            functionName: 'forceAll',
            args: [
              deployment.adjudicator.address,
              params,
              steps.map((s) => ({
                from: s.from,
                fromSigs: [...(s.fromSignatures ?? [])],
                mover: s.mover,
                action: s.action,
                moverSig: s.moverSignature,
              })),
            ],
            account,
            // A generous fixed limit: each nested call keeps back 1/64 of the gas, and anvil's
            // estimate for calls two levels deep now and then falls a few hundred gas short.
            gas: 500_000n + 150_000n * BigInt(steps.length),
          })
          return wallet.writeContract(request)
        },
      ),
    forceAndCheck: async (client, args) => {
      const r = await forceProgress(client, args)
      const isEscrow = args.params.app.toLowerCase() === escrow.address.toLowerCase()
      const code = isEscrow ? Escrow.deployedBytecode : BrokenApp.deployedBytecode
      const off = await runTransition(sandbox, {
        params: args.params,
        from: args.from,
        mover: args.mover,
        action: args.action,
        env: r.env,
        appCode: code,
      })
      assert(off.ok, `the sandbox rejected a step the chain accepted: ${off.ok ? '' : off.message}`)
      assert.equal(encodeState(r.state), encodeState(off.state), 'sandbox and chain post-states differ')
      const rec = await getChannelRecord(client, getChannelId(args.params), { blockNumber: r.blockNumber })
      assert.equal(
        rec.stateHash,
        bytesToHex(hashStateStruct(off.state)),
        'the chain holds the hash of the sandbox post-state',
      )
      assert.equal(rec.version, off.state.version)
      checks++
      return r
    },
    equivalenceChecks: () => checks,
    stop,
  }
  return fixture
}

/** A signature with s replaced by n - s (and v flipped): the same signature in its high-s form. */
export function toHighS(sig: Hex): Hex {
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  const r = sig.slice(2, 66)
  const s = BigInt(`0x${sig.slice(66, 130)}`)
  const v = Number.parseInt(sig.slice(130, 132), 16)
  const highS = (N - s).toString(16).padStart(64, '0')
  return `0x${r}${highS}${(v === 27 ? 28 : 27).toString(16)}`
}

/** keccak256 of a string, for tests that need distinct dummy hashes. */
export function dummyHash(label: string): Hex {
  return keccak256(new TextEncoder().encode(label))
}
