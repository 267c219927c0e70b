export { checkApp, type CheckAppOptions } from './checkApp.ts'
export { judgeStep, type StepEvidence } from './judgeStep.ts'
export { describeOutcome } from './describeOutcome.ts'
export { formatCheckReport } from './formatCheckReport.ts'
export { runSandboxStep, type SandboxStepRequest } from './runSandboxStep.ts'
export { runCheckSequence, BLOCK_CONTEXT_SKEW, CHECK_CHALLENGE_DURATION } from './runCheckSequence.ts'
export { startCheckChain, CHECK_TX_GAS, type CheckChain, type ChainStepResult } from './startCheckChain.ts'
export type {
  ActionGas,
  CheckFinding,
  CheckKey,
  CheckOpening,
  CheckProgress,
  CheckReport,
  CheckStep,
  CheckSubject,
  FindingKind,
  StepContext,
  StepOutcome,
  StepRecord,
} from './types.ts'
