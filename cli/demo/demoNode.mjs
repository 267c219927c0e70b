// Runs the demo-node entry (demoNodeMain.ts) from any working directory: bundled when the bundle of
// the `chanvm` command is current (cli/bundleEntry.mjs), through tsx otherwise.
import { bundleEntry } from '../bundleEntry.mjs'

const bundle = bundleEntry('demoNode')
if (bundle !== undefined) await import(bundle)
else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('./demoNodeMain.ts')
}
