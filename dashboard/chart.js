// The readings chart (uPlot): each signed reading at its signed time, the app's allowed range as
// two lines, readings outside it marked, and refused inputs from the device as red ticks along
// the bottom at the time they arrived.
import uPlot from './vendor/uPlot.esm.js'

const C = { value: '#1f6feb', range: '#8b949e', out: '#d1242f', refused: '#d1242f' }

/** Draws the refused inputs as ticks on the time axis. */
function refusedTicks(times) {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx
          ctx.save()
          ctx.strokeStyle = C.refused
          ctx.lineWidth = 2 * devicePixelRatio
          const y0 = u.bbox.top + u.bbox.height
          for (const t of times) {
            const x = u.valToPos(t, 'x', true)
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue
            ctx.beginPath()
            ctx.moveTo(x, y0)
            ctx.lineTo(x, y0 - 14 * devicePixelRatio)
            ctx.stroke()
          }
          ctx.restore()
        },
      ],
    },
  }
}

/**
 * Renders (or re-renders) the chart into `el`. `readings` are accepted readings
 * `{ t, value }` (seconds, app units), `range` `{ min, max }` in app units, `refused` arrival
 * times in seconds. Values are shown in °C (milli-degrees / 1000).
 */
export function renderReadingsChart(el, { readings, range, refused }, previous) {
  previous?.destroy()
  el.replaceChildren()
  const xs = readings.map((r) => r.t)
  const vals = readings.map((r) => r.value / 1000)
  const min = range.min / 1000
  const max = range.max / 1000
  const outside = readings.map((r) => (r.value < range.min || r.value > range.max ? r.value / 1000 : null))
  const data = [xs, vals, xs.map(() => min), xs.map(() => max), outside]
  const width = Math.max(320, Math.min(el.clientWidth || 860, 1100))
  const opts = {
    width,
    height: 280,
    title: undefined,
    legend: { show: false },
    scales: {
      x: {
        time: true,
        // the refused inputs' arrival times are on the axis too
        range: (_u, lo, hi) => [Math.min(lo, ...refused), Math.max(hi, ...refused)],
      },
    },
    axes: [{}, { label: '°C', values: (_u, ticks) => ticks.map((t) => t.toFixed(1)) }],
    series: [
      { label: 'time' },
      { label: 'reading °C', stroke: C.value, width: 2, points: { show: true, size: 6 } },
      { label: 'min', stroke: C.range, dash: [6, 4], width: 1, points: { show: false } },
      { label: 'max', stroke: C.range, dash: [6, 4], width: 1, points: { show: false } },
      { label: 'out of range', stroke: C.out, width: 0, points: { show: true, size: 9, fill: C.out } },
    ],
    plugins: [refusedTicks(refused)],
  }
  return new uPlot(opts, data, el)
}
