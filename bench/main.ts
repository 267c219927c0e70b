/**
 * `npm run bench [-- --json] [-- --only protocol,gas,oracles,apps,node,channels,deals]`: speed and gas figures
 * (`--help` prints the parts and options; an unknown part or option exits 2 before anything runs).
 * `node` takes `--node-steps N` (default 1000), `--node-warmup N` (steps before each measure, default
 * 2000), `--node-channels N` (default 1000),
 * `--node-parallel N[,N...]` (channels driven at once, each width measured in turn, default 8,32) and `--broker aedes|mosquitto` (default:
 * Mosquitto when installed, as a site runs it, else the embedded aedes). `channels` takes `--many-channels N` (default 10000): two nodes holding N open channels.
 * Progress goes to stderr; with --json, stdout gets exactly one JSON object.
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'

const knownParts = ['protocol', 'gas', 'oracles', 'apps', 'node', 'channels', 'deals']
const usage = `usage: npm run bench [-- --json] [-- --only PART,...] [-- options]
parts: ${knownParts.join(', ')} (all when --only is absent)
options: --steps N (protocol), --node-steps N, --node-warmup N, --node-channels N, --node-parallel N[,N...],
         --broker aedes|mosquitto (node),
         --many-channels N (channels)`

let parsed: ReturnType<typeof parseOptions>
try {
  parsed = parseOptions()
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n${usage}\n`)
  process.exit(2)
}
if (parsed.values.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const { values } = parsed
const unknownParts = (values.only?.split(',') ?? []).filter((p) => !knownParts.includes(p))
const badCount = (
  ['steps', 'node-steps', 'node-warmup', 'node-channels', 'node-parallel', 'many-channels'] as const
).filter(
  (k) =>
    values[k] !== undefined && !(k === 'node-parallel' ? /^[1-9]\d*(,[1-9]\d*)*$/ : /^\d+$/).test(values[k]),
)
if (badCount.length > 0) {
  process.stderr.write(
    `bench: not a whole number: ${badCount.map((k) => `--${k} ${values[k]}${k === 'node-parallel' ? ' (whole numbers of at least 1, comma-separated)' : ''}`).join(', ')}\n${usage}\n`,
  )
  process.exit(2)
}
if (unknownParts.length > 0) {
  process.stderr.write(`bench: no such part: ${unknownParts.join(', ')}\n${usage}\n`)
  process.exit(2)
}

function parseOptions() {
  return parseArgs({
    options: {
      help: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      steps: { type: 'string' },
      'node-steps': { type: 'string' },
      'node-warmup': { type: 'string' },
      'node-channels': { type: 'string' },
      'node-parallel': { type: 'string' },
      'many-channels': { type: 'string' },
      broker: { type: 'string' },
    },
  })
}
const only = values.only?.split(',')
const want = (k: string) => only === undefined || only.includes(k)
const log = (s: string) => process.stderr.write(`${s}\n`)

const result: Record<string, unknown> = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  /** The machine's 1, 5 and 15 minute load averages when the run started (and `loadAvgEnd` when it ended). */
  loadAvgStart: loadavg().map((x) => Math.round(x * 100) / 100),
}

type Part = { name: string; file: string; fn: string }
const parts: Part[] = [
  { name: 'gas', file: './gas.ts', fn: 'benchGas' },
  { name: 'oracles', file: './oracles.ts', fn: 'benchOracles' },
  { name: 'apps', file: './apps.ts', fn: 'benchApps' },
]

if (want('protocol')) {
  const { benchProtocol, benchProtocolAllCores } = await import('./protocol.ts')
  log('bench: co-signed steps through the protocol (SQLite, synchronous=FULL) ...')
  Object.assign(result, await benchProtocol({ steps: Number(values.steps ?? 1000), log }))
  log('bench: the same, one channel per core in parallel processes ...')
  Object.assign(result, await benchProtocolAllCores({ steps: Number(values.steps ?? 1000) }))
}
for (const part of parts) {
  if (!want(part.name)) continue
  log(`bench: ${part.name} ...`)
  const mod = (await import(part.file)) as Record<string, () => Promise<unknown>>
  const fn = mod[part.fn]
  if (fn === undefined) throw new Error(`${part.file} does not export ${part.fn}`)
  const r = await fn()
  if (part.name === 'gas') result.gas = r
  else if (part.name === 'apps') result.apps = r
  else Object.assign(result, r)
}

if (want('node')) {
  log('bench: two nodes through their HTTP API (co-signed steps per second, RSS with many channels) ...')
  const { benchNode } = await import('./node.ts')
  const broker = values.broker === 'mosquitto' || values.broker === 'aedes' ? values.broker : 'auto'
  result.nodeApi = {
    ...(await benchNode({
      steps: Number(values['node-steps'] ?? 1000),
      warmup: Number(values['node-warmup'] ?? 2000),
      parallel: (values['node-parallel'] ?? '8,32').split(',').map(Number),
      channels: Number(values['node-channels'] ?? 1000),
      broker,
      log,
    })),
  }
}

if (want('channels')) {
  log('bench: two nodes holding many open channels (RSS, steps across them) ...')
  const { benchManyChannels } = await import('./manyChannels.ts')
  result.manyChannels = await benchManyChannels({ channels: Number(values['many-channels'] ?? 10_000), log })
}

if (want('deals')) {
  log('bench: the forced step of each deal (its --refuse demo on anvil) ...')
  const { benchDeals } = await import('./deals.ts')
  const deals = await benchDeals(log)
  const apps = (result.apps ?? {}) as Record<string, Record<string, unknown>>
  for (const [name, figures] of Object.entries(deals)) apps[name] = { ...apps[name], ...figures }
  result.apps = apps
}

result.loadAvgEnd = loadavg().map((x) => Math.round(x * 100) / 100)
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`)
else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
process.exit(0)
