import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { ChanvmError } from '../../engine/errors.ts'
import { loadNodeConfig, parseNodeConfig } from '../../node/config.ts'

const good = {
  dataDir: 'data',
  keystore: 'keys/alice.json',
  chain: {
    rpcUrl: 'http://127.0.0.1:8545',
    chainId: 31337,
    adjudicator: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    confirmations: 0,
    pollingIntervalMs: 500,
    apps: { escrow: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' },
  },
  broker: { url: 'mqtt://127.0.0.1:1883', clientId: 'alice', passwordEnv: 'BROKER_PASSWORD' },
  http: { host: '127.0.0.1', port: 0 },
  inputs: [{ topic: 'chanvm/v1/devices/+/readings', signers: [`0x${'ab'.repeat(32)}`] }],
  responseTimeoutMs: 5000,
  messagesPerTurn: 4,
}

/** The CONFIG error `f` throws. */
async function configError(f: () => unknown): Promise<ChanvmError> {
  try {
    await f()
  } catch (e) {
    assert(e instanceof ChanvmError, `expected a ChanvmError, got ${String(e)}`)
    assert.equal(e.code, 'CONFIG')
    return e
  }
  assert.fail('expected a CONFIG error')
}

describe('node config', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-config-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, body: unknown) => {
    const path = join(dir, name)
    writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body))
    return path
  }

  it('a good file loads with its relative paths taken from its folder', async () => {
    mkdirSync(join(dir, 'alice'), { recursive: true })
    const path = write('alice/node.json', good)
    const c = await loadNodeConfig(path)
    assert.equal(c.dataDir, join(dir, 'alice', 'data'))
    assert.equal(c.keystore, join(dir, 'alice', 'keys', 'alice.json'))
    assert.deepEqual(c.chain, good.chain)
    assert.deepEqual(c.inputs, good.inputs)
    assert.equal(c.messagesPerTurn, 4)
  })

  it('absolute paths stay as they are; the optional sections may be left out', async () => {
    const { http: _h, inputs: _i, responseTimeoutMs: _r, ...rest } = good
    const c = await loadNodeConfig(
      write('abs.json', { ...rest, dataDir: '/var/lib/chanvm', keystore: '/k.json' }),
    )
    assert.equal(c.dataDir, '/var/lib/chanvm')
    assert.equal(c.keystore, '/k.json')
  })

  it('a missing file and bad JSON are CONFIG errors naming the file', async () => {
    const missing = join(dir, 'missing.json')
    assert.match((await configError(() => loadNodeConfig(missing))).message, /missing\.json/)
    const bad = write('bad.json', '{ "dataDir": ')
    assert.match((await configError(() => loadNodeConfig(bad))).message, /bad\.json is not JSON/)
  })

  const cases: [string, unknown, RegExp][] = [
    ['an unknown top-level field', { ...good, privateKey: '0x01' }, /privateKey is not a known field/],
    [
      'an unknown nested field',
      { ...good, chain: { ...good.chain, gas: 1 } },
      /chain\.gas is not a known field/,
    ],
    ['a missing field', { ...good, broker: {} }, /broker\.url is missing/],
    ['a missing section', { ...good, chain: undefined }, /chain is missing/],
    [
      'a bad address',
      { ...good, chain: { ...good.chain, adjudicator: '0x12' } },
      /chain\.adjudicator must be an address/,
    ],
    [
      'a chain id as text',
      { ...good, chain: { ...good.chain, chainId: '31337' } },
      /chain\.chainId must be integer/,
    ],
    [
      'a bad rpc URL',
      { ...good, chain: { ...good.chain, rpcUrl: 'ftp://x' } },
      /chain\.rpcUrl must be a URL/,
    ],
    [
      'an app name that cannot be one',
      { ...good, chain: { ...good.chain, apps: { 'Poker Night': good.chain.adjudicator } } },
      /chain\.apps/,
    ],
    ['an app manifest that is not a path', { ...good, apps: [42] }, /apps\[0\]/],
    [
      'a bad signer id',
      { ...good, inputs: [{ topic: 't', signers: ['0xab'] }] },
      /inputs\[0\]\.signers\[0\] must be 32 bytes/,
    ],
    ['a port out of range', { ...good, http: { port: 70000 } }, /http\.port must be <= 65535/],
    [
      'a bad variable name',
      { ...good, broker: { url: good.broker.url, passwordEnv: 'a b' } },
      /broker\.passwordEnv must be an environment variable name/,
    ],
    ['not an object', [1, 2], /\(top level\) must be object/],
    [
      'no messages per turn',
      { ...good, messagesPerTurn: 0 },
      /messagesPerTurn must be a whole number of messages from 1 to 4096/,
    ],
    [
      'a fraction of a message per turn',
      { ...good, messagesPerTurn: 2.5 },
      /messagesPerTurn must be a whole number/,
    ],
    ['too many messages per turn', { ...good, messagesPerTurn: 4097 }, /from 1 to 4096/],
    [
      'messages per turn as text',
      { ...good, messagesPerTurn: '8' },
      /messagesPerTurn must be a whole number/,
    ],
  ]
  for (const [what, body, message] of cases) {
    it(`${what} is a CONFIG error that names the field`, async () => {
      const path = write('case.json', body)
      const e = await configError(() => loadNodeConfig(path))
      assert.match(e.message, message)
      assert.match(e.message, /case\.json/)
    })
  }

  it('any extra field anywhere in the chain section is refused (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(k in good.chain) && k !== '__proto__'),
        fc.jsonValue(),
        (key, value) => {
          assert.throws(
            () => parseNodeConfig({ ...good, chain: { ...good.chain, [key]: value } }),
            (e: unknown) =>
              e instanceof ChanvmError && e.code === 'CONFIG' && e.message.includes('is not a known field'),
          )
        },
      ),
      { numRuns: 100 },
    )
  })
})
