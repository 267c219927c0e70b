// Copies the files the dashboard takes from npm packages (uPlot's ES module and styles) into
// dashboard/vendor/, so the node serves them itself: nothing is fetched at run time.
import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const vendor = join(here, 'vendor')
const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'))

mkdirSync(vendor, { recursive: true })
for (const [from, to] of [
  ['dist/uPlot.esm.js', 'uPlot.esm.js'],
  ['dist/uPlot.min.css', 'uPlot.min.css'],
  ['LICENSE', 'uPlot.LICENSE.txt'],
] as const) {
  copyFileSync(join(uplot, from), join(vendor, to))
}
console.log(`dashboard: copied uPlot into ${vendor}`)
