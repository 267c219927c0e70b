// The chanvm dashboard: the channel list, a channel's page (timeline, app state, readings chart,
// dispute), the node's health, kept up to date from the node's event stream.
import { api, ApiError, followEvents, needsToken, onTokenNeeded, requestToken } from './api.js'
import {
  formatClock,
  formatDuration,
  formatGas,
  formatUnix,
  formatWei,
  h,
  rememberRoles,
  roleName,
  short,
} from './format.js'

const view = document.getElementById('view')
const live = document.getElementById('live')
let chart
let countdown
let renderSeq = 0
let refreshTimer

onTokenNeeded(
  () =>
    new Promise((resolve) => {
      const dialog = document.getElementById('token-dialog')
      const input = document.getElementById('token-input')
      input.value = ''
      dialog.addEventListener('close', () => resolve(input.value.length >= 16 ? input.value : undefined), {
        once: true,
      })
      dialog.showModal()
      input.focus()
    }),
)

/** Asks the person to confirm; resolves true for "Send transaction". */
function confirmAction(text) {
  return new Promise((resolve) => {
    const dialog = document.getElementById('confirm-dialog')
    document.getElementById('confirm-text').textContent = text
    dialog.returnValue = ''
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true })
    dialog.showModal()
    document.getElementById('confirm-cancel').focus()
  })
}

const card = (title, ...body) =>
  h(
    'section',
    { class: 'card', 'aria-labelledby': `h-${title.replace(/\W+/g, '-').toLowerCase()}` },
    h('h2', { id: `h-${title.replace(/\W+/g, '-').toLowerCase()}` }, title),
    ...body,
  )

const dl = (pairs) =>
  h(
    'dl',
    { class: 'pairs' },
    pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  )

