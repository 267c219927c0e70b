// The node's counters as Prometheus metrics, read from `node.metrics()` at every scrape.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { chanvmVersion } from '../chanvmVersion.ts'
import type { NodeHealth, NodeMetrics } from '../types.ts'

/**
 * A registry (its own, not prom-client's global one) whose metrics mirror `read()` when scraped:
 * chanvm_steps_total, chanvm_refusals_total{reason}, chanvm_readings_total{verdict},
 * chanvm_disputes_total, chanvm_gas_spent_total, chanvm_channels, chanvm_build_info{version}, plus
 * the process metrics; with
 * `health`, the gauges chanvm_ready, chanvm_broker_up and chanvm_chain_up (1 up, 0 down) and
 * chanvm_chain_head_age_seconds (since the node last heard from the chain).
 *
 * @example
 * ```ts
 * const registry = createMetricsRegistry(() => node.metrics())
 * const text = await registry.metrics()
 * ```
 */
export function createMetricsRegistry(read: () => NodeMetrics, health?: () => NodeHealth): Registry {
  const registry = new Registry()
  // One snapshot per scrape, shared by all the metrics' collect callbacks.
  let snapshot: { at: number; metrics: NodeMetrics } | undefined
  const current = (): NodeMetrics => {
    const now = Date.now()
    if (snapshot === undefined || now - snapshot.at > 100) snapshot = { at: now, metrics: read() }
    return snapshot.metrics
  }
  const counter = (name: string, help: string, value: (m: NodeMetrics) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(value(current()))
      },
    })
  const labelled = (
    name: string,
    help: string,
    label: string,
    values: (m: NodeMetrics) => Record<string, number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset()
        for (const [key, n] of Object.entries(values(current()))) this.inc({ [label]: key }, n)
      },
    })
  counter('chanvm_steps_total', 'Off-chain steps co-signed by this node', (m) => m.steps)
  labelled(
    'chanvm_refusals_total',
    'Steps this node or its peer refused, by reason',
    'reason',
    (m) => m.refusals,
  )
  labelled(
    'chanvm_readings_total',
    'Signed device and oracle messages, by verdict',
    'verdict',
    (m) => m.readings,
  )
  counter('chanvm_disputes_total', 'Dispute steps this node took on chain', (m) => m.disputes)
  counter('chanvm_gas_spent_total', 'Gas used by the transactions this node sent', (m) => Number(m.gasSpent))
  new Gauge({
    name: 'chanvm_channels',
    help: 'Channels this node holds',
    registers: [registry],
    collect() {
      this.set(current().channels)
    },
  })
  new Gauge({
    name: 'chanvm_build_info',
    help: 'The chanvm version this node runs (always 1)',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: chanvmVersion() }, 1)
  if (health !== undefined) {
    const gauge = (name: string, help: string, value: (h: NodeHealth) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const v = value(health())
          if (v === undefined) this.reset()
          else this.set(v)
        },
      })
    gauge('chanvm_ready', 'Whether the node is ready: the broker and the chain answer (1) or not (0)', (h) =>
      h.ready ? 1 : 0,
    )
    gauge('chanvm_broker_up', 'Whether the MQTT broker is connected (1) or not (0)', (h) =>
      h.broker.up ? 1 : 0,
    )
    gauge('chanvm_chain_up', 'Whether the JSON-RPC endpoint answers (1) or not (0)', (h) =>
      h.chain.up ? 1 : 0,
    )
    gauge('chanvm_chain_head_age_seconds', 'Seconds since the node last heard from the chain', (h) =>
      h.chain.head === undefined ? undefined : Math.max(0, Date.now() - h.chain.head.seenAt) / 1000,
    )
  }
  collectDefaultMetrics({ register: registry })
  return registry
}
