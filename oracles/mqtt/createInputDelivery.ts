import type { VerifiedInput } from '../../engine/inputs/types.ts'
import type { InputValidator } from './createInputValidator.ts'
import { createHandlerLatch } from './createHandlerLatch.ts'

/** A receiver of verified inputs. */
export type InputHandler = (input: VerifiedInput) => void | Promise<void>

/** The input handlers of an input source and how a verified input reaches them. */
export type InputDelivery = {
  /** Registers a handler; a verified input waiting for the first one is handed to it. */
  onInput(handler: InputHandler): () => void
  /**
   * Runs every handler of a verified input (waiting for one to be registered); rejects when one
   * threw or rejected. Returns undefined when all of them returned without a promise.
   */
  runHandlers(input: VerifiedInput): Promise<void> | undefined
  /**
   * Runs the handlers of an input judged on arrival, then makes its mark durable: resolves (or
   * returns undefined, when no handler returned a promise) once the input may be acknowledged;
   * rejects (or throws) when it must not be, its mark forgotten.
   */
  deliver(input: VerifiedInput): Promise<void> | undefined
  /** Drops every handler; an input waiting for one is abandoned. */
  close(): void
}

/**
 * The input handlers of an input source. A verified input that arrives before any input handler
 * is registered (the backlog a persistent session delivers right after CONNACK) waits,
 * unacknowledged, until one is. A handler that throws or rejects is logged and its input's replay
 * mark forgotten: the broker's copy must be accepted again, not dropped as a duplicate.
 *
 * @example
 * ```ts
 * const delivery = createInputDelivery({ validator, log })
 * delivery.onInput((input) => book.add(input))
 * await delivery.deliver(verdict.input)
 * ```
 */
export function createInputDelivery(ctx: {
  validator: Pick<InputValidator, 'forget' | 'commit'>
  log: (line: string) => void
}): InputDelivery {
  const { validator, log } = ctx
  const inputHandlers = new Set<InputHandler>()
  const latch = createHandlerLatch()

  const failedHandler = (input: VerifiedInput, reason: unknown): never => {
    log(`an input handler threw: ${(reason as Error)?.message ?? String(reason)}`)
    // The broker's copy must be accepted again, not dropped as a duplicate.
    validator.forget(input)
    throw reason
  }

  // Once every handler completed, the mark is made durable, then the reading is acknowledged. A
  // store that fails leaves it unacknowledged and not accepted, like a failed handler.
  const commit = (input: VerifiedInput): void => {
    try {
      validator.commit(input)
    } catch (e) {
      failedHandler(input, e)
    }
  }

  const runHandlers = (input: VerifiedInput): Promise<void> | undefined => {
    if (inputHandlers.size === 0) return latch.wait().then(() => runHandlers(input))
    const pending: PromiseLike<unknown>[] = []
    for (const h of [...inputHandlers]) {
      let result: unknown
      try {
        result = h(input)
      } catch (e) {
        pending.push(Promise.reject(e))
        continue
      }
      if (typeof (result as { then?: unknown } | undefined)?.then === 'function')
        pending.push(result as PromiseLike<unknown>)
    }
    if (pending.length === 0) return undefined
    return Promise.allSettled(pending).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    })
  }

  // Acknowledged once every handler returned or its promise resolved and the mark is durable; a
  // handler that throws or rejects is logged and leaves the reading unacknowledged and not
  // accepted (the broker sends it again). Handlers that return no promise are run without one.
  const deliver = (input: VerifiedInput): Promise<void> | undefined => {
    const run = runHandlers(input)
    if (run === undefined) {
      commit(input)
      return undefined
    }
    return run.then(
      () => commit(input),
      (e: unknown) => {
        failedHandler(input, e)
        commit(input)
      },
    )
  }

  return {
    onInput(handler) {
      inputHandlers.add(handler)
      latch.open()
      return () => inputHandlers.delete(handler)
    },
    runHandlers,
    deliver,
    close() {
      inputHandlers.clear()
      latch.abandon(new Error('input source closed'))
    },
  }
}