function table(caption, headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h('caption', { class: 'sr-only' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h('tbody', {}, rows),
  )
}

function statusPill(text, tone) {
  return h('span', { class: `pill ${tone}` }, text)
}

const phaseTone = (phase) =>
  phase === 'open' ? 'ok' : phase === 'funding' ? 'warn' : phase === 'disputed' ? 'bad' : 'muted'
const chainTone = (s) => (s === 'dispute' ? 'bad' : s === 'concluded' ? 'muted' : 'ok')

// ---------------------------------------------------------------- channel list

async function renderList(seq) {
  // The list does not wait for the status (it reads the chain head): the cards fill in after.
  const statusLoad = api('/v1/status').catch(() => undefined)
  const { channels } = await api('/v1/channels')
  channels.forEach(rememberRoles)
  if (seq !== renderSeq) return
  document.title = 'chanvm node: channels'
  const rows = channels.map((c) =>
    h(
      'tr',
      { 'data-channel': c.channelId },
      h('td', {}, h('a', { href: `#/channel/${c.channelId}`, class: 'mono' }, short(c.channelId, 8))),
      h('td', {}, c.app),
      h('td', { class: 'mono' }, short(c.participants[1 - c.me])),
      h('td', {}, roleName(c.app, c.me)),
      h('td', {}, statusPill(c.phase + (c.isFinal ? ', final' : ''), phaseTone(c.phase))),
      h('td', { class: 'num', 'data-version': c.version }, c.version),
      h(
        'td',
        {},
        c.balances.map((b, i) => h('div', {}, `${roleName(c.app, i)}: ${formatWei(b)}`)),
      ),
      h('td', {}, c.onChain === undefined ? '—' : statusPill(c.onChain.status, chainTone(c.onChain.status))),
    ),
  )
  const focused = focusKey()
  // Keep the cards of the last draw until the new status arrives, so a redraw does not flicker.
  const statusCards = [...(document.getElementById('status-cards')?.children ?? [])]
  view.replaceChildren(
    h('h1', {}, 'Channels'),
    h('div', { class: 'grid', id: 'status-cards' }, statusCards),
    card(
      'Channels',
      channels.length === 0
        ? h('p', { class: 'muted', id: 'no-channels' }, 'No channel yet. Open one with chanvm open.')
        : table(
            'Channels this node holds',
            ['Channel', 'App', 'Counterparty', 'Our role', 'Phase', 'Version', 'Balances', 'On chain'],
            rows,
            { id: 'channels' },
          ),
    ),
  )
  restoreFocus(focused)
  // time from navigation to the first channel list, for the browser test and a person's devtools
  if (performance.getEntriesByName('chanvm:first-list').length === 0) performance.mark('chanvm:first-list')
  const status = await statusLoad
  const cards = document.getElementById('status-cards')
  if (status === undefined || seq !== renderSeq || cards === null) return
  cards.replaceChildren(healthCard(status), metricsCard(status.metrics))
}

/** What has the focus, so that a redraw can give it back (a live page must not lose the keyboard's place). */
function focusKey() {
  const el = document.activeElement
  if (el === null || !view.contains(el)) return undefined
  if (el.id !== '') return `#${CSS.escape(el.id)}`
  const href = el.getAttribute('href')
  return href === null ? undefined : `${el.tagName.toLowerCase()}[href="${CSS.escape(href)}"]`
}

function restoreFocus(key) {
  if (key === undefined) return
  const el = view.querySelector(key)
  if (el !== null) el.focus()
}

function healthCard(status) {
  const { chain, broker, startedAt } = status.health
  return card(
    'Node health',
    dl([
      [
        'Chain',
        h(
          'span',
          {},
          statusPill(chain.ok ? 'reachable' : 'unreachable', chain.ok ? 'ok' : 'bad'),
          ` ${chain.rpcUrl} (chain ${chain.chainId})`,
        ),
      ],
      [
        'Last block seen',
        chain.ok ? `#${chain.blockNumber} at ${formatUnix(chain.timestamp)}` : (chain.error ?? '—'),
      ],
      [
        'Broker',
        h(
          'span',
          {},
          statusPill(broker.connected ? 'connected' : 'offline', broker.connected ? 'ok' : 'bad'),
          ` ${broker.url}`,
        ),
      ],
      ['Running since', new Date(startedAt).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'],
    ]),
  )
}

function metricsCard(m) {
  const refused = Object.entries(m.readings)
    .filter(([k]) => k !== 'accepted')
    .reduce((a, [, v]) => a + v, 0)
  const refusals = Object.values(m.refusals).reduce((a, v) => a + v, 0)
  return card(
    'Activity',
    h(
      'div',
      { class: 'stats' },
      [
        ['Channels', m.channels],
        ['Co-signed steps', m.steps],
        ['Readings accepted', m.readings.accepted ?? 0],
        ['Inputs refused', refused],
        ['Steps refused', refusals],
        ['Disputes', m.disputes],
        ['Gas spent on chain', formatGas(m.gasSpent)],
      ].map(([k, v]) =>
        h(
          'div',
          { class: 'stat' },
          h('span', { class: 'value' }, String(v)),
          h('span', { class: 'label' }, k),
        ),
      ),
    ),
  )
}

// ---------------------------------------------------------------- one channel

async function renderChannel(seq, id) {
  const [summary, timeline, plan, inputs] = await Promise.all([
    api(`/v1/channels/${id}`),
    api(`/v1/channels/${id}/timeline`),
    api(`/v1/channels/${id}/dispute`).catch((e) => ({ error: e.message })),
    api('/v1/inputs').catch(() => ({ inputs: [] })),
  ])
  if (seq !== renderSeq) return
  rememberRoles(summary)
  document.title = `chanvm: ${summary.app} channel ${short(id, 4)}`
  const app = summary.app
  const role = (i) => `${roleName(app, i)}${i === summary.me ? ' (us)' : ''}`
  const parts = [
    h('p', {}, h('a', { href: '#/' }, '← All channels')),
    h('h1', {}, `${app} channel `, h('span', { class: 'mono' }, short(id, 8))),
    h(
      'div',
      { class: 'grid' },
      card(
        'Summary',
        dl([
          ['Channel id', h('span', { class: 'mono wrap' }, id)],
          ['We are', `${roleName(app, summary.me)} (participant ${summary.me})`],
          ['Counterparty', h('span', { class: 'mono wrap' }, summary.participants[1 - summary.me])],
          ['Phase', statusPill(summary.phase + (summary.isFinal ? ', final' : ''), phaseTone(summary.phase))],
          ['Latest co-signed', h('span', { id: 'latest-version' }, String(summary.version))],
          ...summary.balances.map((b, i) => [`Balance of ${role(i)}`, formatWei(b)]),
          [
            'On chain',
            summary.onChain === undefined
              ? '—'
              : `${summary.onChain.status}, version ${summary.onChain.version}`,
          ],
          ['Challenge period', formatDuration(timeline.challengeDuration)],
        ]),
      ),
      card(
        'What the app says',
        h('p', { class: 'headline', id: 'app-headline' }, timeline.state.headline),
        dl(
          timeline.state.fields.map((f) => [
            f.label,
            h('span', { class: f.value.startsWith('0x') ? 'mono wrap' : '' }, f.value),
          ]),
        ),
      ),
    ),
  ]
  // A dispute under way comes first: its countdown is what matters most.
  const dispute = disputeCard(id, app, summary, plan, timeline)
  const disputed = plan.held !== undefined && plan.held.status !== 'open'
  if (disputed) parts.push(dispute)
  if (timeline.state.device !== undefined) parts.push(readingsCard(timeline.state.device, inputs.inputs))
  if (timeline.state.oracles !== undefined) parts.push(answersCard(timeline.state.oracles, inputs.inputs))
  if (!disputed) parts.push(dispute)
  parts.push(timelineCard(app, timeline))
  chart?.destroy()
  chart = undefined
  const focused = focusKey()
  view.replaceChildren(...parts)
  startCountdown()
  restoreFocus(focused)
  const chartEl = document.getElementById('readings-chart')
  if (chartEl !== null) {
    // uPlot is loaded the first time a chart is drawn, so the channel list does not wait for it.
    const { renderReadingsChart } = await import('./chart.js')
    if (seq === renderSeq) chart = renderReadingsChart(chartEl, chartEl.chartData)
  }
}

function readingsCard(device, inputs) {
  const id = device.id.toLowerCase()
  const mine = inputs
    .filter((x) => x.kind === 'reading' || !x.accepted)
    .filter((x) => (x.signer ?? '').toLowerCase() === id)
  const accepted = mine
    .filter((x) => x.accepted && x.message !== undefined)
    .map((x) => ({ t: Number(x.message.timestamp), value: Number(x.message.value), seq: x.message.sequence }))
    .sort((a, b) => a.t - b.t)
  const refused = mine.filter((x) => !x.accepted)
  const key = mine.find((x) => x.accepted)
  const chartEl = h('div', {
    id: 'readings-chart',
    role: 'img',
    'aria-label': `Chart of ${accepted.length} readings against the allowed range`,
    'data-points': accepted.length,
  })
  chartEl.chartData = {
    readings: accepted,
    range: { min: Number(device.min), max: Number(device.max) },
    refused: refused.map((x) => x.at / 1000),
  }
  const out = accepted.filter((r) => r.value < Number(device.min) || r.value > Number(device.max)).length
  return card(
    'Readings',
    dl([
      ['Device', h('span', { class: 'mono wrap' }, device.id)],
      [
        'Key',
        key === undefined
          ? 'no reading yet'
          : key.curve === 'p256'
            ? h('span', { class: 'mono wrap' }, `P-256 ${key.publicKey}`)
            : `secp256k1 (the id holds its address)`,
      ],
      [
        'Allowed range',
        `${(Number(device.min) / 1000).toFixed(1)} °C to ${(Number(device.max) / 1000).toFixed(1)} °C; ${device.runLength} in a row outside pay the claim`,
      ],
      [
        'Seen',
        h(
          'span',
          { id: 'readings-count' },
          `${accepted.length} accepted (${out} out of range), ${refused.length} refused`,
        ),
      ],
    ]),
    chartEl,
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'key value' }, 'reading'),
      h('span', { class: 'key range' }, 'allowed range'),
      h('span', { class: 'key out' }, 'out of range'),
      h('span', { class: 'key refused' }, 'refused (arrival time)'),
    ),
    refused.length === 0
      ? undefined
      : table(
          'Refused readings',
          ['Arrived', 'Reason', 'Detail'],
          refused
            .slice(-20)
            .reverse()
            .map((x) =>
              h(
                'tr',
                { class: 'refused' },
                h('td', {}, formatClock(x.at)),
                h('td', {}, x.verdict),
                h('td', {}, x.detail ?? ''),
              ),
            ),
          { id: 'refused-readings' },
        ),
  )
}

