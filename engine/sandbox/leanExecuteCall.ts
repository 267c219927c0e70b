import type { Common } from '@ethereumjs/common'
import { Account } from '@ethereumjs/util'

type CallMessage = {
  to: unknown
  caller: unknown
  gasLimit: bigint
  gasRefund: bigint
  depth: number
  data?: Uint8Array
  delegatecall: boolean
  isCompiled: boolean
  code?: Uint8Array | ((...args: never[]) => unknown)
  readonly codeAddress: unknown
}
type ExecResult = { executionGasUsed: bigint; gasRefund?: bigint }
type CallEvm = {
  common: Common
  DEBUG: boolean
  _optsCached: { profiler?: { enabled?: boolean } }
  stateManager: { getAccount(address: unknown): Promise<Account | undefined> }
  _executeCall(message: CallMessage): Promise<{ execResult: ExecResult }>
  _reduceSenderBalance(account: Account, message: CallMessage): Promise<void>
  _addToBalance(account: Account, message: CallMessage): Promise<void>
  _loadCode(message: CallMessage): Promise<void>
  runPrecompile(code: unknown, data: Uint8Array | undefined, gasLimit: bigint): Promise<ExecResult>
  runInterpreter(message: object, opts: { initialLogs?: unknown }): Promise<ExecResult>
  postMessageCleanup(): void
}

/**
 * EIPs whose charges or records `_executeCall` of `@ethereumjs/evm` 10.1.3 makes around a call
 * (EIP-7864 and EIP-6800 witness gas, EIP-2780 top-frame charges, EIP-7928 access lists, EIP-7708
 * transfer logs). With none of them active its work is what {@link leanExecuteCall} does.
 */
const AROUND_CALL_EIPS = [7864, 6800, 2780, 7928, 7708]

/**
 * Gives `evm` an `_executeCall` that is the stock one of `@ethereumjs/evm` 10.1.3 (the caller must
 * have checked the release) for a hardfork without the EIPs in {@link AROUND_CALL_EIPS}, but for how
 * it hands the message to the interpreter: the stock one spreads the Message into a literal that
 * already holds `codeAddress` (`{ ...{ codeAddress }, ...message, gasLimit }`), which V8 copies
 * property by property on its slow path, about 20 µs per call; this one copies the same properties
 * in the same order with `Object.assign`. Every read, write, charge and result is the stock one's,
 * in its order. With one of those EIPs active, DEBUG or the profiler on, the stock method runs.
 */
export function leanExecuteCall(evm: object): void {
  const e = evm as CallEvm
  const stock = e._executeCall
  e._executeCall = async function (this: CallEvm, message: CallMessage) {
    if (
      this.DEBUG ||
      this._optsCached.profiler?.enabled === true ||
      AROUND_CALL_EIPS.some((eip) => this.common.isActivatedEIP(eip))
    )
      return stock.call(this, message)
    const gasLimit = message.gasLimit
    let account = await this.stateManager.getAccount(message.caller)
    if (!account) account = new Account()
    let errorMessage: unknown
    // Reduce tx value from sender
    if (!message.delegatecall) {
      try {
        await this._reduceSenderBalance(account, message)
      } catch (err) {
        errorMessage = err
      }
    }
    // Load `to` account
    let toAccount = await this.stateManager.getAccount(message.to)
    if (!toAccount) toAccount = new Account()
    // Add tx value to the `to` account
    if (!message.delegatecall) {
      try {
        await this._addToBalance(toAccount, message)
      } catch (err) {
        errorMessage = err
      }
    }
    await this._loadCode(message)
    const code = message.code
    if (!code || (typeof code !== 'function' && code.length === 0) || errorMessage !== undefined) {
      return {
        execResult: {
          gasRefund: message.gasRefund,
          executionGasUsed: message.gasLimit - gasLimit,
          exceptionError: errorMessage,
          returnValue: new Uint8Array(0),
          logs: undefined,
        } as ExecResult,
      }
    }
    let result: ExecResult
    if (message.isCompiled) {
      result = await this.runPrecompile(code, message.data, gasLimit)
      result.gasRefund = message.gasRefund
    } else {
      result = await this.runInterpreter(
        Object.assign({ codeAddress: message.codeAddress }, message, { gasLimit }),
        { initialLogs: undefined },
      )
    }
    if (message.depth === 0) this.postMessageCleanup()
    result.executionGasUsed += message.gasLimit - gasLimit
    return { execResult: result }
  }
}
