import { createServer, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import { ChanvmError } from '../../engine/errors.ts'

/** An MQTT broker running inside this process. */
export type EmbeddedBroker = {
  /** `mqtt://127.0.0.1:<port>`. */
  url: string
  port: number
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>
}

/** Whether the embedded broker accepts a publish on `topic`: no empty level, no `$` prefix. */
function isPublishableTopic(topic: string): boolean {
  return topic.length > 0 && !topic.startsWith('$') && !topic.split('/').includes('')
}

/**
 * Starts an in-process MQTT 3.1.1 broker (aedes) on a loopback port: the embedded default when no
 * broker URL is configured. Port 0 (the default) lets the OS pick a free one. A publish on a topic
 * with an empty level (`chanvm/v1/devices//readings`) or a `$` prefix is refused and its publisher
 * disconnected: no chanvm topic has one, and aedes let such a publish break a subscriber's
 * persistent session.
 *
 * @example
 * ```ts
 * const broker = await startEmbeddedBroker()
 * const source = await createMqttInputSource({ url: broker.url, chainId: 31337n, devices: 'any' })
 * await source.close(); await broker.close()
 * ```
 */
export async function startEmbeddedBroker(
  options: { port?: number; host?: string } = {},
): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const aedes = await Aedes.createBroker()
  // aedes matches `+` against an empty level, and a publish on such a topic made its in-memory
  // persistence fail ("no such packet") and close the subscriber's persistent session. No chanvm
  // topic has an empty level or starts with `$`: such a publish is refused, which closes the
  // publisher's connection (MQTT 3.1.1 has no negative PUBACK).
  aedes.authorizePublish = (_client, packet, callback) => {
    callback(
      isPublishableTopic(packet.topic) ? null : new Error(`topic refused: ${packet.topic.slice(0, 200)}`),
    )
  }
  const sockets = new Set<Socket>()
  // No Nagle delay on the broker's side either: a forwarded message must not wait for an ACK.
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new ChanvmError('CONFIG', `embedded MQTT broker cannot listen on ${host}:${options.port ?? 0}`, {
          cause: e,
        }),
      ),
    )
    server.listen(options.port ?? 0, host, () => resolve())
  }).catch(async (e: unknown) => {
    await new Promise<void>((r) => aedes.close(() => r()))
    throw e
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  let closing: Promise<void> | undefined
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()))
        for (const s of sockets) s.destroy()
        await stopped
        await new Promise<void>((r) => aedes.close(() => r()))
      })()
      return closing
    },
  }
}