function answersCard(oracles, inputs) {
  const q = oracles.questionId.toLowerCase()
  const answers = inputs.filter(
    (x) => x.kind === 'answer' && x.accepted && String(x.message?.questionId).toLowerCase() === q,
  )
  const distinct = new Set(answers.map((x) => x.signer))
  return card(
    'Oracle answers',
    h(
      'p',
      {},
      `${distinct.size} of ${oracles.quorum} needed answers received (from ${oracles.signers.length} oracles).`,
    ),
    answers.length === 0
      ? undefined
      : table(
          'Answers received',
          ['Arrived', 'Oracle', 'Answer time'],
          answers.map((x) =>
            h(
              'tr',
              {},
              h('td', {}, formatClock(x.at)),
              h('td', { class: 'mono' }, short(x.signer)),
              h('td', {}, formatUnix(x.message.timestamp)),
            ),
          ),
        ),
  )
}

function disputeCard(id, app, summary, plan, timeline) {
  if (plan.error !== undefined) return card('Dispute', h('p', { class: 'muted' }, plan.error))
  const held = plan.held
  const next = plan.next
  const rows = [
    [
      'We hold',
      `version ${plan.ours.version}${plan.ours.isFinal ? ' (final)' : ''}: ${plan.ours.balances.map((b, i) => `${roleName(app, i)} ${formatWei(b)}`).join(', ')}`,
    ],
    [
      'On chain',
      held === undefined
        ? 'nothing registered'
        : `${held.status}, version ${held.version}${held.forced ? ' (forced)' : ''}${held.balances === undefined ? '' : ': ' + held.balances.map((b, i) => `${roleName(app, i)} ${formatWei(b)}`).join(', ')}`,
    ],
  ]
  let countdownEl
  if (
    held !== undefined &&
    held.status !== 'concluded' &&
    held.status !== 'open' &&
    BigInt(held.finalizesAt) > 0n &&
    plan.now !== undefined
  ) {
    countdownEl = h('span', {
      id: 'countdown',
      'data-finalizes-at': held.finalizesAt,
      'data-chain-now': plan.now,
      'data-read-at': Date.now(),
    })
    rows.push(['Challenge ends', h('span', {}, countdownEl, ` (chain time ${formatUnix(held.finalizesAt)})`)])
  }
  const payouts = (list) => list.map((b, i) => `${roleName(app, i)} ${formatWei(b)}`).join(', ')
  rows.push([
    'Next step',
    next.step === 'wait'
      ? `wait until ${formatUnix(next.until)}: ${next.reason}`
      : next.step === 'none'
        ? `none: ${next.reason}`
        : `${next.step}, ${formatGas(next.gas)} gas, fee ${formatWei(next.feeWei)}${next.gainWei === undefined ? '' : `, gains us ${formatWei(next.gainWei)}`}`,
  ])
  const acting = next.step !== 'wait' && next.step !== 'none'
  rows.push([acting ? 'Payouts after it' : 'Payouts on conclusion', payouts(plan.payouts)])
  if (plan.payoutsIfIdle !== undefined) rows.push(['Payouts if we do nothing', payouts(plan.payoutsIfIdle)])
  const actionable = next.step !== 'wait' && next.step !== 'none'
  const button = actionable
    ? h(
        'button',
        {
          type: 'button',
          id: 'dispute-step',
          class: plan.worthIt ? 'danger' : '',
          onclick: async (ev) => {
            const text = `Send "${next.step}" for this channel on chain? It costs about ${formatGas(next.gas)} gas (${formatWei(next.feeWei)}).${plan.worthIt ? '' : ' It is not worth its gas: it will be forced.'}`
            if (!(await confirmAction(text))) return
            ev.target.disabled = true
            try {
              await api(`/v1/channels/${id}/dispute`, {
                method: 'POST',
                body: JSON.stringify(plan.worthIt ? {} : { force: true }),
              })
              flash(`${next.step} sent`)
            } catch (e) {
              flash(`${next.step} failed: ${e.message}`, true)
            }
            scheduleRefresh(0)
          },
        },
        `Take the next step: ${next.step}`,
      )
    : undefined
  const steps = timeline.chainSteps
  return card(
    'Dispute',
    dl(rows),
    button,
    steps.length === 0
      ? undefined
      : table(
          'Transactions this node sent',
          ['When', 'Step', 'Gas', 'Fee', 'Transaction'],
          steps.map((s) =>
            h(
              'tr',
              {},
              h('td', {}, formatClock(s.at)),
              h('td', {}, s.step),
              h('td', { class: 'num' }, formatGas(s.gasUsed)),
              h('td', { class: 'num' }, s.feeWei === undefined ? '—' : formatWei(s.feeWei)),
              h('td', { class: 'mono' }, short(s.hash)),
            ),
          ),
          { id: 'chain-steps' },
        ),
  )
}

