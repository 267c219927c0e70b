import { formatEther, type Address, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { concludeFinal } from '../../engine/adjudicator/concludeFinal.ts'
import { conclude } from '../../engine/adjudicator/conclude.ts'
import { deposit } from '../../engine/adjudicator/deposit.ts'
import { getDeposits } from '../../engine/adjudicator/getDeposits.ts'
import { forceProgress } from '../../engine/adjudicator/forceProgress.ts'
import { getWithdrawable } from '../../engine/adjudicator/getWithdrawable.ts'
import { signMove } from '../../engine/adjudicator/signMove.ts'
import { withdraw } from '../../engine/adjudicator/withdraw.ts'
import type { TxResult } from '../../engine/adjudicator/submitAdjudicatorTx.ts'
import { deployContracts, type ContractArtifact } from '../../engine/chain/deployContracts.ts'
import { getChannelId } from '../../engine/channel/getChannelId.ts'
import type { ChannelParams, SignedState, State } from '../../engine/channel/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import type { AppCode, UpdateResult } from '../../engine/protocol/createParty.ts'
import type { PartyNodeInit, RefusalPolicy } from './partyNodeProtocol.ts'
import { startPartyNode } from './startPartyNode.ts'
import { startPartyProcess, type DemoNodeHandle } from './startPartyProcess.ts'
import { startDemoEnvironment, type DemoEnvironment } from './startDemoEnvironment.ts'
import type { DealName, DemoEvent, DemoGas, DemoOptions, DemoPayout, DemoSummary } from './types.ts'

/** A demo in progress: the environment, the two parties, the channel and the log. */
export type DemoRun = {
  readonly env: DemoEnvironment
  readonly adjudicator: Address
  readonly app: Address
  readonly chainId: number
  /** The two parties' addresses, in participant order. */
  readonly addresses: readonly [Address, Address]
  emit(kind: string, actor: string, text: string, data?: DemoEvent['data']): void
  /** The chain head as the first party sees it. */
  head(): Promise<{ blockNumber: bigint; timestamp: bigint }>
  /**
   * Starts both parties as nodes, co-signs the initial state over the broker and deposits each
   * party's opening balance on chain. `refuse` gives a party a refusal policy.
   */
  open(args: {
    appData: Hex
    balances: readonly [bigint, bigint]
    refuse?: Partial<Record<0 | 1, RefusalPolicy>>
  }): Promise<{ params: ChannelParams; channelId: Hex; signed: SignedState }>
  /** One off-chain step by participant `mover`, co-signed by the other; logs it. */
  move(mover: 0 | 1, action: Hex, label: string): Promise<UpdateResult>
  /** The latest co-signed state as participant `who` holds it. */
  latest(who: 0 | 1): Promise<SignedState>
  /** concludeFinal with a co-signed final state, sent by participant `by`. */
  concludeFinal(by: 0 | 1, signed: SignedState): Promise<void>
  /**
   * Takes `action` to chain as participant `mover`'s move on top of `from` (co-signed), waits out
   * the challenge period (time travel on the embedded chain) and concludes.
   */
  forceAndConclude(mover: 0 | 1, from: SignedState, action: Hex, label: string): Promise<State>
  /** Moves the chain's clock forward by `seconds` (embedded chain) or waits for it (external chain). */
  advanceTime(seconds: bigint, why: string): Promise<void>
  /** Returns once the chain head's timestamp is at least `timestamp` (mining a block on the embedded chain). */
  waitForChainTime(timestamp: bigint): Promise<void>
  /** Mines `blocks` blocks (embedded chain) or waits for them (external chain). */
  advanceBlocks(blocks: bigint, why: string): Promise<void>
  /** Every party withdraws its credit; returns what each got. */
  withdrawAll(): Promise<DemoPayout[]>
  finish(args: {
    outcome: string
    expectedOutcome: string
    payouts: DemoPayout[]
    expectedPayouts: Record<string, bigint>
  }): DemoSummary
  close(): Promise<void>
}

/** Raw JSON-RPC call, for the anvil methods viem's typed clients do not declare. */
async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await res.json()) as { result?: unknown; error?: { message: string } }
  if (body.error !== undefined)
    throw new ChanvmError('CHAIN_ERROR', `${method} failed: ${body.error.message}`)
  return body.result
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const eth = (wei: bigint) => `${formatEther(wei)} ETH`

