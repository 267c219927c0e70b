// What an app's state means to a person, read with the app module's own decoders.
import type { Hex } from 'viem'
import type { AppModule } from '../apps/types.ts'
import type { AppStateView } from './journalTypes.ts'

/**
 * The name of an app action from its calldata, or undefined when the calldata is not one of the
 * app's actions.
 *
 * @example
 * ```ts
 * actionName(app, calldata) // 'premium'
 * ```
 */
export function actionName(app: AppModule, calldata: Hex): string | undefined {
  return app.actionName(calldata)
}

/**
 * What the state `appData` of a channel of `app` means: a headline, labelled fields, and for apps
 * fed by a device or by oracles, whose messages and in what range. A state that does not decode is
 * described as such.
 *
 * @example
 * ```ts
 * const view = describeAppState(app, state.appData)
 * view.headline
 * ```
 */
export function describeAppState(app: AppModule, appData: Hex): AppStateView {
  return { app: app.name, ...app.describeState(appData) }
}
