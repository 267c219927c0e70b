import { join } from 'node:path'
import { createPublicClient, formatEther, http, type Address, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { resolve } from 'node:path'
import { createAppRegistry } from '../../apps/module/createAppRegistry.ts'
import type { AppModule } from '../../apps/types.ts'
import { deployContracts } from '../../engine/chain/deployContracts.ts'
import type { ChannelParams } from '../../engine/channel/types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { requestToChannel } from '../../node/requestToChannel.ts'
import type { AppAction, DisputePlan, NodeConfig, OpenRequest } from '../../node/types.ts'
import { ApiError } from '../apiClient.ts'
import type { DemoNodeEvent } from './readNodeEvents.ts'
import type { RefusalPolicy } from './refusalPolicy.ts'
import { startDemoEnvironment, type DemoEnvironment } from './startDemoEnvironment.ts'
import { startDemoNode, type DemoNodeHandle } from './startDemoNode.ts'
import type { DemoEvent, DemoGas, DemoOptions, DemoPayout, DemoSummary } from './types.ts'

/** What a step through the node's API came to: co-signed with its new state, or not, and why. */
export type DemoMove =
  | { ok: true; version: bigint; balances: bigint[]; isFinal: boolean }
  | { ok: false; reason: string; message: string }

/** A demo in progress: the environment, the two parties' nodes, the channel and the log. */
export type DemoRun = {
  readonly env: DemoEnvironment
  readonly adjudicator: Address
  readonly app: Address
  readonly chainId: number
  /** The two parties' addresses, in participant order. */
  readonly addresses: readonly [Address, Address]
  emit(kind: string, actor: string, text: string, data?: DemoEvent['data']): void
  /** The chain head. */
  head(): Promise<{ blockNumber: bigint; timestamp: bigint }>
  /** Listens to the events of participant `who`'s node (inputs it verified, steps, transactions). */
  onNodeEvent(who: 0 | 1, listener: (event: DemoNodeEvent) => void): void
  /**
   * Starts each party's node (its own process unless `partyProcesses` is false) with its
   * configured input sources and refusal policy, and opens the channel through both nodes' APIs:
   * version 0 co-signed over the broker, each opening balance deposited by its node.
   */
  open(args: {
    terms: OpenRequest['terms']
    balances: readonly [bigint, bigint]
    refuse?: Partial<Record<0 | 1, RefusalPolicy>>
    inputs?: Partial<Record<0 | 1, NonNullable<NodeConfig['inputs']>>>
  }): Promise<{ params: ChannelParams; channelId: Hex }>
  /** One off-chain step: `action` sent to participant `mover`'s node, co-signed by the other; logs it. */
  move(mover: 0 | 1, action: AppAction, label: string): Promise<DemoMove>
  /** Participant `by`'s node concludes with the co-signed final state (its dispute step `conclude-final`). */
  settle(by: 0 | 1): Promise<void>
  /**
   * Participant `mover`'s node forces its refused step on chain (dispute step `force`), the
   * challenge period passes (time travel on the embedded chain) and the node concludes.
   */
  force(mover: 0 | 1, label: string): Promise<void>
  /** Moves the chain's clock forward by `seconds` (embedded chain) or waits for it (external chain). */
  advanceTime(seconds: bigint, why: string): Promise<void>
  /** Returns once the chain head's timestamp is at least `timestamp` (mining a block on the embedded chain). */
  waitForChainTime(timestamp: bigint): Promise<void>
  /** Mines `blocks` blocks (embedded chain) or waits for them (external chain). */
  advanceBlocks(blocks: bigint, why: string): Promise<void>
  /** Each node withdraws its credit (dispute step `withdraw`); returns what each got. */
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

/** The names the summary gives the node's chain steps. */
const TX_NAMES: Record<string, string> = {
  force: 'forceProgress',
  'conclude-final': 'concludeFinal',
}

/** The app a demo runs: a module of the node's registry, and for a user's app the manifest its nodes load. */
export type DemoApp = {
  /** The app module: its name, roles and artifact (deployed by the run, checked against the code hash the nodes run). */
  app: AppModule
  /**
   * A user's app: the path of its manifest (what `loadAppModule` read `app` from). Each node's
   * configuration then lists it in `apps`, as a user's node configuration does; a built-in app
   * needs none.
   */
  manifest?: string
}

/**
 * Starts a demo run: the environment (anvil and the embedded broker unless URLs are given), a fresh
 * Adjudicator and the app's contract, and the event log. The parties are chanvm nodes (createNode
 * behind the HTTP API `chanvm node` serves) that the run drives through `cli/apiClient.ts`, named
 * by the app's roles; each app's demo (the `demo.ts` of its folder) composes the run's steps, each
 * reported through `options.onEvent` as it happens.
 *
 * @example
 * ```ts
 * const run = await createDemoRun({ app: appModule }, {})
 * try { await run.open({ terms: { arbiter }, balances: [10n ** 18n, 0n] }) } finally { await run.close() }
 * ```
 */
export async function createDemoRun(spec: DemoApp, options: DemoOptions): Promise<DemoRun> {
  const started = Date.now()
  const steps: DemoEvent[] = []
  const txs: (DemoGas & { seen: number })[] = []
  const roles = spec.app.roles
  const appName = spec.app.name
  const artifact = spec.app.artifact
  const manifest = spec.manifest === undefined ? undefined : resolve(spec.manifest)
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
      apps: [artifact],
    })
    const appDeployed = deployment.apps[artifact.contractName]
    if (appDeployed === undefined)
      throw new ChanvmError('CHAIN_ERROR', `${artifact.contractName} was not deployed`)
    const codeHash = artifact.codeHash
    if (appDeployed.codeHash.toLowerCase() !== codeHash.toLowerCase()) {
      throw new ChanvmError(
        'APP_CODE_MISMATCH',
        `the deployed ${artifact.contractName} has code hash ${appDeployed.codeHash}, the nodes run ${codeHash}`,
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
      `deployed Adjudicator at ${deployed.adjudicator} and ${artifact.contractName} at ${deployed.app} (${deployed.gasUsed} gas)`,
      {
        adjudicator: deployed.adjudicator,
        app: deployed.app,
        gasUsed: deployed.gasUsed.toString(),
      },
    )
    const keys = [env.keys[1], env.keys[2]] as const
    const addresses = [privateKeyToAddress(keys[0]), privateKeyToAddress(keys[1])] as const
    const challengeDuration = options.challengeDuration ?? 60n
    const publicClient = createPublicClient({ transport: http(env.rpcUrl) })
    const listeners: [((e: DemoNodeEvent) => void)[], ((e: DemoNodeEvent) => void)[]] = [[], []]
    let nodes: [DemoNodeHandle, DemoNodeHandle] | undefined
    let params: ChannelParams | undefined
    let channelId: Hex | undefined
    let balances: readonly [bigint, bigint] = [0n, 0n]
    let coSigned = 0
    let forced = 0
    let lastVersion = 0n
    let finished: DemoSummary | undefined

    const need = () => {
      if (nodes === undefined || params === undefined || channelId === undefined)
        throw new ChanvmError('INVALID_ARGUMENT', 'open the channel first')
      return { nodes, params, channelId }
    }
    const head = async () => {
      const block = await publicClient.getBlock({ blockTag: 'latest' })
      return { blockNumber: block.number, timestamp: block.timestamp }
    }
    /** What a node reports: its transactions go to the gas log, its deposits and refusals to the story. */
    const onNodeEvent = (i: 0 | 1, e: DemoNodeEvent) => {
      if (e.source === 'chain') {
        const action = TX_NAMES[e.step] ?? e.step
        txs.push({ action, by: roles[i], gasUsed: e.gasUsed, hash: e.hash, seen: 0 })
        if (e.step === 'deposit')
          emit(
            'deposit',
            roles[i],
            `${roles[i]}'s node deposits ${eth(balances[i])} into the Adjudicator (${e.gasUsed} gas)`,
            { amount: balances[i].toString(), gasUsed: e.gasUsed.toString() },
          )
      } else if (e.source === 'refused' && e.reason === 'refused') {
        emit('refused', roles[i], `${roles[i]} refuses to sign version ${e.version}: ${e.message}`, {
          version: e.version.toString(),
          reason: e.message,
        })
      } else if (e.source === 'input' && e.verdict !== 'accepted') {
        emit('input-rejected', roles[i], `${roles[i]}'s node rejected a message (${e.verdict})`, {
          reason: e.verdict,
        })
      }
      for (const l of listeners[i]) l(e)
    }
    /** The transaction `action` of participant `i`'s node, once its event arrived (the API answers first). */
    const txOf = async (i: 0 | 1, action: string): Promise<DemoGas> => {
      const until = Date.now() + 10_000
      for (;;) {
        const t = txs.find((x) => x.action === action && x.by === roles[i] && x.seen === 0)
        if (t !== undefined) {
          t.seen = 1
          return t
        }
        if (Date.now() > until)
          throw new ChanvmError('CHAIN_ERROR', `${roles[i]}'s node reported no ${action} transaction`)
        await sleep(20)
      }
    }
    /** Participant `i`'s dispute plan, then its next step taken when it is `step`. */
    const disputeStep = async (
      i: 0 | 1,
      step: string,
    ): Promise<{ before: DisputePlan; after: DisputePlan }> => {
      const { nodes: ns, channelId: id } = need()
      const before = await ns[i].api.getDispute(id)
      if (before.next.step !== step) {
        const why = 'reason' in before.next ? `: ${before.next.reason}` : ''
        throw new ChanvmError(
          'CHAIN_ERROR',
          `${roles[i]}'s node plans ${before.next.step} where the story needs ${step}${why}`,
          { channelId: id },
        )
      }
      return { before, after: await ns[i].api.postDispute(id) }
    }

    const run: DemoRun = {
      env,
      adjudicator: deployed.adjudicator,
      app: deployed.app,
      chainId: deployed.chainId,
      addresses,
      emit,
      head,
      onNodeEvent(who, listener) {
        listeners[who].push(listener)
      },
      async open(args) {
        balances = args.balances
        const nonce = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000))
        const separate = options.partyProcesses !== false
        const requests = ([0, 1] as const).map((i): OpenRequest => ({
          app: appName,
          counterparty: addresses[1 - i] as Address,
          role: i === 0 ? 'first' : 'second',
          balances: [args.balances[0], args.balances[1]],
          nonce,
          challengeDuration,
          terms: args.terms,
        }))
        const channel = requestToChannel(requests[0] as OpenRequest, {
          self: addresses[0],
          chainId: BigInt(deployed.chainId),
          adjudicator: deployed.adjudicator,
          apps: { [appName]: deployed.app },
          registry: createAppRegistry([spec.app]),
        })
        const made = await Promise.all(
          ([0, 1] as const).map(async (i) => {
            const refuse = args.refuse?.[i]
            const inputs = args.inputs?.[i]
            const config = {
              chain: {
                rpcUrl: env.rpcUrl,
                chainId: deployed.chainId,
                adjudicator: deployed.adjudicator,
                pollingIntervalMs: 250,
                apps: { [appName]: deployed.app },
              },
              broker: { url: env.brokerUrl, clientId: `chanvm-demo-${roles[i]}-${nonce}` },
              ...(manifest === undefined ? {} : { apps: [manifest] }),
              ...(inputs === undefined ? {} : { inputs }),
            }
            const node = await startDemoNode({
              role: roles[i],
              dir: join(env.dataDir, `${roles[i]}-${nonce}`),
              config,
              privateKey: keys[i],
              ...(refuse === undefined ? {} : { refuse }),
              // The embedded chain's dev keys guard nothing: a cheap keystore starts the node fast.
              ...(env.embeddedChain ? { scryptN: 1024 } : {}),
              separate,
              onEvent: (e) => onNodeEvent(i, e),
            })
            env.defer(() => node.close())
            return node
          }),
        )
        nodes = [made[0] as DemoNodeHandle, made[1] as DemoNodeHandle]
        const ns = nodes
        emit(
          'nodes',
          'broker',
          `${roles[0]} ${addresses[0]} and ${roles[1]} ${addresses[1]} run as chanvm nodes${separate ? ' in processes of their own' : ''} (own SQLite file, own MQTT connection, HTTP API at ${ns[0].api.url} and ${ns[1].api.url})`,
          {
            [roles[0]]: addresses[0],
            [roles[1]]: addresses[1],
            [`${roles[0]}.api`]: ns[0].api.url,
            [`${roles[1]}.api`]: ns[1].api.url,
          },
        )
        await Promise.all(([0, 1] as const).map((i) => ns[i].api.openChannel(requests[i] as OpenRequest)))
        params = channel.params
        channelId = channel.channelId
        coSigned++
        emit(
          'opened',
          'channel',
          `channel ${channelId} opened through both nodes' APIs: version 0 co-signed over MQTT, deposits confirmed on chain (challenge period ${challengeDuration} s)`,
          { channelId, challengeDuration: challengeDuration.toString() },
        )
        return { params: channel.params, channelId: channel.channelId }
      },
      async move(mover, action, label) {
        const { nodes: ns, channelId: id } = need()
        // The mover must hold the last co-signed state (it travels over the broker) before it builds on it.
        const until = Date.now() + 30_000
        while ((await ns[mover].api.getChannel(id)).version < lastVersion) {
          if (Date.now() > until)
            throw new ChanvmError('PEER_TIMEOUT', `${roles[mover]}'s node never saw version ${lastVersion}`)
          await sleep(50)
        }
        let r: DemoMove
        try {
          const a = await ns[mover].api.act(id, action)
          r = { ok: true, version: a.version ?? 0n, balances: a.balances ?? [], isFinal: a.isFinal ?? false }
        } catch (e) {
          // A refused or unanswered step comes back as an error carrying the node's result.
          if (!(e instanceof ApiError) || (e.details === undefined && e.status !== 504)) throw e
          r = { ok: false, reason: e.code, message: e.message }
        }
        if (r.ok) {
          coSigned++
          lastVersion = r.version
          const [b0 = 0n, b1 = 0n] = r.balances
          emit(
            'co-signed',
            roles[mover],
            `${label}: version ${r.version} co-signed [${roles[0]} ${eth(b0)}, ${roles[1]} ${eth(b1)}]${r.isFinal ? ' (final)' : ''}`,
            {
              label,
              version: r.version.toString(),
              isFinal: r.isFinal,
              [`balance.${roles[0]}`]: b0.toString(),
              [`balance.${roles[1]}`]: b1.toString(),
            },
          )
        } else {
          emit('not-signed', roles[mover], `${label}: not co-signed (${r.message})`, {
            label,
            reason: r.reason,
          })
        }
        return r
      },
      async settle(by) {
        const { before } = await disputeStep(by, 'conclude-final')
        const tx = await txOf(by, 'concludeFinal')
        emit(
          'concluded',
          roles[by],
          `${roles[by]}'s node concludes with the co-signed final state version ${before.ours.version}: payouts credited at once (${tx.gasUsed} gas)`,
          { version: before.ours.version.toString(), gasUsed: tx.gasUsed.toString() },
        )
      },
      async force(mover, label) {
        const { before, after } = await disputeStep(mover, 'force')
        const tx = await txOf(mover, 'forceProgress')
        forced++
        const held = after.held
        const [b0 = 0n, b1 = 0n] = held?.balances ?? []
        emit(
          'force-progress',
          roles[mover],
          `${roles[mover]}'s node force-progresses on chain from co-signed version ${before.ours.version}: ${label}; the Adjudicator ran the app and holds version ${held?.version ?? '?'} [${roles[0]} ${eth(b0)}, ${roles[1]} ${eth(b1)}] (${tx.gasUsed} gas)`,
          {
            label,
            version: (held?.version ?? 0n).toString(),
            gasUsed: tx.gasUsed.toString(),
            finalizesAt: (held?.finalizesAt ?? 0n).toString(),
          },
        )
        const { nodes: ns, channelId: id } = need()
        for (let round = 0; round < 10; round++) {
          const plan = await ns[mover].api.getDispute(id)
          if (plan.next.step === 'wait') {
            const now = plan.now ?? (await head()).timestamp
            await run.advanceTime(plan.next.until > now ? plan.next.until - now : 1n, 'challenge period')
            continue
          }
          if (plan.next.step !== 'conclude')
            throw new ChanvmError(
              'CHAIN_ERROR',
              `${roles[mover]}'s node plans ${plan.next.step}, not conclude`,
              {
                channelId: id,
              },
            )
          await disputeStep(mover, 'conclude')
          const c = await txOf(mover, 'conclude')
          emit(
            'concluded',
            roles[mover],
            `${roles[mover]}'s node concludes after the challenge period: the forced state pays out (${c.gasUsed} gas)`,
            { gasUsed: c.gasUsed.toString() },
          )
          return
        }
        throw new ChanvmError('CHAIN_ERROR', 'the challenge period did not end', { channelId: id })
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
        const { nodes: ns, channelId: id } = need()
        const payouts: DemoPayout[] = []
        for (const i of [0, 1] as const) {
          const plan = await ns[i].api.getDispute(id)
          if (plan.next.step !== 'withdraw') {
            payouts.push({ role: roles[i], address: addresses[i], withdrawn: 0n })
            emit('withdrawn', roles[i], `${roles[i]} has nothing to withdraw`, { amount: '0' })
            continue
          }
          const amount = plan.next.gainWei ?? 0n
          await disputeStep(i, 'withdraw')
          const w = await txOf(i, 'withdraw')
          payouts.push({ role: roles[i], address: addresses[i], withdrawn: amount })
          emit(
            'withdrawn',
            roles[i],
            `${roles[i]}'s node withdraws ${eth(amount)} (${amount} wei, ${w.gasUsed} gas)`,
            { amount: amount.toString(), gasUsed: w.gasUsed.toString() },
          )
        }
        return payouts
      },
      finish({ outcome, expectedOutcome, payouts, expectedPayouts }) {
        const { channelId: id } = need()
        const payoutsMatch =
          payouts.every((p) => expectedPayouts[p.role] === p.withdrawn) &&
          Object.keys(expectedPayouts).length === payouts.length
        const transactions = txs.map(({ action, by, gasUsed, hash }) => ({ action, by, gasUsed, hash }))
        const total = transactions.reduce((a, t) => a + t.gasUsed, 0n)
        finished = {
          deal: appName,
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
          gas: { total, deployment: deployed.gasUsed, transactions },
          coSignedStates: coSigned,
          forcedSteps: forced,
          steps: [...steps],
        }
        return finished
      },
      async close() {
        if (options.keepOpen !== undefined && nodes !== undefined && !aborted()) {
          const pages = nodes.map((n) => ({ role: n.role, address: n.address, url: `${n.api.url}/` }))
          await options.keepOpen(pages, finished).catch(() => undefined)
        }
        await env.close()
      },
    }
    return run
  } catch (e) {
    await env.close()
    throw e
  }
}
