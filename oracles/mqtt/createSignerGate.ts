import type { InputValidator } from './createInputValidator.ts'

/** The signer a topic names (`chanvm/v1/devices/{id}/readings`, `chanvm/v1/oracles/{id}/answers`). */
const SIGNER_TOPIC = /^chanvm\/v1\/(devices|oracles)\/(0x[0-9a-f]{64})\/(readings|answers)$/

function allowList(list: readonly string[] | 'any' | undefined): Set<string> | 'any' {
  return list === 'any' ? 'any' : new Set((list ?? []).map((s) => s.toLowerCase()))
}

/**
 * The allow lists as the validator holds them, so that an input source spends no rate token on a
 * signer the validator refuses anyway: `validator` is `raw` whose `allow` also adds to them, and
 * `limitedSigner` is the allowed signer a topic names, whose buckets pay for checking the message,
 * or undefined for a topic naming no allowed signer (refused cheaply by the allow list, no bucket
 * spent).
 *
 * @example
 * ```ts
 * const { validator, limitedSigner } = createSignerGate(rawValidator, { devices: [deviceId] })
 * limitedSigner(readingTopic(deviceId)) // deviceId
 * ```
 */
export function createSignerGate(
  raw: InputValidator,
  lists: { devices?: readonly string[] | 'any'; oracles?: readonly string[] | 'any' },
): { validator: InputValidator; limitedSigner(topic: string): string | undefined } {
  const allowed = { device: allowList(lists.devices), oracle: allowList(lists.oracles) }
  const validator: InputValidator = {
    ...raw,
    allow(role, signer) {
      raw.allow(role, signer)
      const set = allowed[role]
      if (set !== 'any') set.add(signer.toLowerCase())
    },
  }
  const limitedSigner = (topic: string): string | undefined => {
    const m = SIGNER_TOPIC.exec(topic)
    if (m === null) return undefined
    const set = m[1] === 'devices' ? allowed.device : allowed.oracle
    const signer = m[2] as string
    return set !== 'any' && !set.has(signer) ? undefined : signer
  }
  return { validator, limitedSigner }
}
