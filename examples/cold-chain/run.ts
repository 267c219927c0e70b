// Cold-chain insurance: the owner pays premiums in a channel; a thermometer (P-256 key, like a
// secure element) signs temperature readings and publishes them over MQTT; three readings in a
// row out of 2–8 °C pay the insured sum.
//
//   npx tsx examples/cold-chain/run.ts            the insurer co-signs the payout
//   npx tsx examples/cold-chain/run.ts --refuse   the insurer refuses; the owner forces it on chain
//
// runColdChainDemo runs each party as a chanvm node (createNode behind its HTTP API, in a
// process of its own) and drives the nodes through cli/apiClient.ts (apps/coldChain/runColdChainDemo.ts is
// the code to read); here on a local anvil and an embedded broker. Pass { rpcUrl, brokerUrl, keys }
// to use your own.
import { formatEther } from 'viem'
import { runColdChainDemo } from '../../apps/coldChain/runColdChainDemo.ts'

const summary = await runColdChainDemo({
  refuse: process.argv.includes('--refuse'),
  onEvent: (e) => console.log(`${e.actor.padEnd(11)} ${e.text}`),
})
for (const p of summary.payouts) console.log(`${p.role} withdrew ${formatEther(p.withdrawn)} ETH`)
console.log(`outcome ${summary.outcome} (${summary.path}), ${summary.gas.total} gas`)
process.exitCode = summary.ok ? 0 : 1
