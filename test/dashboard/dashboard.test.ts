// The dashboard in a real browser (Debian's chromium driven by puppeteer-core) against two real
// cold-chain nodes on anvil and a broker: the page asks for the token once, shows a channel appear
// when it is opened, a new version when a step is co-signed, the readings chart gaining points as
// the thermometer publishes (refused readings told apart), the countdown of a dispute started
// from the page by keyboard after a confirmation, and logs no console error. Screenshots of each
// page go to a folder the test prints.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import type { Hex } from 'viem'
import { getSignerId } from '../../oracles/message/getSignerId.ts'
import { readingToEnvelope } from '../../oracles/message/readingToEnvelope.ts'
import { readingTopic } from '../../oracles/mqtt/readingTopic.ts'
import { connectMqtt } from '../../oracles/mqtt/connectMqtt.ts'
import { signReading } from '../../oracles/message/signReading.ts'
import { temperatureReading } from '../../apps/coldChain/coldChainClient.ts'
import { startDeviceSimulator, type DeviceSimulator } from '../../oracles/sim/startDeviceSimulator.ts'
import { DASHBOARD_TOKEN, startDashboardNodes, type DashboardNodes } from './dashboardNodes.ts'

const CHROMIUM = process.env['CHANVM_CHROMIUM'] ?? '/usr/bin/chromium'
const SHOTS = process.env['CHANVM_SCREENSHOTS'] ?? join(process.cwd(), '.tmp', 'dashboard-screenshots')

