import mqtt from 'mqtt'
import type { VerifiedInput } from '../../engine/inputs/types.ts'
import {
  createMqttInputSource,
  type MqttInputSource,
  type MqttInputSourceOptions,
} from '../../oracles/mqtt/createMqttInputSource.ts'
import { startAedes, type TestBroker } from './brokers.ts'
import { CHAIN, NOW_MS, knownDevices } from './hostile.ts'

/**
 * An input source on `url` that admits the two known devices of hostile.ts on the test chain, with
 * its clock held at NOW_MS, a clean session and no log lines; `options` add to or replace these.
 */
export function knownDeviceSource(
  url: string,
  options: Partial<Omit<MqttInputSourceOptions, 'url'>> = {},
): Promise<MqttInputSource> {
  return createMqttInputSource({
    url,
    clean: true,
    chainId: CHAIN,
    devices: knownDevices,
    now: () => NOW_MS,
    log: false,
    ...options,
  })
}

/** An embedded broker and a {@link knownDeviceSource} on it. */
export async function startKnownDeviceSource(
  options: Partial<Omit<MqttInputSourceOptions, 'url'>> = {},
): Promise<{ broker: TestBroker; source: MqttInputSource }> {
  const broker = await startAedes()
  try {
    return { broker, source: await knownDeviceSource(broker.url, options) }
  } catch (e) {
    await broker.stop()
    throw e
  }
}

/** A plain MQTT client of `url` that does not reconnect (a publisher or subscriber of a test). */
export function connectClient(url: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0 })
}

/** What `source` hands over, in order, and a wait until it has handed over enough. */
export function collectInputs(source: Pick<MqttInputSource, 'onInput'>): {
  delivered: VerifiedInput[]
  /** Resolves once `n` inputs were handed over; rejects after `timeoutMs` with `describe()` as the message. */
  until(n: number, timeoutMs: number, describe: () => string): Promise<void>
} {
  const delivered: VerifiedInput[] = []
  const listeners = new Set<() => void>()
  source.onInput((input) => {
    delivered.push(input)
    for (const l of listeners) l()
  })
  return {
    delivered,
    until: (n, timeoutMs, describe) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (delivered.length < n) return
          clearTimeout(timer)
          listeners.delete(check)
          resolve()
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(describe()))
        }, timeoutMs)
        listeners.add(check)
        check()
      }),
  }
}

/**
 * An input source on the test chain that admits any device, with its clock held at NOW_MS and no
 * log lines; `options` add to or replace these (with no `url` it runs its own embedded broker).
 */
export function anyDeviceSource(options: Partial<MqttInputSourceOptions> = {}): Promise<MqttInputSource> {
  return createMqttInputSource({ chainId: CHAIN, devices: 'any', now: () => NOW_MS, log: false, ...options })
}
