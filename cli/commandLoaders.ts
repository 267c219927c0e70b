import type { CliCommand } from './commands/commandIo.ts'

/**
 * The subcommands of {@link COMMANDS} (cli/runCli.ts), each loaded only when it runs: what the
 * `chanvm` process dispatches through (cli/main.ts), so `chanvm channels` does not load the EVM, solc
 * or the demos. Same names, same functions.
 */
export const COMMAND_LOADERS: Readonly<Record<string, () => Promise<CliCommand>>> = {
  node: async () => (await import('./commands/node.ts')).runNodeCommand,
  open: async () => (await import('./commands/open.ts')).runOpenCommand,
  act: async () => (await import('./commands/act.ts')).runActCommand,
  channels: async () => (await import('./commands/channels.ts')).runChannelsCommand,
  show: async () => (await import('./commands/show.ts')).runShowCommand,
  cancel: async () => (await import('./commands/cancel.ts')).runCancelCommand,
  dispute: async () => (await import('./commands/dispute.ts')).runDisputeCommand,
  device: async () => (await import('./commands/device.ts')).runDeviceCommand,
  deploy: async () => (await import('./commands/deploy.ts')).runDeployCommand,
  key: async () => (await import('./commands/keyNew.ts')).runKeyNewCommand,
  app: async () => (await import('./commands/appCheck.ts')).runAppCommand,
}
