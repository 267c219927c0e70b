export {
  createSandbox,
  defaultSandboxLimits,
  type Sandbox,
  type SandboxLimits,
  type SandboxFailure,
  type StaticCallRequest,
  type StaticCallResult,
} from './createSandbox.ts'
export {
  runTransition,
  type RunTransitionRequest,
  type StepResult,
  type StepRejection,
} from './runTransition.ts'
export { decodeRevert, type DecodedRevert } from './decodeRevert.ts'
