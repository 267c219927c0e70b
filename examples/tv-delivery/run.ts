// The TV purchase: the buyer pays through a channel, three oracles are asked over MQTT whether the
// parcel arrived, and a quorum of 2 signed "delivered" answers lets the seller claim.
//
//   npx tsx examples/tv-delivery/run.ts             2 of 3 oracles answer: the seller is paid
//   npx tsx examples/tv-delivery/run.ts --answers 1 only 1 answers: the buyer is refunded after the deadline block
//   npx tsx examples/tv-delivery/run.ts --refuse    the losing side refuses to sign; the other goes to chain
//
// runTvDeliveryDemo runs each party as a chanvm node (createNode behind its HTTP API, in a
// process of its own) and drives the nodes through cli/apiClient.ts (apps/tvDelivery/runTvDeliveryDemo.ts is
// the code to read); here on a local anvil and an embedded broker. Pass { rpcUrl, brokerUrl, keys }
// to use your own.
import { formatEther } from 'viem'
import { runTvDeliveryDemo } from '../../apps/tvDelivery/runTvDeliveryDemo.ts'

const answersArg = process.argv.indexOf('--answers')
const answers = answersArg >= 0 ? Number(process.argv[answersArg + 1]) : 2
const summary = await runTvDeliveryDemo({
  answers,
  refuse: process.argv.includes('--refuse'),
  onEvent: (e) => console.log(`${e.actor.padEnd(10)} ${e.text}`),
})
for (const p of summary.payouts) console.log(`${p.role} withdrew ${formatEther(p.withdrawn)} ETH`)
console.log(`outcome ${summary.outcome} (${summary.path}), ${summary.gas.total} gas`)
process.exitCode = summary.ok ? 0 : 1
