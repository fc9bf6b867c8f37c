// Density through E2B's API: creates N sandboxes with the unmodified `e2b`
// SDK (default limits: the SDK asks for nothing, the node's defaults
// apply), keeps them all alive, samples an exec in 1 % of them, then kills
// them all. Not part of CI. Reads E2B_API_KEY, E2B_API_URL and
// E2B_SANDBOX_URL like any E2B program, and:
//   DENSITY_N            sandboxes (default 1000)
//   DENSITY_CONCURRENCY  creates in flight (default 8)
// Prints one JSON object: created, refused (429) with the first refusal's
// message, other errors, create rate, MemAvailable before/after divided by
// the sandboxes, exec p50/p99 of the sample, and the time to kill them all.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const modules = process.env.DENSITY_NODE_MODULES || join(here, '..', 'tests', 'e2b', 'node_modules')
const { Sandbox } = await import(pathToFileURL(join(modules, 'e2b', 'dist', 'index.mjs')))

const n = Number(process.env.DENSITY_N || 1000)
const concurrency = Number(process.env.DENSITY_CONCURRENCY || 8)

function memAvailableKiB() {
  const line = readFileSync('/proc/meminfo', 'utf8').split('\n').find((l) => l.startsWith('MemAvailable:'))
  return Number(line.split(/\s+/)[1])
}

function percentile(sorted, p) {
  if (!sorted.length) return null
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

// Runs `task(i)` for i in [0, count) with at most `limit` in flight.
async function pool(count, limit, task) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

const result = { n, concurrency, created: 0, refused: 0, firstRefusal: null, errors: 0, firstError: null }
const boxes = []
const memBefore = memAvailableKiB()
const createStart = performance.now()
await pool(n, concurrency, async () => {
  try {
    boxes.push(await Sandbox.create({ timeoutMs: 3600_000 }))
    result.created++
  } catch (e) {
    const message = String(e?.message ?? e)
    if (/429|no node can take|short of memory|Rate limit/i.test(message) || e?.name === 'RateLimitError') {
      result.refused++
      result.firstRefusal ??= message
    } else {
      result.errors++
      result.firstError ??= message
    }
  }
})
const createS = (performance.now() - createStart) / 1000
result.createPerSecond = Number((result.created / createS).toFixed(1))
await new Promise((r) => setTimeout(r, 3000)) // memory settles; the node measures
const memAfter = memAvailableKiB()
result.memAvailableDropMiB = Number(((memBefore - memAfter) / 1024).toFixed(1))
result.perSandboxMiB = boxes.length ? Number(((memBefore - memAfter) / 1024 / boxes.length).toFixed(3)) : null

// An exec in a random 1 % (at least one) of the live sandboxes.
const sample = boxes.filter(() => Math.random() < 0.01)
if (!sample.length && boxes.length) sample.push(boxes[0])
const execMs = []
for (const sbx of sample) {
  const t = performance.now()
  try {
    const r = await sbx.commands.run('echo ok')
    if (r.stdout !== 'ok\n') throw new Error(`stdout ${JSON.stringify(r.stdout)}`)
    execMs.push(performance.now() - t)
  } catch (e) {
    result.errors++
    result.firstError ??= `exec: ${e?.message ?? e}`
  }
}
execMs.sort((a, b) => a - b)
result.execSampled = execMs.length
result.execP50Ms = execMs.length ? Number(percentile(execMs, 50).toFixed(1)) : null
result.execP99Ms = execMs.length ? Number(percentile(execMs, 99).toFixed(1)) : null

const killStart = performance.now()
let killFailed = 0
await pool(boxes.length, concurrency, async (i) => {
  try {
    await boxes[i].kill()
  } catch {
    killFailed++
  }
})
result.killSeconds = Number(((performance.now() - killStart) / 1000).toFixed(1))
result.killFailed = killFailed
console.log(JSON.stringify(result))
process.exit(result.errors || killFailed ? 1 : 0)
