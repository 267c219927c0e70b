import type { Hex } from 'viem'

/**
 * The topic device `device` publishes its readings to: `chanvm/v1/devices/{device}/readings`, with
 * the device's bytes32 signer id in lower-case `0x` hex.
 *
 * @example
 * ```ts
 * readingTopic(getSignerId(key)) // 'chanvm/v1/devices/0x…/readings'
 * ```
 */
export function readingTopic(device: Hex): string {
  return `chanvm/v1/devices/${device.toLowerCase()}/readings`
}
