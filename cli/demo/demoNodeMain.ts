// The entry of a demo party's own process (forked by startDemoNode through demoNode.mjs): one
// chanvm node with its HTTP API. The first IPC message is its DemoNodeInit; it answers with the
// API's URL, then forwards the node's events and refusals until it is told to stop or its parent
// goes away (advanced serialization: bigints pass as they are).
import { ChanvmError } from '../../engine/errors.ts'
import type { DemoNodeMessage } from './startDemoNode.ts'
import { serveDemoNode, type DemoNodeInit, type ServedDemoNode } from './serveDemoNode.ts'

const send = (m: DemoNodeMessage): void => {
  if (process.connected) process.send?.(m)
}
let served: ServedDemoNode | undefined
let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  void (served?.close() ?? Promise.resolve()).finally(() => process.exit(0))
}

process.once('message', (raw) => {
  const init = raw as DemoNodeInit
  serveDemoNode(init, {
    onEvent: (event) => send({ type: 'event', event }),
    onRefused: (version, reason) => send({ type: 'refused', version, reason }),
  }).then(
    (s) => {
      served = s
      send({ type: 'ready', address: s.address, url: s.url, pid: process.pid })
      process.on('message', (m) => {
        if ((m as { type?: string }).type === 'stop') stop()
      })
    },
    (e: unknown) => {
      send({
        type: 'failed',
        code: e instanceof ChanvmError ? e.code : 'CONFIG',
        message: e instanceof Error ? e.message : String(e),
      })
      process.exit(3)
    },
  )
})
// The parent went away (crash, Ctrl-C): close the database and the MQTT links, then exit.
process.on('disconnect', stop)
process.on('SIGINT', () => undefined) // the parent decides when this node stops