/**
 * Starts a demo run: the environment (anvil and the embedded broker unless URLs are given), a fresh
 * Adjudicator and the deal's app, and the event log. The deal functions (`runEscrowDemo`, ...)
 * compose its steps; every step is reported through `options.onEvent` as it happens.
 *
 * @example
 * ```ts
 * const run = await createDemoRun('escrow', { roles: ['payer', 'payee'], app: escrowApp, artifact: Escrow }, {})
 * try { await run.open({ appData, balances: [10n ** 18n, 0n] }) } finally { await run.close() }
 * ```
 */
export async function createDemoRun(
  deal: DealName,
  spec: {
    roles: readonly [string, string]
    app: AppCode & { codeHash: Hex }
    appName: PartyNodeInit['app']
    artifact: ContractArtifact
  },
  options: DemoOptions,
): Promise<DemoRun> {
  const started = Date.now()
  const steps: DemoEvent[] = []
  const txs: DemoGas[] = []
  const roles = spec.roles
  const emit: DemoRun['emit'] = (kind, actor, text, data) => {
    const event: DemoEvent = {
      t: Date.now() - started,
      kind,
      actor,
      text,
      ...(data === undefined ? {} : { data }),
    }
    steps.push(event)
    options.onEvent?.(event)
  }
  const aborted = (): boolean => options.signal?.aborted === true
  if (aborted()) throw new ChanvmError('CONFIG', 'aborted before the demo started')
  const env = await startDemoEnvironment({
    ...(options.rpcUrl === undefined ? {} : { rpcUrl: options.rpcUrl }),
    ...(options.brokerUrl === undefined ? {} : { brokerUrl: options.brokerUrl }),
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  })
  const onAbort = () => void env.close()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  env.defer(() => options.signal?.removeEventListener('abort', onAbort))
  try {
    if (aborted()) throw new ChanvmError('CONFIG', 'aborted')
    emit(
      'environment',
      'chain',
      `chain ${env.rpcUrl}${env.embeddedChain ? ' (embedded anvil)' : ''}, broker ${env.brokerUrl}${env.embeddedBroker ? ' (embedded)' : ''}`,
      {
        rpcUrl: env.rpcUrl,
        brokerUrl: env.brokerUrl,
        embeddedChain: env.embeddedChain,
        embeddedBroker: env.embeddedBroker,
      },
    )
    const deployment = await deployContracts({
      rpcUrl: env.rpcUrl,
      privateKey: env.keys[0],
      apps: [spec.artifact],
    })
    const appDeployed = deployment.apps[spec.artifact.contractName]
    if (appDeployed === undefined)
      throw new ChanvmError('CHAIN_ERROR', `${spec.artifact.contractName} was not deployed`)
    if (appDeployed.codeHash.toLowerCase() !== spec.app.codeHash.toLowerCase()) {
      throw new ChanvmError(
        'APP_CODE_MISMATCH',
        `the deployed ${spec.artifact.contractName} has code hash ${appDeployed.codeHash}, the parties run ${spec.app.codeHash}`,
      )
    }
    const deployed = {
      adjudicator: deployment.adjudicator.address,
      app: appDeployed.address,
      chainId: deployment.chainId,
      gasUsed: deployment.adjudicator.gasUsed + appDeployed.gasUsed,
    }
    emit(
      'deployed',
      'chain',
      `deployed Adjudicator at ${deployed.adjudicator} and ${spec.artifact.contractName} at ${deployed.app} (${deployed.gasUsed} gas)`,
      {
        adjudicator: deployed.adjudicator,
        app: deployed.app,
        gasUsed: deployed.gasUsed.toString(),
      },
    )
    const keys = [env.keys[1], env.keys[2]] as const
    const addresses = [privateKeyToAddress(keys[0]), privateKeyToAddress(keys[1])] as const
    const challengeDuration = options.challengeDuration ?? 60n
    let nodes: [DemoNodeHandle, DemoNodeHandle] | undefined
    let params: ChannelParams | undefined
    let channelId: Hex | undefined
    let coSigned = 0
    let forced = 0
    let lastVersion = 0n

    const need = () => {
      if (nodes === undefined || params === undefined || channelId === undefined)
        throw new ChanvmError('INVALID_ARGUMENT', 'open the channel first')
      return { nodes, params, channelId }
    }
    const logTx = (action: string, by: string, r: TxResult) => {
      txs.push({ action, by, gasUsed: r.gasUsed, hash: r.hash })
    }
    const head = async () => {
      const block = await nodes?.[0].chain.publicClient.getBlock({ blockTag: 'latest' })
      if (block === undefined) throw new ChanvmError('INVALID_ARGUMENT', 'open the channel first')
      return { blockNumber: block.number, timestamp: block.timestamp }
    }

    const run: DemoRun = {
      env,
      adjudicator: deployed.adjudicator,
      app: deployed.app,
      chainId: deployed.chainId,
      addresses,
      emit,
      head,
      async open(args) {
        const nonce = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000))
        params = {
          chainId: BigInt(deployed.chainId),
          adjudicator: deployed.adjudicator,
          participants: [addresses[0], addresses[1]],
          app: deployed.app,
          appCodeHash: spec.app.codeHash,
          challengeDuration,
          nonce,
        }
        const p = params
        channelId = getChannelId(p)
        const separate = options.partyProcesses !== false
        const made = await Promise.all(
          ([0, 1] as const).map(async (i) => {
            const refuse = args.refuse?.[i]
            const init: PartyNodeInit = {
              role: roles[i],
              privateKey: keys[i],
              rpcUrl: env.rpcUrl,
              brokerUrl: env.brokerUrl,
              params: p,
              app: spec.appName,
              dataDir: env.dataDir,
              ...(refuse === undefined ? {} : { refuse }),
            }
            const onRefused = (version: bigint, why: string) =>
              emit('refused', roles[i], `${roles[i]} refuses to sign version ${version}: ${why}`, {
                version: version.toString(),
                reason: why,
              })
            const node: DemoNodeHandle = separate
              ? await startPartyProcess(init, onRefused)
              : await startPartyNode(init, onRefused)
            env.defer(() => node.close())
            return node
          }),
        )
        const [n0, n1] = made as [DemoNodeHandle, DemoNodeHandle]
        nodes = [n0, n1]
        emit(
          'nodes',
          'broker',
          `${roles[0]} ${addresses[0]} and ${roles[1]} ${addresses[1]} run as separate nodes${separate ? ' in processes of their own' : ''} (own SQLite file, own MQTT connection)`,
          {
            [roles[0]]: addresses[0],
            [roles[1]]: addresses[1],
          },
        )
        const initial: State = {
          channelId,
          version: 0n,
          balances: [args.balances[0], args.balances[1]],
          appData: args.appData,
          isFinal: false,
        }
        const [signed] = await Promise.all([n0.party.open(p, initial), n1.party.open(p, initial)])
        coSigned++
        emit(
          'opened',
          'channel',
          `channel ${channelId} opened: version 0 co-signed over MQTT (challenge period ${challengeDuration} s)`,
          {
            channelId,
            challengeDuration: challengeDuration.toString(),
          },
        )
        for (const i of [0, 1] as const) {
          const amount = args.balances[i]
          if (amount === 0n) continue
          const r = await deposit(nodes[i].chain, { channelId, participant: addresses[i], amount })
          logTx('deposit', roles[i], r)
          emit(
            'deposit',
            roles[i],
            `${roles[i]} deposits ${eth(amount)} into the Adjudicator (${r.gasUsed} gas)`,
            { amount: amount.toString(), gasUsed: r.gasUsed.toString() },
          )
        }
        // Each party reads the deposits on chain and acts on the channel only once both are in.
        for (const i of [0, 1] as const) {
          const deposited = await getDeposits(nodes[i].chain, channelId, p.participants)
          const funded = await nodes[i].party.confirmFunding(channelId, deposited)
          if (!funded.ok)
            throw new ChanvmError(
              'CHAIN_ERROR',
              `${roles[i]} does not see the channel funded: ${funded.message}`,
              { channelId },
            )
        }
        return { params: p, channelId, signed }
      },
      async move(mover, action, label) {
        const { nodes: ns, channelId: id } = need()
        // The mover must have seen the last commit (it travels over the broker) before it builds on it.
        await ns[mover].party.waitForVersion(id, lastVersion, 30_000)
        const r = await ns[mover].party.update(id, action)
        if (r.ok) {
          coSigned++
          lastVersion = r.signed.state.version
          const s = r.signed.state
          emit(
            'co-signed',
            roles[mover],
            `${label}: version ${s.version} co-signed [${roles[0]} ${eth(s.balances[0] ?? 0n)}, ${roles[1]} ${eth(s.balances[1] ?? 0n)}]${s.isFinal ? ' (final)' : ''}`,
            {
              label,
              version: s.version.toString(),
              isFinal: s.isFinal,
              [`balance.${roles[0]}`]: (s.balances[0] ?? 0n).toString(),
              [`balance.${roles[1]}`]: (s.balances[1] ?? 0n).toString(),
            },
          )
        } else {
          const why =
            r.reason === 'peer-rejected'
              ? `${r.peerReason}: ${r.message}`
              : r.reason === 'step-rejected'
                ? `${r.step.reason}: ${r.step.message}`
                : r.reason
          emit('not-signed', roles[mover], `${label}: not co-signed (${why})`, { label, reason: r.reason })
        }
        return r
      },
      async latest(who) {
        const { nodes: ns, channelId: id } = need()
        await ns[who].party.waitForVersion(id, lastVersion, 30_000)
        const s = await ns[who].party.latest(id)
        if (s === undefined)
          throw new ChanvmError('CHANNEL_NOT_FOUND', 'no co-signed state', { channelId: id })
        return s
      },
      async concludeFinal(by, signed) {
        const { nodes: ns, params: p } = need()
        const r = await concludeFinal(ns[by].chain, { params: p, signed })
        logTx('concludeFinal', roles[by], r)
        emit(
          'concluded',
          roles[by],
          `${roles[by]} concludes with the co-signed final state version ${signed.state.version}: payouts credited at once (${r.gasUsed} gas)`,
          {
            version: signed.state.version.toString(),
            gasUsed: r.gasUsed.toString(),
          },
        )
      },
      async forceAndConclude(mover, from, action, label) {
        const { nodes: ns, params: p } = need()
        const moverSignature = signMove(p, from.state, BigInt(mover), action, keys[mover])
        const r = await forceProgress(ns[mover].chain, {
          params: p,
          from: from.state,
          fromSignatures: from.signatures,
          mover: BigInt(mover),
          action,
          moverSignature,
          ...(spec.app.abi === undefined ? {} : { appAbi: spec.app.abi }),
        })
        forced++
        logTx('forceProgress', roles[mover], r)
        emit(
          'force-progress',
          roles[mover],
          `${roles[mover]} force-progresses on chain from co-signed version ${from.state.version}: ${label}; the Adjudicator ran the app and holds version ${r.state.version} [${roles[0]} ${eth(r.state.balances[0] ?? 0n)}, ${roles[1]} ${eth(r.state.balances[1] ?? 0n)}] (${r.gasUsed} gas)`,
          {
            label,
            version: r.state.version.toString(),
            gasUsed: r.gasUsed.toString(),
            finalizesAt: r.finalizesAt.toString(),
          },
        )
        const now = (await head()).timestamp
        if (r.finalizesAt > now) await run.advanceTime(r.finalizesAt - now, 'challenge period')
        const c = await conclude(ns[mover].chain, { params: p, state: r.state })
        logTx('conclude', roles[mover], c)
        emit(
          'concluded',
          roles[mover],
          `${roles[mover]} concludes after the challenge period: the forced state pays out (${c.gasUsed} gas)`,
          { gasUsed: c.gasUsed.toString() },
        )
        return r.state
      },
      async advanceTime(seconds, why) {
        if (env.embeddedChain) {
          await rpc(env.rpcUrl, 'evm_increaseTime', [Number(seconds)])
          await rpc(env.rpcUrl, 'evm_mine', [])
          emit('time', 'chain', `embedded chain: ${why}, time moved forward ${seconds} s`, {
            seconds: seconds.toString(),
          })
          return
        }
        const target = (await head()).timestamp + seconds
        emit('time', 'chain', `waiting ${seconds} s of chain time (${why})`, { seconds: seconds.toString() })
        while ((await head()).timestamp < target) {
          if (aborted()) throw new ChanvmError('CONFIG', 'aborted')
          await sleep(2_000)
        }
      },
      async waitForChainTime(timestamp) {
        while ((await head()).timestamp < timestamp) {
          if (aborted()) throw new ChanvmError('CONFIG', 'aborted')
          if (env.embeddedChain) await rpc(env.rpcUrl, 'evm_mine', [])
          else await sleep(1_000)
          if (env.embeddedChain && (await head()).timestamp < timestamp) await sleep(250)
        }
      },
      async advanceBlocks(blocks, why) {
        if (env.embeddedChain) {
          await rpc(env.rpcUrl, 'anvil_mine', [`0x${blocks.toString(16)}`, '0x1'])
          emit('blocks', 'chain', `embedded chain: ${why}, mined ${blocks} blocks`, {
            blocks: blocks.toString(),
          })
          return
        }
        const target = (await head()).blockNumber + blocks
        emit('blocks', 'chain', `waiting for ${blocks} blocks (${why})`, { blocks: blocks.toString() })
        while ((await head()).blockNumber < target) {
          if (aborted()) throw new ChanvmError('CONFIG', 'aborted')
          await sleep(2_000)
        }
      },
      async withdrawAll() {
        const { nodes: ns } = need()
        const payouts: DemoPayout[] = []
        for (const i of [0, 1] as const) {
          const credit = await getWithdrawable(ns[i].chain, addresses[i])
          if (credit === 0n) {
            payouts.push({ role: roles[i], address: addresses[i], withdrawn: 0n })
            emit('withdrawn', roles[i], `${roles[i]} has nothing to withdraw`, { amount: '0' })
            continue
          }
          const w = await withdraw(ns[i].chain)
          logTx('withdraw', roles[i], w)
          payouts.push({ role: roles[i], address: addresses[i], withdrawn: w.amount })
          emit(
            'withdrawn',
            roles[i],
            `${roles[i]} withdraws ${eth(w.amount)} (${w.amount} wei, ${w.gasUsed} gas)`,
            { amount: w.amount.toString(), gasUsed: w.gasUsed.toString() },
          )
        }
        return payouts
      },
      finish({ outcome, expectedOutcome, payouts, expectedPayouts }) {
        const { channelId: id } = need()
        const payoutsMatch =
          payouts.every((p) => expectedPayouts[p.role] === p.withdrawn) &&
          Object.keys(expectedPayouts).length === payouts.length
        const total = txs.reduce((a, t) => a + t.gasUsed, 0n)
        return {
          deal,
          path: forced > 0 ? 'forced' : 'cooperative',
          outcome,
          expectedOutcome,
          ok: outcome === expectedOutcome && payoutsMatch,
          channelId: id,
          chainId: deployed.chainId,
          adjudicator: deployed.adjudicator,
          app: deployed.app,
          payouts,
          expectedPayouts,
          gas: { total, deployment: deployed.gasUsed, transactions: [...txs] },
          coSignedStates: coSigned,
          forcedSteps: forced,
          steps: [...steps],
        }
      },
      close: () => env.close(),
    }
    return run
  } catch (e) {
    await env.close()
    throw e
  }
}
