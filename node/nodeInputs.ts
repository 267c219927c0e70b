// A node's input sources: one per `config.inputs` entry, whose verified readings and answers go
// into the input book (for `claim` and `report`), the counters and the node's events.
import { join } from 'node:path'
import { createMqttInputSource, type MqttInputSource } from '../oracles/mqtt/createMqttInputSource.ts'
import type { NodeContext } from './nodeContext.ts'

/** What {@link startInputSources} needs from the node. */
export type NodeInputsContext = Pick<
  NodeContext,
  'config' | 'chainId' | 'clientId' | 'broker' | 'book' | 'counters' | 'bump' | 'emit' | 'closers'
>

/** Starts the input sources (a closer for each pushed on `ctx.closers`). */
export async function startInputSources(ctx: NodeInputsContext): Promise<MqttInputSource[]> {
  const { config, chainId, clientId, broker, book, counters, bump, emit, closers } = ctx
  const sources: MqttInputSource[] = []
  for (const [i, input] of (config.inputs ?? []).entries()) {
    const source = await createMqttInputSource({
      url: config.broker.url,
      chainId: BigInt(chainId),
      topics: [input.topic],
      devices: input.signers,
      oracles: input.signers,
      clientId: `${clientId}-inputs-${i}`,
      // Durable replay marks: after a crash, a reading kept in the book before the kill is a
      // duplicate, not a second reading; the book itself is keyed by (signer, sequence).
      replayFile: join(config.dataDir, `inputs-replay-${i}.db`),
      log: false,
      ...(input.verifyThreads === undefined ? {} : { verifyThreads: input.verifyThreads }),
      ...broker,
    })
    closers.push(() => source.close())
    sources.push(source)
    source.onInput((v) => {
      book.add(v)
      bump(counters.readings, 'accepted')
      emit({
        source: 'input',
        verdict: 'accepted',
        signer: v.signer,
        topic: v.topic,
        kind: v.kind,
        curve: v.curve,
        ...(v.publicKey === undefined ? {} : { publicKey: v.publicKey }),
        message: v.message,
      })
    })
    source.onRejection((r) => {
      bump(counters.readings, r.verdict ?? r.reason)
      emit({ source: 'input', verdict: r.verdict ?? r.reason, topic: r.topic, detail: r.detail })
    })
  }
  return sources
}