function timelineCard(app, timeline) {
  const rows = [...timeline.versions].reverse().map((v) =>
    h(
      'tr',
      { 'data-version': v.version, class: v.forced ? 'forced' : '' },
      h('td', { class: 'num' }, v.version),
      h(
        'td',
        {},
        v.version === '0' ? 'open' : (v.action?.name ?? '—'),
        v.forced ? ' (forced on chain)' : '',
        v.isFinal ? ' · final' : '',
      ),
      h(
        'td',
        {},
        v.mover === undefined ? '—' : roleName(app, v.mover) + (v.mover === timeline.me ? ' (us)' : ''),
      ),
      h(
        'td',
        {},
        v.balances.map((b, i) => h('div', {}, `${roleName(app, i)}: ${formatWei(b)}`)),
      ),
      h('td', { class: 'num' }, v.gasUsed === undefined ? '—' : formatGas(v.gasUsed)),
      h(
        'td',
        { class: 'mono' },
        v.signatures.length === 0
          ? 'none (forced)'
          : v.signatures.map((s, i) => h('div', { title: s }, `${roleName(app, i)} ${short(s, 4)}`)),
      ),
      h(
        'td',
        {},
        v.at !== undefined
          ? formatClock(v.at)
          : v.envTimestamp !== undefined
            ? formatUnix(v.envTimestamp)
            : '—',
      ),
    ),
  )
  return card(
    'Timeline of versions',
    timeline.omitted === '0'
      ? undefined
      : h('p', { class: 'muted' }, `${timeline.omitted} older versions not shown.`),
    table(
      'Versions, newest first',
      ['Version', 'Action', 'Mover', 'Balances after', 'Sandbox gas', 'Signatures', 'When'],
      rows,
      { id: 'timeline' },
    ),
  )
}

