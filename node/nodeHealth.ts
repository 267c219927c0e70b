// A node's readiness: the broker as the transport reports it, the chain as a bounded probe finds
// it, and the head clock off-chain steps take their Env from.
import { ChanvmError } from '../engine/errors.ts'
import type { Env } from '../engine/channel/types.ts'
import type { MqttTransport } from '../oracles/mqtt/createMqttTransport.ts'
import { createHeadClock } from './createHeadClock.ts'
import type { NodeContext } from './nodeContext.ts'
import type { ChannelSummary, ComponentHealth, NodeHealth } from './types.ts'

/** What {@link startHealth} needs from the node. */
export type NodeHealthContext = Pick<
  NodeContext,
  | 'client'
  | 'rpcUrl'
  | 'brokerUrl'
  | 'clientId'
  | 'chainTimeoutMs'
  | 'pollingIntervalMs'
  | 'transport'
  | 'log'
  | 'isClosing'
  | 'fatal'
  | 'closers'
> & {
  /** True once the node met a fatal error. */
  isFailed: () => boolean
}

/**
 * Starts following the broker's status and probing the chain (one probe before it returns); the
 * probe's timer is cleared by a closer pushed on `ctx.closers`, and by the node's `close`.
 */
export async function startHealth(ctx: NodeHealthContext) {
  const { client, rpcUrl, brokerUrl, clientId, chainTimeoutMs, pollingIntervalMs, transport, log } = ctx
  const { isClosing, isFailed, fatal, closers } = ctx
  const startedAt = Date.now()
  const brokerHealth: ComponentHealth = { up: true, url: brokerUrl, since: startedAt }
  const chainHealth: NodeHealth['chain'] = { up: true, url: rpcUrl, since: startedAt }
  const setUp = (h: ComponentHealth, up: boolean, error?: string) => {
    if (up) delete h.error
    else if (error !== undefined) h.error = error
    if (h.up === up) return false
    h.up = up
    h.since = Date.now()
    return true
  }
  const statusSource = (transport as Partial<MqttTransport>).onStatus?.bind(transport)
  statusSource?.((status) => {
    if (isClosing()) return
    if (status === 'taken-over') {
      setUp(brokerHealth, false, `client id ${clientId} taken over by another client`)
      fatal(
        new ChanvmError(
          'CLIENT_ID_TAKEN_OVER',
          `another client took over the MQTT client id ${clientId} on ${brokerUrl}: is a second node running with this key?`,
        ),
      )
    } else if (status === 'offline') {
      if (setUp(brokerHealth, false, 'connection lost'))
        log('warn', `the MQTT broker ${brokerUrl} is unreachable`, { url: brokerUrl, clientId })
    } else if (setUp(brokerHealth, true)) {
      log('info', `the MQTT broker ${brokerUrl} is reachable again`, { url: brokerUrl, clientId })
    }
  })
  /** `p`, or a `CHAIN_TIMEOUT` error once the chain has not answered within its bound. */
  const chainCall = async <T>(p: Promise<T>, what: string, ms = chainTimeoutMs): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ChanvmError('CHAIN_TIMEOUT', `${rpcUrl} did not answer ${what} within ${ms} ms`)),
        ms,
      )
    })
    try {
      return await Promise.race([p, late])
    } finally {
      clearTimeout(timer)
    }
  }
  /** The latest block, number and timestamp: the one read the probe and the head clock make. */
  const readHead = async (): Promise<Env> => {
    const b = await chainCall(client.publicClient.getBlock({ blockTag: 'latest' }), 'eth_getBlockByNumber')
    return { blockNumber: b.number, timestamp: b.timestamp }
  }
  // Off-chain steps take their Env from the head the probe follows, not from a read of their own.
  const head = createHeadClock({ readHead, maxAgeMs: 2 * Math.max(250, pollingIntervalMs) })
  let probing = false
  const probeChain = async () => {
    if (probing || isClosing()) return
    probing = true
    try {
      const latest = await readHead()
      head.see(latest)
      chainHealth.head = { blockNumber: latest.blockNumber, seenAt: Date.now() }
      if (setUp(chainHealth, true)) log('info', `the chain ${rpcUrl} answers again`, { url: rpcUrl })
    } catch (e) {
      const why = e instanceof ChanvmError ? e.shortMessage : (e as Error).message
      if (setUp(chainHealth, false, why))
        log('error', `the chain ${rpcUrl} does not answer: ${why}`, { url: rpcUrl })
    } finally {
      probing = false
    }
  }
  const probeTimer = setInterval(() => void probeChain(), Math.max(250, pollingIntervalMs))
  probeTimer.unref()
  closers.push(async () => clearInterval(probeTimer))
  await probeChain()
  const chainView = (reachable: boolean): ChannelSummary['chainView'] =>
    chainHealth.head === undefined
      ? undefined
      : {
          blockNumber: chainHealth.head.blockNumber,
          ageMs: Math.max(0, Date.now() - chainHealth.head.seenAt),
          reachable,
        }
  /** The node's `health()`: ready while it is neither closing nor failed and both parts are up. */
  const health = (): NodeHealth => {
    return {
      ready: !isClosing() && !isFailed() && brokerHealth.up && chainHealth.up,
      broker: { ...brokerHealth },
      chain: {
        ...chainHealth,
        ...(chainHealth.head === undefined ? {} : { head: { ...chainHealth.head } }),
      },
    }
  }
  return {
    health,
    brokerHealth,
    chainHealth,
    setUp,
    statusSource,
    chainCall,
    readHead,
    head,
    probeTimer,
    chainView,
  }
}
