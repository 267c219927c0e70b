import type { Hex } from 'viem'

/**
 * The topic oracle `oracle` publishes its answers to: `chanvm/v1/oracles/{oracle}/answers`, with
 * the oracle's bytes32 signer id in lower-case `0x` hex.
 *
 * @example
 * ```ts
 * answerTopic(getSignerId(key)) // 'chanvm/v1/oracles/0x…/answers'
 * ```
 */
export function answerTopic(oracle: Hex): string {
  return `chanvm/v1/oracles/${oracle.toLowerCase()}/answers`
}
