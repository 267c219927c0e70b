// errorToReply: a chain endpoint that did not answer is 504 CHAIN_TIMEOUT and a broker that is not
// connected is 503 BROKER_UNAVAILABLE, each with the error's own message and details and neither
// logged as an internal error; an unknown failure stays a bare, logged 500.
import assert from 'node:assert/strict'
import { ChanvmError } from '../../engine/errors.ts'
import { errorToReply } from '../../node/http/errorToReply.ts'

describe('errorToReply', () => {
  it('APP_CODE_MISMATCH (an open whose app contract is other code) is 409 with both code hashes, not an internal error', () => {
    const details = [`code hash on chain 0x${'2f'.repeat(32)}, expected 0x${'d1'.repeat(32)}`]
    const reply = errorToReply(
      new ChanvmError(
        'APP_CODE_MISMATCH',
        'chain.apps.tab 0x… does not run the tab app: the channel is refused',
        {
          details,
        },
      ),
    )
    assert.deepEqual(reply, {
      status: 409,
      body: {
        error: {
          code: 'APP_CODE_MISMATCH',
          message: 'chain.apps.tab 0x… does not run the tab app: the channel is refused',
          details,
        },
      },
      internal: false,
    })
  })

  it('CHAIN_TIMEOUT is 504 with its code and message, not an internal error', () => {
    const reply = errorToReply(
      new ChanvmError('CHAIN_TIMEOUT', 'http://127.0.0.1:8545 did not answer eth_call within 1000 ms'),
    )
    assert.deepEqual(reply, {
      status: 504,
      body: {
        error: {
          code: 'CHAIN_TIMEOUT',
          message: 'http://127.0.0.1:8545 did not answer eth_call within 1000 ms',
        },
      },
      internal: false,
    })
  })

  it('BROKER_UNAVAILABLE is 503 with its code, message and details, not an internal error', () => {
    const reply = errorToReply(
      new ChanvmError('BROKER_UNAVAILABLE', 'the MQTT broker mqtt://127.0.0.1:1883 is not connected', {
        details: ['nothing was signed; try again once the broker is back'],
      }),
    )
    assert.deepEqual(reply, {
      status: 503,
      body: {
        error: {
          code: 'BROKER_UNAVAILABLE',
          message: 'the MQTT broker mqtt://127.0.0.1:1883 is not connected',
          details: ['nothing was signed; try again once the broker is back'],
        },
      },
      internal: false,
    })
  })

  it('an error code with no status of its own stays a 500 logged as internal', () => {
    const reply = errorToReply(new ChanvmError('STORE_ERROR', 'the store could not write'))
    assert.equal(reply.status, 500)
    assert.equal(reply.internal, true)
  })
})
