export {
  createAdjudicatorClient,
  type AdjudicatorClient,
  type CreateAdjudicatorClientOptions,
} from './createAdjudicatorClient.ts'
export { deposit, type DepositArgs, type DepositResult } from './deposit.ts'
export { register, type RegisterArgs } from './register.ts'
export { forceProgress, type ForceProgressArgs, type ForceProgressResult } from './forceProgress.ts'
export { estimateForceProgressGas } from './estimateForceProgressGas.ts'
export { conclude, type ConcludeArgs } from './conclude.ts'
export { concludeFinal, type ConcludeFinalArgs } from './concludeFinal.ts'
export { withdraw, type WithdrawArgs } from './withdraw.ts'
export { reclaimDeposit, type ReclaimDepositArgs } from './reclaimDeposit.ts'
export { getChannelRecord, type ChannelRecord } from './getChannelRecord.ts'
export { getWithdrawable } from './getWithdrawable.ts'
export { getDeposit } from './getDeposit.ts'
export { getDeposits } from './getDeposits.ts'
export { outranksHeld, type HeldRecord } from './outranksHeld.ts'
export { hashMove, moveTypes } from './hashMove.ts'
export { signMove } from './signMove.ts'
export { submitAdjudicatorTx, type TxResult, type AdjudicatorLog } from './submitAdjudicatorTx.ts'
export { toAdjudicatorError, AdjudicatorRevertError } from './toAdjudicatorError.ts'
