import type { ChannelParams, State } from '../engine/channel/types.ts'
import { BUILT_IN_REGISTRY } from '../apps/builtInRegistry.ts'

/** A channel as an open request describes it or as this node holds it. */
export type OpenedChannel = { params: ChannelParams; initial?: State | undefined }

/**
 * What differs between the channel an open request asks for and one this node already holds for
 * the same counterparty and nonce: one line per field (`balances: held [1, 0], requested [2, 0]`),
 * empty when the request is the same one again. Pure. The initial state is compared only when the
 * node holds one (it signed version 0 or holds it co-signed).
 *
 * @example
 * ```ts
 * const lines = openRequestDifferences(held, requested) // ['terms: the initial app data differs']
 * ```
 */
export function openRequestDifferences(held: OpenedChannel, requested: OpenedChannel): string[] {
  const out: string[] = []
  const differ = (field: string, a: unknown, b: unknown) => {
    if (String(a) !== String(b)) out.push(`${field}: held ${String(a)}, requested ${String(b)}`)
  }
  const hp = held.params
  const rp = requested.params
  const appOf = (p: ChannelParams) => BUILT_IN_REGISTRY.byCodeHash(p.appCodeHash)?.name ?? p.appCodeHash
  differ('app', appOf(hp), appOf(rp))
  differ('app contract', hp.app.toLowerCase(), rp.app.toLowerCase())
  differ('chain', hp.chainId, rp.chainId)
  differ('adjudicator', hp.adjudicator.toLowerCase(), rp.adjudicator.toLowerCase())
  const order = (p: ChannelParams) => p.participants.map((a) => a.toLowerCase()).join(', ')
  if (order(hp) !== order(rp)) out.push(`role: held participants [${order(hp)}], requested [${order(rp)}]`)
  differ('challengeDuration', hp.challengeDuration, rp.challengeDuration)
  const hi = held.initial
  const ri = requested.initial
  if (hi !== undefined && ri !== undefined) {
    const list = (b: readonly bigint[]) => `[${b.join(', ')}]`
    if (list(hi.balances) !== list(ri.balances))
      out.push(`balances: held ${list(hi.balances)}, requested ${list(ri.balances)}`)
    if (hi.appData.toLowerCase() !== ri.appData.toLowerCase())
      out.push('terms: the initial app data the terms make differs from the one held')
  }
  return out
}