function startCountdown() {
  clearInterval(countdown)
  const tick = () => {
    const el = document.getElementById('countdown')
    if (el === null) return
    const left =
      Number(el.dataset.finalizesAt) -
      Number(el.dataset.chainNow) -
      (Date.now() - Number(el.dataset.readAt)) / 1000
    el.textContent = left > 0 ? `in ${formatDuration(left)}` : 'now (the chain may conclude)'
    el.dataset.secondsLeft = String(Math.max(0, Math.round(left)))
  }
  tick()
  countdown = setInterval(tick, 1000)
}

function flash(text, bad = false) {
  const el = h('p', { class: `flash ${bad ? 'bad' : 'ok'}`, role: 'alert' }, text)
  view.prepend(el)
  setTimeout(() => el.remove(), 6000)
}

// ---------------------------------------------------------------- routing and live updates

async function render() {
  const seq = ++renderSeq
  const m = /^#\/channel\/(0x[0-9a-fA-F]{64})$/.exec(location.hash)
  try {
    if (m !== null) await renderChannel(seq, m[1].toLowerCase())
    else await renderList(seq)
  } catch (e) {
    if (seq !== renderSeq) return
    view.replaceChildren(
      h('h1', {}, 'Cannot show this page'),
      h(
        'p',
        { class: 'flash bad', role: 'alert' },
        e instanceof ApiError ? `${e.code}: ${e.message}` : String(e.message ?? e),
      ),
    )
  }
}

function scheduleRefresh(ms = 150) {
  clearTimeout(refreshTimer)
  refreshTimer = setTimeout(() => void render(), ms)
}

window.addEventListener('hashchange', () => {
  void render().then(() => view.focus())
})

async function start() {
  if (await needsToken().catch(() => false)) await requestToken()
  api('/v1/health')
    .then((health) => (document.getElementById('node-address').textContent = health.address))
    .catch(() => undefined) // the view shows the error
  await render()
  followEvents(
    () => scheduleRefresh(250),
    (up) => {
      live.textContent = up ? 'live' : 'reconnecting'
      live.className = `pill ${up ? 'ok' : 'warn'}`
      if (up) scheduleRefresh(0)
    },
  )
}

void start()
