// The entry of a demo party's own process (forked by startDemoNode through demoNode.mjs): the
// node daemon of one party. The first IPC message is its DemoNodeInit; it answers with the API's
// URL, then runs until it is told to stop or its parent goes away, and exits with the daemon's code.
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
  void (served?.stop() ?? Promise.resolve(0)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  )
}

process.once('message', (raw) => {
  serveDemoNode(raw as DemoNodeInit).then(
    (s) => {
      served = s
      send({ type: 'ready', address: s.address, url: s.url, pid: process.pid })
      process.on('message', (m) => {
        if ((m as { type?: string }).type === 'stop') stop()
      })
      if (!process.connected) stop()
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
// The parent went away (crash, Ctrl-C): the daemon stops as on SIGTERM.
process.on('disconnect', stop)
process.on('SIGINT', () => undefined) // the parent decides when this node stops