/** Presses Tab until `selector` has the focus (at most `max` times); fails if it never does. */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) === true`)) return
    await page.keyboard.press('Tab')
  }
  assert.fail(`Tab never reached ${selector}`)
}

describe('dashboard: the node serves a live page, tested in chromium', function () {
  this.timeout(240_000)
  let nodes: DashboardNodes
  let browser: Browser
  let page: Page
  let channelId: Hex
  let device: DeviceSimulator | undefined
  const consoleErrors: string[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(
        `      skipped: no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHANVM_CHROMIUM)`,
      )
      this.skip()
    }
    mkdirSync(SHOTS, { recursive: true })
    console.log(`      screenshots in ${SHOTS}`)
    nodes = await startDashboardNodes()
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    page = await browser.newPage()
    await page.setViewport({ width: 1280, height: 900 })
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(String(e)))
  })

  after(async () => {
    await device?.stop()
    await browser?.close()
    await nodes?.stop()
  })

  it('serves the page and its files without a token, with a policy that forbids remote sources', async () => {
    const res = await fetch(`${nodes.alice.url}/`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/html/)
    const csp = res.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'self'(;|$)/)
    assert.match(csp, /connect-src 'self'(;|$)/)
    assert.doesNotMatch(csp, /https?:|\*/, 'no remote origin is allowed')
    const uplot = await fetch(`${nodes.alice.url}/dashboard/vendor/uPlot.esm.js`)
    assert.equal(uplot.status, 200, 'uPlot is served by the node itself (npm run build copies it)')
    assert.equal((await fetch(`${nodes.alice.url}/dashboard/nothing.js`)).status, 404)
    const escape = await fetch(`${nodes.alice.url}/dashboard/vendor%2F..%2F..%2Fpackage.json`)
    assert.notEqual(escape.status, 200, 'no path leaves the dashboard folder')
    assert.equal(
      (await fetch(`${nodes.alice.url}/v1/channels`)).status,
      401,
      'the data still needs the token',
    )
  })

  it('shows the channel list of a loopback node without a token; measures time to first list', async () => {
    const times: number[] = []
    const inPage: number[] = []
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      await page.goto(`${nodes.bob.url}/`)
      await page.waitForSelector('#no-channels, #channels')
      times.push(performance.now() - started)
      inPage.push(
        Number(await page.evaluate(`performance.getEntriesByName('chanvm:first-list')[0]?.startTime`)),
      )
    }
    // The first load starts a fresh browser tab; the others are what a person sees on a reload.
    const list = (xs: number[]) => xs.map((t) => `${t.toFixed(0)} ms`).join(', ')
    console.log(
      `      time to first channel list: ${list(times)} (from navigation start in the page: ${list(inPage)})`,
    )
    assert(
      inPage.every((t) => t > 0),
      'the page marked its first list',
    )
    assert.equal(
      await page.$('#token-dialog[open]'),
      null,
      'no token is asked on a loopback node without one',
    )
    await page.waitForSelector('#live.ok')
  })

  it('asks for the token once, keeps it for the tab, and shows a channel appear when it is opened', async () => {
    await page.goto(`${nodes.alice.url}/`)
    await page.waitForSelector('#token-dialog[open]')
    await page.type('#token-input', DASHBOARD_TOKEN)
    await page.keyboard.press('Enter')
    await page.waitForSelector('#no-channels')
    await page.waitForSelector('#live.ok')
    const [opened] = await Promise.all([
      nodes.alice.node.open(nodes.openRequest('first', 1n)),
      nodes.bob.node.open(nodes.openRequest('second', 1n)),
    ])
    channelId = opened.channelId
    await page.waitForSelector(`tr[data-channel="${channelId}"]`)
    const row = await page.$eval(`tr[data-channel="${channelId}"]`, (el) => el.textContent ?? '')
    assert.match(row, /cold-chain/)
    assert.match(row, /owner/)
    // Reloading keeps the token for the tab: no second question.
    await page.reload()
    await page.waitForSelector(`tr[data-channel="${channelId}"]`)
    assert.equal(await page.$('#token-dialog[open]'), null)
    await page.waitForSelector('#status-cards .card')
    await page.screenshot({ path: join(SHOTS, 'channel-list.png'), fullPage: true })
  })

  it('opens the channel by keyboard and shows a co-signed step appear without reloading', async () => {
    await tabTo(page, `a[href="#/channel/${channelId}"]`)
    await page.keyboard.press('Enter')
    await page.waitForSelector('#timeline tr[data-version="0"]')
    const navigations: string[] = []
    page.on('framenavigated', (f) => navigations.push(f.url()))
    const r = await nodes.alice.node.act(channelId, { app: 'cold-chain', type: 'premium' })
    assert(r.ok)
    await page.waitForSelector('#timeline tr[data-version="1"]')
    const row = await page.$eval('#timeline tr[data-version="1"]', (el) => el.textContent ?? '')
    assert.match(row, /premium/)
    assert.match(row, /owner \(us\)/)
    assert.match(row, new RegExp(r.gasUsed.toLocaleString('en-US')), 'the sandbox gas of the step')
    assert.equal(await page.$eval('#latest-version', (el) => el.textContent), '1')
    assert.match(await page.$eval('#app-headline', (el) => el.textContent ?? ''), /1 of 24 premiums paid/)
    assert.deepEqual(navigations, [], 'the page was not reloaded')
    // The insurer's node did not run this step itself as the mover: its timeline has the mover and
    // action from the proposal it signed, and the sandbox gas re-run from its stored states.
    const theirs = await nodes.bob.node.journal?.timeline(channelId)
    const v1 = theirs?.versions.find((v) => v.version === 1n)
    assert.equal(v1?.mover, 0)
    assert.equal(v1?.action?.name, 'premium')
    assert.equal(v1?.gasUsed, r.gasUsed)
    assert.equal(v1?.signatures.length, 2)
  })

  it('draws the readings chart gaining points as the thermometer publishes, refused ones apart', async () => {
    device = await startDeviceSimulator({
      url: nodes.broker.url,
      chainId: BigInt(nodes.anvil.chainId),
      key: nodes.thermometer,
      profile: { kind: 'excursion', baseMilliC: 4_000, after: 3, length: 4, peakMilliC: 11_500 },
      intervalMs: 0,
      // one reading every 30 s of signed time, the last one now (fresh: within 300 s)
      now: () => Date.now() - (6 - (device?.published() ?? 0)) * 30_000,
    })
    assert.equal(device.deviceId, nodes.device)
    await page.waitForSelector('#readings-chart[data-points="0"]')
    // The keyboard's place survives the redraws each reading causes.
    await tabTo(page, '#dispute-step')
    for (let i = 1; i <= 6; i++) {
      await device.publishNow()
      await page.waitForSelector(`#readings-chart[data-points="${i}"]`)
    }
    assert.equal(await page.evaluate(`document.activeElement?.id`), 'dispute-step', 'the focus stayed')
    assert(await page.$('#readings-chart canvas'), 'uPlot drew a canvas')
    // A reading signed an hour ago is refused (stale) and listed with its reason.
    const link = await connectMqtt({ url: nodes.broker.url, clientId: 'dashboard-test-stale' })
    const stale = signReading({
      chainId: BigInt(nodes.anvil.chainId),
      key: nodes.thermometer,
      reading: temperatureReading({
        device: getSignerId(nodes.thermometer),
        sequence: 100n,
        timestamp: BigInt(Math.floor(Date.now() / 1000) - 3_600),
        milliCelsius: 5_000n,
      }),
    })
    await link.client.publishAsync(readingTopic(nodes.device), JSON.stringify(readingToEnvelope(stale)), {
      qos: 1,
    })
    await link.close()
    await page.waitForSelector('#refused-readings tr.refused')
    assert.match(await page.$eval('#refused-readings', (el) => el.textContent ?? ''), /stale/)
    assert.match(
      await page.$eval('#readings-count', (el) => el.textContent ?? ''),
      /6 accepted \(3 out of range\), 1 refused/,
    )
    await page.screenshot({ path: join(SHOTS, 'cold-chain-channel.png'), fullPage: true })
  })

  it('asks before acting on chain, and shows the challenge countdown of the dispute it started', async () => {
    await page.waitForSelector('#dispute-step')
    // Cancel first: nothing is sent.
    await tabTo(page, '#dispute-step')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#confirm-dialog[open]')
    assert.match(await page.$eval('#confirm-text', (el) => el.textContent ?? ''), /register/)
    await page.keyboard.press('Enter') // the focus starts on Cancel
    await page.waitForSelector('#confirm-dialog:not([open])')
    assert.equal((await nodes.alice.node.disputePlan(channelId)).held?.status ?? 'open', 'open')
    // Then confirm.
    await tabTo(page, '#dispute-step')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#confirm-dialog[open]')
    await tabTo(page, '#confirm-ok')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#countdown[data-seconds-left]', { timeout: 60_000 })
    const left = Number(await page.$eval('#countdown', (el) => el.getAttribute('data-seconds-left')))
    assert(left > 0 && left <= 3_600, `a countdown within the challenge period (${left} s)`)
    assert.match(await page.$eval('#countdown', (el) => el.textContent ?? ''), /^in \d+ min/)
    const plan = await nodes.alice.node.disputePlan(channelId)
    assert.notEqual(plan.held, undefined, 'the state is registered on chain')
    assert.notEqual(plan.held?.status, 'open')
    await page.waitForSelector('#chain-steps')
    assert.match(await page.$eval('#chain-steps', (el) => el.textContent ?? ''), /register/)
    await page.screenshot({ path: join(SHOTS, 'dispute.png'), fullPage: true })
  })

  it('logged no console error and every control has a label', async () => {
    // Runs in the page: every button, input and link has a name a screen reader can say.
    const unlabeled = (await page.evaluate(`[...document.querySelectorAll('button, input, a[href]')]
      .filter((el) => (el.textContent ?? '').trim() === '' && !(el.labels?.length > 0) && el.getAttribute('aria-label') === null)
      .map((el) => el.outerHTML.slice(0, 80))`)) as string[]
    assert.deepEqual(unlabeled, [])
    assert.deepEqual(consoleErrors, [])
  })
})
