import assert from 'node:assert/strict'
import fc from 'fast-check'
import { formatEther, formatGwei } from 'viem'
import { runActCommand } from '../../cli/commands/act.ts'
import { runChannelsCommand } from '../../cli/commands/channels.ts'
import { runDisputeCommand } from '../../cli/commands/dispute.ts'
import { formatFee } from '../../cli/commands/formatChannel.ts'
import { OPEN_USAGE, runOpenCommand } from '../../cli/commands/open.ts'
import { parseAmount } from '../../cli/commands/parseAmount.ts'
import { runShowCommand } from '../../cli/commands/show.ts'
import { runCancelCommand } from '../../cli/commands/cancel.ts'
import { runCli } from '../../cli/runCli.ts'
import { BUILT_IN_REGISTRY } from '../../apps/builtInRegistry.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { createTestIo, startCannedNode, type CannedNode, type TestIo } from './support.ts'

const ID = `0x${'ab'.repeat(32)}`
const BOB = '0x70997970C51812Dc3A010c7D01B50E20D17Dc79C'
const ARBITER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const ORACLE = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(32)}`
const ETH = 10n ** 18n

const summary = (over: Record<string, unknown> = {}) => ({
  channelId: ID,
  app: 'escrow',
  participants: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', BOB],
  me: 0,
  status: 'open',
  phase: 'open',
  version: '3',
  balances: ['4000000000000000000', '1000000000000000000'],
  isFinal: false,
  ...over,
})

type Command = typeof runOpenCommand
const run = (command: Command, args: string[], io: TestIo) =>
  command(args, { out: io.out, err: io.err }, undefined, io)

describe('cli commands', () => {
  let node: CannedNode
  afterEach(async () => {
    await node?.close()
  })

  describe('parseAmount', () => {
    const good: [string, bigint][] = [
      ['3eth', 3n * ETH],
      ['3ETH', 3n * ETH],
      ['1ether', ETH],
      ['0.5eth', ETH / 2n],
      ['0.000000000000000001eth', 1n],
      ['2gwei', 2_000_000_000n],
      ['1.5gwei', 1_500_000_000n],
      ['150wei', 150n],
      ['1000', 1000n],
      ['0', 0n],
      [`${(1n << 256n) - 1n}`, (1n << 256n) - 1n],
    ]
    for (const [text, wei] of good) it(`'${text}' is ${wei} wei`, () => assert.equal(parseAmount(text), wei))

    const bad: [string, RegExp][] = [
      ['', /not an amount/],
      ['-1eth', /an amount cannot be negative/],
      ['1e18', /not an amount/],
      ['3 eth', /not an amount/],
      ['1.2.3eth', /not an amount/],
      ['eth', /not an amount/],
      ['3btc', /unknown unit 'btc'/],
      ['0.1wei', /wei has no fractions/],
      ['0.1', /wei has no fractions/],
      ['1.0000000001gwei', /gwei has at most 9 decimals/],
      ['0.0000000000000000001eth', /eth has at most 18 decimals/],
      [`${1n << 256n}`, /too large/],
      ['0x10', /not an amount/],
    ]
    for (const [text, why] of bad)
      it(`'${text}' is refused: ${why.source}`, () => {
        assert.throws(
          () => parseAmount(text, '--amount'),
          (e: unknown) =>
            e instanceof ChanvmError &&
            e.code === 'INVALID_ARGUMENT' &&
            why.test(e.message) &&
            e.message.startsWith('--amount:'),
        )
      })

    it('reads back what formatEther, formatGwei and plain wei print, for any uint256', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (wei) => {
          assert.equal(parseAmount(wei.toString()), wei)
          assert.equal(parseAmount(`${formatEther(wei)}eth`), wei)
          assert.equal(parseAmount(`${formatGwei(wei)}gwei`), wei)
        }),
      )
    })
  })

  it('fees print exact when short, else to four significant digits', () => {
    assert.equal(formatFee(2_400_000_000_000_000n), '0.0024 ETH')
    assert.equal(formatFee(147_134_847_197_490n), '~0.0001471 ETH')
    assert.equal(formatFee(12_345_678_901_234_567_890n), '~12.35 ETH')
    assert.equal(formatFee(21_000n), '21000 wei')
    assert.equal(formatFee(0n), '0 ETH')
  })

  describe('bad input: exit 2 with a message, nothing sent', () => {
    const open = (...more: string[]) => [
      '--app',
      'escrow',
      '--counterparty',
      BOB,
      '--role',
      'first',
      '--balances',
      '5eth,5eth',
      '--nonce',
      '1',
      '--challenge',
      '3600',
      '--arbiter',
      ARBITER,
      ...more,
    ]
    const without = (args: string[], flag: string) => {
      const i = args.indexOf(flag)
      return [...args.slice(0, i), ...args.slice(i + 2)]
    }
    const tv = ['--app', 'tv-delivery', '--counterparty', BOB, '--role', 'first', '--balances', '1eth,0']
    const tvTerms = ['--nonce', '1', '--challenge', '1h', '--price', '0.5eth', '--deadline-block', '900']
    const cold = ['--app', 'cold-chain', '--counterparty', BOB, '--role', 'first', '--balances', '1eth,1eth']
    const coldTerms = [
      '--nonce',
      '1',
      '--challenge',
      '1h',
      '--device',
      ORACLE(7),
      '--run-length',
      '3',
      '--premium',
      '0.01eth',
      '--insured-sum',
      '1eth',
      '--period',
      '1h',
      '--max-periods',
      '24',
    ]
    const rows: [string, Command, string[], RegExp][] = [
      ['open: no --app', runOpenCommand, without(open(), '--app'), /--app is required/],
      [
        'open: not an app name',
        runOpenCommand,
        ['--app', 'Poker!', ...open().slice(2)],
        /--app must be an app's name/,
      ],
      ['open: a bad --term', runOpenCommand, [...open(), '--term', 'no-equals'], /--term takes name=value/],
      ['act: a bad --arg', runActCommand, [ID, 'fund', '--arg', '=1'], /--arg takes key=value/],
      [
        'open: bad counterparty checksum',
        runOpenCommand,
        [...without(open(), '--counterparty'), '--counterparty', BOB.replace('Dc79C', 'dc79C')],
        /--counterparty must be an address/,
      ],
      [
        'open: bad role',
        runOpenCommand,
        [...without(open(), '--role'), '--role', 'third'],
        /--role must be first or second, got "third"/,
      ],
      [
        'open: one balance',
        runOpenCommand,
        [...without(open(), '--balances'), '--balances', '5eth'],
        /--balances takes two amounts/,
      ],
      [
        'open: negative balance',
        runOpenCommand,
        [...without(open(), '--balances'), '--balances', '5eth,-1'],
        /participant 1\): an amount cannot be negative/,
      ],
      [
        'open: bad nonce',
        runOpenCommand,
        [...without(open(), '--nonce'), '--nonce', '1.5'],
        /--nonce must be a whole number/,
      ],
      [
        'open: zero challenge',
        runOpenCommand,
        [...without(open(), '--challenge'), '--challenge', '0'],
        /--challenge must be at least 1 s/,
      ],
      [
        'open: bad challenge',
        runOpenCommand,
        [...without(open(), '--challenge'), '--challenge', '1w'],
        /--challenge must be seconds or a duration/,
      ],
      ['open: escrow without arbiter', runOpenCommand, without(open(), '--arbiter'), /--arbiter is required/],
      [
        'open: a term of another app',
        runOpenCommand,
        open('--price', '1eth'),
        /--price is a term of tv-delivery, not of escrow/,
      ],
      [
        'open: tv-delivery without oracles',
        runOpenCommand,
        [...tv, ...tvTerms, '--quorum', '1', '--tracking-id', 'T'],
        /--oracles is required/,
      ],
      [
        'open: quorum above the oracles',
        runOpenCommand,
        [...tv, ...tvTerms, '--oracles', `${ORACLE(1)},${ORACLE(2)}`, '--quorum', '3', '--tracking-id', 'T'],
        /--quorum must be between 1 and 2/,
      ],
      [
        'open: an oracle twice',
        runOpenCommand,
        [...tv, ...tvTerms, '--oracles', `${ORACLE(1)},${ORACLE(1)}`, '--quorum', '1', '--tracking-id', 'T'],
        /--oracles lists 0x[0-9a-f]{64} twice/,
      ],
      [
        'open: oracle id not bytes32',
        runOpenCommand,
        [...tv, ...tvTerms, '--oracles', BOB, '--quorum', '1', '--tracking-id', 'T'],
        /--oracles must be 0x and 64 hex digits/,
      ],
      [
        'open: cold-chain range upside down',
        runOpenCommand,
        [...cold, ...coldTerms, '--min-value=-15000', '--max-value=-25000'],
        /--min-value must not be above --max-value/,
      ],
      [
        'open: cold-chain negative without =',
        runOpenCommand,
        [...cold, ...coldTerms, '--min-value', '-25000', '--max-value=-15000'],
        /ambiguous/,
      ],
      ['open: unknown flag', runOpenCommand, open('--bogus'), /Unknown option '--bogus'/],
      ['open: stray argument', runOpenCommand, open('extra'), /unexpected argument 'extra'/],
      ['open: --api not http', runOpenCommand, open('--api', 'ftp://127.0.0.1'), /--api needs an http/],
      ['open: zero timeout', runOpenCommand, open('--timeout', '0'), /--timeout must be between 1 and 86400/],
      [
        'open: token variable unset',
        runOpenCommand,
        open('--token-env', 'NO_SUCH_TOKEN'),
        /NO_SUCH_TOKEN is not set/,
      ],
      [
        'act: short channel id',
        runActCommand,
        ['0x12', 'release'],
        /channel id must be 0x and 64 hex digits/,
      ],
      ['act: no action', runActCommand, [ID], /an action is required/],
      ['act: unknown action', runActCommand, [ID, 'steal'], /unknown action 'steal'/],
      [
        'act: action of another app',
        runActCommand,
        [ID, 'pay', '--app', 'escrow'],
        /escrow has no action 'pay'/,
      ],
      ['act: fund without amount', runActCommand, [ID, 'fund', '--deadline', '+1h'], /fund needs --amount/],
      [
        'act: fund without deadline',
        runActCommand,
        [ID, 'fund', '--amount', '3eth'],
        /fund needs --deadline/,
      ],
      [
        'act: fund bad unit',
        runActCommand,
        [ID, 'fund', '--amount', '3btc', '--deadline', '+1h'],
        /--amount: unknown unit 'btc'/,
      ],
      [
        'act: fund nothing',
        runActCommand,
        [ID, 'fund', '--amount', '0eth', '--deadline', '+1h'],
        /--amount must be more than 0/,
      ],
      [
        'act: fund bad deadline',
        runActCommand,
        [ID, 'fund', '--amount', '1eth', '--deadline', 'soon'],
        /--deadline must be unix seconds/,
      ],
      [
        'act: release takes no amount',
        runActCommand,
        [ID, 'release', '--amount', '1eth'],
        /release does not take --amount/,
      ],
      [
        'act: ruling both ways',
        runActCommand,
        [ID, 'ruling', '--to-payee', '--to-payer', '--arbiter-sig', `0x${'11'.repeat(65)}`],
        /exactly one of --to-payee and --to-payer/,
      ],
      [
        'act: ruling short signature',
        runActCommand,
        [ID, 'ruling', '--to-payee', '--arbiter-sig', `0x${'11'.repeat(64)}`],
        /--arbiter-sig must be 0x and 130 hex digits/,
      ],
      [
        'act: ruling without signature',
        runActCommand,
        [ID, 'ruling', '--to-payer'],
        /ruling needs --arbiter-sig/,
      ],
      [
        'act: a negative amount',
        runActCommand,
        [ID, 'fund', '--amount', '-1eth', '--deadline', '+1d'],
        /^chanvm act: --amount: -1eth is negative; an amount is 0 or more/,
      ],
      [
        'act: a negative amount with =',
        runActCommand,
        [ID, 'fund', '--amount=-1eth', '--deadline', '+1d'],
        /--amount: an amount cannot be negative, got "-1eth"/,
      ],
      ['act: extra argument', runActCommand, [ID, 'close', 'now'], /unexpected argument 'now'/],
      ['channels: stray argument', runChannelsCommand, ['all'], /unexpected argument 'all'/],
      ['show: no id', runShowCommand, [], /a channel id is required/],
      ['show: not hex', runShowCommand, [`0x${'zz'.repeat(32)}`], /channel id must be 0x/],
      ['dispute: poll 0', runDisputeCommand, [ID, '--poll', '0'], /--poll must be between 1 and 3600/],
      ['dispute: no id', runDisputeCommand, ['--yes'], /a channel id is required/],
    ]
    for (const [name, command, args, message] of rows)
      it(name, async () => {
        node = await startCannedNode({})
        const io = createTestIo()
        const code = await run(command, ['--api', node.url, ...args], io)
        assert.equal(code, 2, io.stderr.join('\n'))
        assert.match(io.stderr.join('\n'), message)
        assert.match(io.stderr.join('\n'), /--help shows the usage/)
        assert.deepEqual(node.requests, [])
      })

    it('any command line either is refused with exit 2 before a request, or is sent (property)', async () => {
      node = await startCannedNode({})
      const token = fc.oneof(
        fc.constantFrom(
          'fund',
          'release',
          'ruling',
          'pay',
          'close',
          ID,
          '0x12',
          '--json',
          '--yes',
          '--force',
        ),
        fc.constantFrom(
          '--amount',
          '--deadline',
          '--to-payee',
          '--arbiter-sig',
          '--app',
          'escrow',
          '3eth',
          '+1h',
        ),
        fc.constantFrom(
          '--balances',
          '--role',
          'first',
          '--nonce',
          '1',
          '--challenge',
          '-1',
          '--poll',
          '=',
          '',
        ),
        fc.string({ maxLength: 12 }),
      )
      const commands = [runOpenCommand, runActCommand, runChannelsCommand, runShowCommand, runDisputeCommand]
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...commands),
          fc.array(token, { maxLength: 8 }),
          async (command, args) => {
            const before = node.requests.length
            const io = createTestIo()
            const code = await run(command, ['--api', node.url, ...args], io)
            assert.ok([0, 1, 2, 3].includes(code), `exit ${code}`)
            if (code === 2) assert.equal(node.requests.length, before, args.join(' '))
            if (code !== 0) assert.equal(io.stderr.length > 0, true)
            if (args.includes('--json') && code !== 0 && !args.includes('--help') && !args.includes('-h')) {
              const doc = JSON.parse(io.stdout.at(-1) ?? '{}') as { error?: { code?: string } }
              assert.equal(typeof doc.error?.code, 'string')
            }
          },
        ),
        { numRuns: 300 },
      )
    })

    it('with --json a usage error is one JSON document with code USAGE', async () => {
      node = await startCannedNode({})
      const io = createTestIo()
      assert.equal(
        await run(
          runActCommand,
          [ID, 'fund', '--amount', '1.5wei', '--deadline', '9', '--json', '--api', node.url],
          io,
        ),
        2,
      )
      const doc = io.json() as { error: { code: string; message: string } }
      assert.equal(doc.error.code, 'USAGE')
      assert.match(doc.error.message, /wei has no fractions/)
      assert.deepEqual(node.requests, [])
    })

    it('--help prints the usage and exits 0 without a request', async () => {
      for (const command of [
        runOpenCommand,
        runActCommand,
        runChannelsCommand,
        runShowCommand,
        runDisputeCommand,
      ]) {
        const io = createTestIo()
        assert.equal(await run(command, ['--help', '--api', 'http://127.0.0.1:9'], io), 0)
        assert.match(io.stdout.join('\n'), /^Usage: chanvm (open|act|channels|show|dispute)/)
      }
    })
  })

  describe('requests and answers', () => {
    it('open sends the OpenRequest with amounts as decimal strings and the bearer token', async () => {
      node = await startCannedNode({ 'POST /v1/channels': { status: 201, body: summary({ version: '0' }) } })
      const io = createTestIo({ env: { MY_TOKEN: 'secret-token-0123456789' } })
      const args = ['--app', 'escrow', '--counterparty', BOB, '--role', 'first', '--balances', '5eth,0.5eth']
      args.push(
        '--nonce',
        '7',
        '--challenge',
        '1h',
        '--arbiter',
        ARBITER,
        '--no-deposit',
        '--token-env',
        'MY_TOKEN',
      )
      const code = await run(runOpenCommand, [...args, '--api', node.url, '--json'], io)
      assert.equal(code, 0, io.stderr.join('\n'))
      assert.deepEqual(node.calls(), ['POST /v1/channels'])
      const req = node.requests[0]!
      assert.equal(req.headers.authorization, 'Bearer secret-token-0123456789')
      assert.deepEqual(req.body, {
        app: 'escrow',
        counterparty: BOB,
        role: 'first',
        balances: ['5000000000000000000', '500000000000000000'],
        nonce: '7',
        challengeDuration: '3600',
        terms: { arbiter: ARBITER },
        deposit: false,
      })
      assert.deepEqual(io.json(), summary({ version: '0' }))
    })

    it('open sends the tv-delivery and cold-chain terms under the names the node reads', async () => {
      node = await startCannedNode({ 'POST /v1/channels': { status: 201, body: summary() } })
      const oracles = [ORACLE(1), ORACLE(2), ORACLE(3)]
      let io = createTestIo({ env: { CHANVM_API_URL: node.url } })
      let args = ['--app', 'tv-delivery', '--counterparty', BOB, '--role', 'second', '--balances', '1eth,0']
      args.push('--nonce', '2', '--challenge', '90s', '--price', '0.5eth', '--oracles', oracles.join(','))
      args.push('--quorum', '2', '--deadline-block', '1200', '--tracking-id', '1Z999AA10123456784')
      assert.equal(await run(runOpenCommand, args, io), 0, io.stderr.join('\n'))
      assert.deepEqual((node.requests[0]!.body as { terms: unknown }).terms, {
        price: '500000000000000000',
        oracles,
        quorum: 2,
        deadline: '1200',
        trackingId: '1Z999AA10123456784',
      })
      assert.equal((node.requests[0]!.body as { challengeDuration: string }).challengeDuration, '90')
      assert.equal(node.requests[0]!.headers.authorization, undefined)
      assert.match(io.stdout.join('\n'), /^opened\nchannel   0xabab/)

      io = createTestIo({ env: { CHANVM_API_URL: node.url, CHANVM_API_TOKEN: 'default-token-abcdefgh' } })
      args = ['--app', 'cold-chain', '--counterparty', BOB, '--role', 'first', '--balances', '0.05eth,1eth']
      args.push('--nonce', '3', '--challenge', '1h', '--device', ORACLE(9).toUpperCase().replace('0X', '0x'))
      args.push('--min-value=-25000', '--max-value=-15000', '--run-length', '3', '--premium', '0.01eth')
      args.push('--insured-sum', '1eth', '--period', '1d', '--max-periods', '30', '--claim-window', '10m')
      assert.equal(await run(runOpenCommand, args, io), 0, io.stderr.join('\n'))
      assert.equal(node.requests[1]!.headers.authorization, 'Bearer default-token-abcdefgh')
      assert.deepEqual((node.requests[1]!.body as { terms: unknown }).terms, {
        device: ORACLE(9),
        minValue: '-25000',
        maxValue: '-15000',
        runLength: 3,
        premium: '10000000000000000',
        insuredSum: '1000000000000000000',
        periodSeconds: '86400',
        maxPeriods: '30',
        claimWindow: '600',
      })
    })

    it("open's term flags are the ones each built-in app's folder declares: listed under its name, covering its terms", () => {
      const own = ['app', 'counterparty', 'role', 'balances', 'nonce', 'challenge', 'deposit', 'term']
      const own2 = ['api', 'token-env', 'timeout', 'json', 'help']
      const withFlags = BUILT_IN_REGISTRY.list.filter((a) => a.termFlags !== undefined)
      assert.deepEqual(
        withFlags.map((a) => a.name),
        BUILT_IN_REGISTRY.names,
      )
      for (const app of withFlags) {
        const section = OPEN_USAGE.split(`Terms, ${app.name}:\n`)[1]?.split(/\n(?!  )/)[0] ?? ''
        const flags = app.termFlags ?? []
        assert.deepEqual(
          [...section.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]),
          flags.map((f) => f.flag),
          app.name,
        )
        // Every term has a flag, so the flags alone open a channel; no flag shadows open's own options.
        assert.deepEqual(flags.map((f) => f.term).sort(), app.terms.map((t) => t.name).sort(), app.name)
        for (const f of flags) assert.ok(![...own, ...own2].includes(f.flag), `--${f.flag}`)
      }
      assert.match(OPEN_USAGE, new RegExp(`--app <${BUILT_IN_REGISTRY.names.join('\\|')}>`))
    })

    it('open --term gives a built-in app its terms by name instead of its flags', async () => {
      node = await startCannedNode({ 'POST /v1/channels': { status: 201, body: summary() } })
      const io = createTestIo({ env: { CHANVM_API_URL: node.url } })
      const args = ['--app', 'tv-delivery', '--counterparty', BOB, '--role', 'first', '--balances', '1eth,0']
      args.push(
        '--nonce',
        '2',
        '--challenge',
        '90s',
        '--term',
        `oracles=["${ORACLE(1)}"]`,
        '--term',
        'quorum=1',
      )
      args.push('--term', 'price=5', '--term', 'deadline=9', '--term', 'trackingId=T1')
      assert.equal(await run(runOpenCommand, args, io), 0, io.stderr.join('\n'))
      assert.deepEqual((node.requests[0]!.body as { terms: unknown }).terms, {
        oracles: [ORACLE(1)],
        quorum: '1',
        price: '5',
        deadline: '9',
        trackingId: 'T1',
      })
    })

    it('act asks the node for the app, then sends the typed action', async () => {
      node = await startCannedNode({
        [`GET /v1/channels/${ID}`]: { body: summary() },
        [`POST /v1/channels/${ID}/actions`]: {
          body: {
            ok: true,
            signed: {
              state: {
                version: '4',
                balances: ['1000000000000000000', '1000000000000000000'],
                isFinal: false,
              },
            },
            gasUsed: '31000',
          },
        },
      })
      const io = createTestIo({ nowMs: 1_800_000_000_000 })
      const code = await run(
        runActCommand,
        [ID, 'fund', '--amount', '3eth', '--deadline', '+1d', '--api', node.url],
        io,
      )
      assert.equal(code, 0, io.stderr.join('\n'))
      assert.deepEqual(node.calls(), [`GET /v1/channels/${ID}`, `POST /v1/channels/${ID}/actions`])
      assert.deepEqual(node.requests[1]!.body, {
        app: 'escrow',
        type: 'fund',
        amount: '3000000000000000000',
        deadline: String(1_800_000_000 + 86_400),
      })
      assert.equal(
        io.stdout[0],
        'fund: co-signed version 4: payer 1 ETH, payee 1 ETH: 31000 gas in the sandbox',
      )
    })

    it('act with --app sends at once; a ruling carries its signature', async () => {
      node = await startCannedNode({ [`POST /v1/channels/${ID}/actions`]: { body: { ok: true } } })
      const io = createTestIo()
      const sig = `0x${'AB'.repeat(65)}`
      const code = await run(
        runActCommand,
        [ID, 'ruling', '--to-payer', '--arbiter-sig', sig, '--app', 'escrow', '--api', node.url],
        io,
      )
      assert.equal(code, 0, io.stderr.join('\n'))
      assert.deepEqual(node.calls(), [`POST /v1/channels/${ID}/actions`])
      assert.deepEqual(node.requests[0]!.body, {
        app: 'escrow',
        type: 'ruling',
        toPayee: false,
        arbiterSignature: sig.toLowerCase(),
      })
    })

    it("act refuses an action the channel's app does not have, after reading the app and before sending", async () => {
      node = await startCannedNode({ [`GET /v1/channels/${ID}`]: { body: summary({ app: 'tv-delivery' }) } })
      const io = createTestIo()
      assert.equal(await run(runActCommand, [ID, 'release', '--api', node.url], io), 2)
      assert.match(
        io.stderr.join('\n'),
        /runs tv-delivery, which has no action 'release' \(it has pay, claim, refund, close\)/,
      )
      assert.deepEqual(node.calls(), [`GET /v1/channels/${ID}`])
    })

    it('act: a step the counterparty refused is exit 1 with the reason', async () => {
      node = await startCannedNode({
        [`POST /v1/channels/${ID}/actions`]: {
          status: 409,
          body: {
            error: { code: 'PEER_REJECTED', message: '0xBob refused: not my deal', details: { ok: false } },
          },
        },
      })
      const io = createTestIo()
      assert.equal(
        await run(runActCommand, [ID, 'close', '--app', 'cold-chain', '--api', node.url, '--json'], io),
        1,
      )
      assert.deepEqual(node.requests[0]!.body, { app: 'cold-chain', type: 'close' })
      assert.deepEqual(io.json(), { error: { code: 'PEER_REJECTED', message: '0xBob refused: not my deal' } })
    })

    it("act: a step the app rejected shows the sandbox's reason", async () => {
      node = await startCannedNode({
        [`POST /v1/channels/${ID}/actions`]: {
          status: 409,
          body: {
            error: {
              code: 'STEP_REJECTED',
              message: 'the app rejected the step',
              details: {
                ok: false,
                reason: 'step-rejected',
                step: { reason: 'revert', message: 'Overspend(100, 50)' },
              },
            },
          },
        },
      })
      const io = createTestIo()
      assert.equal(await run(runActCommand, [ID, 'premium', '--app', 'cold-chain', '--api', node.url], io), 1)
      assert.deepEqual(io.stderr, ['chanvm act: the app rejected the step: Overspend(100, 50)'])
    })

    it('channels lists the summaries; --json keeps bigints as decimal strings', async () => {
      const list = [
        summary(),
        summary({
          channelId: `0x${'cd'.repeat(32)}`,
          app: 'cold-chain',
          me: 1,
          onChain: {
            status: 'dispute',
            version: '5',
            baseVersion: '4',
            finalizesAt: '1800000600',
            movesUntil: '0',
          },
        }),
      ]
      node = await startCannedNode({ 'GET /v1/channels': { body: { channels: list } } })
      let io = createTestIo()
      assert.equal(await run(runChannelsCommand, ['--api', node.url], io), 0)
      assert.equal(io.stdout.length, 2)
      assert.match(io.stdout[0]!, /^0xabab\S+ {2}escrow {6}payer {3}open {6}v3 {2}payer 4 ETH, payee 1 ETH$/)
      assert.match(
        io.stdout[1]!,
        /cold-chain +insurer .* on chain: dispute, version 5 \(forced from 4\), finalizes at /,
      )
      io = createTestIo()
      assert.equal(await run(runChannelsCommand, ['--api', node.url, '--json'], io), 0)
      assert.deepEqual(io.json(), list)
    })

    it('cancel posts the cancel and prints the channel as cancelled; a refusal is exit 1 with the node’s code', async () => {
      const OTHER = `0x${'ee'.repeat(32)}`
      node = await startCannedNode({
        [`POST /v1/channels/${ID}/cancel`]: {
          body: summary({ status: 'cancelled', phase: 'opening', version: '0' }),
        },
        [`POST /v1/channels/${OTHER}/cancel`]: {
          status: 409,
          body: {
            error: {
              code: 'NOT_CANCELLABLE',
              message: 'the open completed (phase open): it cannot be cancelled',
            },
          },
        },
      })
      let io = createTestIo()
      assert.equal(await run(runCancelCommand, [ID, '--api', node.url], io), 0, io.stderr.join('\n'))
      assert.deepEqual(node.calls(), [`POST /v1/channels/${ID}/cancel`])
      assert.match(io.stdout.join('\n'), /^status {4}cancelled \(off chain: opening\)$/m)
      io = createTestIo()
      assert.equal(await run(runCancelCommand, [OTHER, '--api', node.url, '--json'], io), 1)
      assert.equal((io.json() as { error: { code: string } }).error.code, 'NOT_CANCELLABLE')
    })

    it('show prints one channel; an unknown one is exit 1 with the node’s code', async () => {
      node = await startCannedNode({
        [`GET /v1/channels/${ID}`]: {
          body: summary({
            onChain: { status: 'open', version: '0', baseVersion: '0', finalizesAt: '0', movesUntil: '0' },
          }),
        },
        [`GET /v1/channels/0x${'ee'.repeat(32)}`]: {
          status: 404,
          body: { error: { code: 'CHANNEL_NOT_FOUND', message: 'no such channel' } },
        },
      })
      let io = createTestIo()
      assert.equal(
        await run(runShowCommand, [ID.toUpperCase().replace('0X', '0x'), '--api', node.url], io),
        0,
      )
      assert.deepEqual(node.calls(), [`GET /v1/channels/${ID}`])
      assert.match(io.stdout.join('\n'), /app {7}escrow, we are payer \(participant 0\)\n/)
      assert.match(io.stdout.join('\n'), /on chain {2}open, version 0$/)
      io = createTestIo()
      assert.equal(await run(runShowCommand, [`0x${'ee'.repeat(32)}`, '--api', node.url], io), 1)
      assert.equal(io.stderr[0], 'chanvm show: no such channel')
    })

    it('a server error or a malformed answer is exit 3; so is a node that is not there', async () => {
      node = await startCannedNode({
        'GET /v1/channels': [
          { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } },
          { body: { channels: [{ channelId: ID, version: 'three' }] } },
          { body: 'not json{' },
        ],
      })
      for (const expected of [
        /internal error/,
        /channels\[0\]\.app: expected a string/,
        /the answer is not JSON/,
      ]) {
        const io = createTestIo()
        assert.equal(await run(runChannelsCommand, ['--api', node.url], io), 3)
        assert.match(io.stderr.join('\n'), expected)
      }
      const url = node.url
      await node.close()
      const io = createTestIo()
      assert.equal(await run(runChannelsCommand, ['--api', url, '--json'], io), 3)
      assert.equal((io.json() as { error: { code: string } }).error.code, 'UNREACHABLE')
      node = await startCannedNode({})
    })

    it('a node that does not answer within --timeout is exit 3 (TIMEOUT)', async () => {
      node = await startCannedNode({ 'GET /v1/channels': { body: { channels: [] }, delayMs: 5_000 } })
      const io = createTestIo()
      const started = Date.now()
      assert.equal(await run(runChannelsCommand, ['--api', node.url, '--timeout', '1', '--json'], io), 3)
      assert.equal((io.json() as { error: { code: string } }).error.code, 'TIMEOUT')
      assert.ok(Date.now() - started < 4_000)
    })

    it('runCli dispatches the commands', async () => {
      node = await startCannedNode({ 'GET /v1/channels': { body: { channels: [] } } })
      const out: string[] = []
      const code = await runCli(['channels', '--api', node.url], { out: (l) => out.push(l), err: () => {} })
      assert.equal(code, 0)
      assert.deepEqual(out, ['no channels'])
      assert.deepEqual(node.calls(), ['GET /v1/channels'])
    })
  })

  describe('dispute', () => {
    const NOW = 1_800_000_000n
    const plan = (next: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
      channelId: ID,
      ours: { version: '7', balances: ['600000000000000000', '400000000000000000'], isFinal: false },
      held: { version: '5', baseVersion: '5', status: 'dispute', finalizesAt: String(NOW + 30n) },
      next,
      payouts: ['600000000000000000', '400000000000000000'],
      worthIt: true,
      ...over,
    })
    const register = plan(
      { step: 'register', gas: '120000', feeWei: '2400000000000000' },
      { held: undefined },
    )
    const waiting = (until: bigint, now: bigint) =>
      plan({ step: 'wait', until: String(until), reason: 'challenge period' }, { now: String(now) })
    const conclude = plan({ step: 'conclude', gas: '80000', feeWei: '1600000000000000' })
    const withdraw = plan(
      { step: 'withdraw', gas: '40000', feeWei: '800000000000000' },
      { held: { version: '7', baseVersion: '7', status: 'concluded', finalizesAt: String(NOW) } },
    )
    const done = plan({ step: 'none', reason: 'paid out' })
    const disputePath = `/v1/channels/${ID}/dispute`
    const serve = (plans: unknown) =>
      Array.isArray(plans) ? plans.map((body) => ({ body })) : { body: plans }

    it('register, wait with progress, conclude, withdraw: in this order, until nothing is left', async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve([
          register,
          waiting(NOW + 30n, NOW + 10n),
          waiting(NOW + 30n, NOW + 20n),
          conclude,
        ]),
        [`POST ${disputePath}`]: serve([waiting(NOW + 30n, NOW), withdraw, done]),
      })
      const io = createTestIo()
      const code = await run(runDisputeCommand, [ID, '--yes', '--poll', '10', '--api', node.url], io)
      assert.equal(code, 0, io.stderr.join('\n'))
      assert.deepEqual(
        node.calls().map((c) => c.split(' ')[0]),
        ['GET', 'POST', 'GET', 'GET', 'GET', 'POST', 'POST'],
      )
      for (const r of node.requests.filter((r) => r.method === 'POST')) assert.deepEqual(r.body, {})
      assert.deepEqual(io.sleeps, [10_000, 10_000, 10_000])
      const text = io.stdout.join('\n')
      const waits = io.stdout.filter((l) => l.startsWith('waiting:'))
      assert.deepEqual(
        waits.map((l) => l.split(' left')[0]),
        ['waiting: 30s', 'waiting: 20s', 'waiting: 10s'],
      )
      assert.match(text, /next {6}register: 120000 gas, fee 0\.0024 ETH/)
      assert.match(text, /payouts {3}#0 0\.6 ETH, #1 0\.4 ETH/)
      assert.match(text, /on chain {2}nothing registered/)
      const order = [
        'sending register',
        'waiting: 30s',
        'sending conclude',
        'sending withdraw',
        'done: paid out',
      ]
      let at = -1
      for (const marker of order) {
        const i = text.indexOf(marker, at + 1)
        assert.ok(i > at, `${marker} after the previous step`)
        at = i
      }
      assert.deepEqual(io.questions, [])
    })

    it('--json prints one document with every step sent and the final plan', async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve(conclude),
        [`POST ${disputePath}`]: serve([withdraw, done]),
      })
      const io = createTestIo()
      assert.equal(await run(runDisputeCommand, [ID, '--yes', '--json', '--api', node.url], io), 0)
      const doc = io.json() as {
        outcome: string
        steps: { step: string; gas: string; feeWei: string }[]
        plan: { next: { step: string } }
      }
      assert.equal(doc.outcome, 'done')
      assert.deepEqual(
        doc.steps.map((s) => [s.step, s.gas, s.feeWei]),
        [
          ['conclude', '80000', '1600000000000000'],
          ['withdraw', '40000', '800000000000000'],
        ],
      )
      assert.equal(doc.plan.next.step, 'none')
      assert.ok(io.stderr.some((l) => l.startsWith('sending conclude')))
    })

    it('without a terminal and without --yes it shows the plan and refuses before sending anything', async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve(register),
        [`POST ${disputePath}`]: serve(done),
      })
      const io = createTestIo({ isTTY: false })
      assert.equal(await run(runDisputeCommand, [ID, '--api', node.url], io), 2)
      assert.match(
        io.stderr.join('\n'),
        /refusing to send transactions without confirmation: stdin is not a terminal.*--yes/,
      )
      assert.match(io.stdout.join('\n'), /next {6}register/)
      assert.deepEqual(node.calls(), [`GET ${disputePath}`])
    })

    it('on a terminal it asks before each step and stops at a no', async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve(conclude),
        [`POST ${disputePath}`]: serve([withdraw, done]),
      })
      const io = createTestIo({ isTTY: true, answers: [true, false] })
      assert.equal(await run(runDisputeCommand, [ID, '--api', node.url], io), 1)
      assert.deepEqual(io.questions, [
        'Send conclude (80000 gas, fee 0.0016 ETH)?',
        'Send withdraw (40000 gas, fee 0.0008 ETH)?',
      ])
      assert.deepEqual(node.calls(), [`GET ${disputePath}`, `POST ${disputePath}`])
      assert.match(io.stdout.join('\n'), /not sending withdraw: not confirmed/)
    })

    it('a step not worth its fee is not sent unless --force, which the node is told', async () => {
      const costly = { ...conclude, worthIt: false }
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve(costly),
        [`POST ${disputePath}`]: serve(done),
      })
      let io = createTestIo()
      assert.equal(await run(runDisputeCommand, [ID, '--yes', '--api', node.url], io), 1)
      assert.match(io.stdout.join('\n'), /NOT worth its fee/)
      assert.match(
        io.stdout.join('\n'),
        /not sending conclude: its fee 0\.0016 ETH exceeds what it can win; --force/,
      )
      assert.deepEqual(node.calls(), [`GET ${disputePath}`])
      io = createTestIo()
      assert.equal(await run(runDisputeCommand, [ID, '--yes', '--force', '--api', node.url], io), 0)
      assert.deepEqual(node.requests.at(-1)!.body, { force: true })
    })

    it("the node's refusal of a step is exit 1 with its code", async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve(conclude),
        [`POST ${disputePath}`]: {
          status: 409,
          body: { error: { code: 'NOT_WORTH_IT', message: 'fee exceeds the gain' } },
        },
      })
      const io = createTestIo()
      assert.equal(await run(runDisputeCommand, [ID, '--yes', '--api', node.url, '--json'], io), 1)
      assert.deepEqual(io.json(), { error: { code: 'NOT_WORTH_IT', message: 'fee exceeds the gain' } })
    })

    it('stops after --max-steps when the node keeps offering steps', async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve(conclude),
        [`POST ${disputePath}`]: serve(conclude),
      })
      const io = createTestIo()
      assert.equal(await run(runDisputeCommand, [ID, '--yes', '--max-steps', '3', '--api', node.url], io), 1)
      assert.equal(node.requests.filter((r) => r.method === 'POST').length, 3)
    })

    it('near the end of the challenge period it wakes up just after it, not a poll period later', async () => {
      node = await startCannedNode({
        [`GET ${disputePath}`]: serve([waiting(NOW + 3n, NOW), done]),
      })
      const io = createTestIo()
      assert.equal(await run(runDisputeCommand, [ID, '--yes', '--poll', '30', '--api', node.url], io), 0)
      assert.deepEqual(io.sleeps, [3_500])
    })

    it('Ctrl-C while waiting is exit 130 and sends nothing more', async () => {
      node = await startCannedNode({ [`GET ${disputePath}`]: serve(waiting(NOW + 3600n, NOW)) })
      const controller = new AbortController()
      const io = createTestIo({ onSleep: () => controller.abort() })
      const code = await runDisputeCommand(
        [ID, '--yes', '--api', node.url],
        { out: io.out, err: io.err },
        controller.signal,
        io,
      )
      assert.equal(code, 130)
      assert.deepEqual(node.calls(), [`GET ${disputePath}`])
      assert.match(io.stdout.join('\n'), /waiting: 1h 00m 00s left/)
    })
  })
})
