import type { Hex } from 'viem'
import type { AppModule } from '../apps/types.ts'
import type { State } from '../engine/channel/types.ts'
import { ChanvmError } from '../engine/errors.ts'
import type { InputBook } from './createInputBook.ts'
import type { AppAction } from './types.ts'

/** Most readings one action hands in when its manifest does not say (cold-chain's `report`). */
export const MAX_REPORT_READINGS = 32

/**
 * The encoded action an app action stands for, on top of `base` (the state the next step builds
 * on): the action named by `action` (or `type`), its arguments from `args` or from the fields
 * beside `type`, checked against the app's ABI types; arguments the app fills from verified inputs
 * (readings, oracle answers) come from `inputs`. An action of another app, an unknown one, a bad
 * argument or one without the inputs it needs is `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const calldata = actionToCalldata(app, { type: 'fund', args: { amount: '1000', deadline: '1700000000' } }, base, book)
 * await party.update(channelId, calldata)
 * ```
 */
export function actionToCalldata(
  app: AppModule,
  action: AppAction,
  base: State,
  inputs: Pick<InputBook, 'answers' | 'readings'>,
  channelId: Hex = base.channelId,
): Hex {
  if (typeof action !== 'object' || action === null || Array.isArray(action))
    throw bad('an action is an object with its type (or action) and arguments', channelId)
  const { app: named, type, action: actionName, args, ...fields } = action
  if (named !== undefined && named !== app.name)
    throw bad(`the channel runs ${app.name}, the action is for ${String(named)}`, channelId)
  const name = actionName ?? type
  if (typeof name !== 'string') throw bad('an action names its type (or action)', channelId)
  if (actionName !== undefined && type !== undefined && actionName !== type)
    throw bad(`the action is named twice: type ${String(type)}, action ${String(actionName)}`, channelId)
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))
    throw bad('args must be an object of named arguments', channelId)
  if (args !== undefined && Object.keys(fields).length > 0)
    throw bad(
      `arguments come in args or beside type, not both (${Object.keys(fields).join(', ')})`,
      channelId,
    )
  return app.encodeAction(name, args ?? fields, { base, channelId, inputs })
}

/** A bad action's error (a function, not a closure made for every action). */
function bad(why: string, channelId: Hex): ChanvmError {
  return new ChanvmError('INVALID_ARGUMENT', why, { channelId })
}
