// The entry of a party's own process (forked by startPartyProcess through partyNode.mjs). It runs
// one party node (SQLite file, sandbox, MQTT connection) and answers the orchestrator's requests
// over the IPC channel (advanced serialization: bigints pass as they are).
import { ChanvmError } from '../../engine/errors.ts'
import type { DemoNode } from './createDemoNode.ts'
import type { PartyNodeReply, PartyNodeRequest } from './partyNodeProtocol.ts'
import { startPartyNode } from './startPartyNode.ts'

const send = (m: PartyNodeReply): void => {
  process.send?.(m)
}

let node: DemoNode | undefined

async function handle(req: PartyNodeRequest): Promise<unknown> {
  if (req.method === 'init') {
    node = await startPartyNode(req.args, (version, reason) => send({ event: 'refused', version, reason }))
    return node.address
  }
  if (node === undefined) throw new ChanvmError('CONFIG', 'the party node is not initialised')
  switch (req.method) {
    case 'open':
      return node.party.open(req.args.params, req.args.initial)
    case 'confirmFunding':
      return node.party.confirmFunding(req.args.channelId, req.args.deposited)
    case 'update':
      return node.party.update(req.args.channelId, req.args.action)
    case 'latest':
      return node.party.latest(req.args.channelId)
    case 'waitForVersion':
      return node.party.waitForVersion(req.args.channelId, req.args.version, req.args.timeoutMs)
    case 'close':
      await node.close()
      node = undefined
      return null
  }
}

process.on('message', (raw) => {
  const req = raw as PartyNodeRequest
  handle(req).then(
    (result) => {
      send({ id: req.id, ok: true, result })
      if (req.method === 'close') process.disconnect?.()
    },
    (e: unknown) =>
      send({
        id: req.id,
        ok: false,
        error: { message: (e as Error).message, code: e instanceof ChanvmError ? e.code : 'ERROR' },
      }),
  )
})
// The orchestrator went away (crash, Ctrl-C): stop too, closing the database and the MQTT link.
process.on('disconnect', () => {
  void (node?.close() ?? Promise.resolve()).finally(() => process.exit(0))
})
process.on('SIGINT', () => undefined) // the orchestrator decides when this node stops
