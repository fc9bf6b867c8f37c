// Admission under real memory pressure, through E2B's API (not part of CI):
// against a node on ./run.sh's defaults, creates sandboxes one at a time
// with the unmodified `e2b` SDK (default limits) and makes each really use
// memory: a process in it holds up to HOLD_MIB (default 448, under the
// default limit of 512 MiB) of written pages. As the node fills, each hold is
// sized to leave about 4 MiB of the node's room, read where the node reads
// it: the sandboxes' parent cgroup (its limit is the node's capacity, its
// working set what they use) and the host's MemAvailable above the floor
// (--host-memory-floor's default, max(256 MiB, 1 %)). Once that room is below
// the 8 MiB a new sandbox needs, the next create must be refused with a 429
// naming the memory; every sandbox is killed at the end.
// Reads E2B_API_KEY, E2B_API_URL and E2B_SANDBOX_URL like any E2B program,
// and PRESSURE_CGROUP (default soulbox, as --cgroup-parent).
// Prints one JSON object; exits 1 unless the refusal came as described.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const modules = process.env.PRESSURE_NODE_MODULES || join(here, '..', 'tests', 'e2b', 'node_modules')
const { Sandbox } = await import(pathToFileURL(join(modules, 'e2b', 'dist', 'index.mjs')))

const MiB = 1 << 20
const parent = process.env.PRESSURE_CGROUP || 'soulbox'
const holdMiB = Number(process.env.HOLD_MIB || 448)
const leaveMiB = 4 // what the last hold leaves: less than a new sandbox's 8 MiB

function statField(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return line ? Number(line.split(' ')[1]) : 0
}

// The node's figures for its sandboxes: capacity (the parent's cap) and the
// working set (usage minus inactive page cache), cgroup v1 or v2.
function nodeMemory() {
  const v1 = `/sys/fs/cgroup/memory/${parent}`
  if (existsSync(v1)) {
    const usage = Number(readFileSync(`${v1}/memory.usage_in_bytes`, 'utf8'))
    const stat = readFileSync(`${v1}/memory.stat`, 'utf8')
    return {
      capacity: Number(readFileSync(`${v1}/memory.limit_in_bytes`, 'utf8')),
      inUse: usage - statField(stat, 'total_inactive_file'),
    }
  }
  const v2 = `/sys/fs/cgroup/${parent}`
  const current = Number(readFileSync(`${v2}/memory.current`, 'utf8'))
  return {
    capacity: Number(readFileSync(`${v2}/memory.max`, 'utf8')),
    inUse: current - statField(readFileSync(`${v2}/memory.stat`, 'utf8'), 'inactive_file'),
  }
}

function meminfoKiB(key) {
  const line = readFileSync('/proc/meminfo', 'utf8').split('\n').find((l) => l.startsWith(key + ':'))
  return Number(line.split(/\s+/)[1])
}
const hostFloor = Math.max(256 * MiB, (meminfoKiB('MemTotal') * 1024) / 100)

// What the node still has for sandboxes, in MiB.
function roomMiB() {
  const m = nodeMemory()
  const underCapacity = m.capacity - m.inUse
  const aboveFloor = meminfoKiB('MemAvailable') * 1024 - hostFloor
  return Math.floor(Math.min(underCapacity, aboveFloor) / MiB)
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// A process in `sbx` that writes `mib` MiB and keeps them; resolves once
// they are written.
async function hold(sbx, mib) {
  let said = ''
  const held = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'held' after 60 s: ${said}`)), 60000)
    sbx.commands
      .run(`python3 -c "import time; b = b'\\x01' * (${mib} << 20); print('held', flush=True); time.sleep(7200)"`, {
        background: true,
        timeoutMs: 0,
        onStdout: (d) => {
          said += d
          if (said.includes('held')) {
            clearTimeout(timer)
            resolve()
          }
        },
        onStderr: (d) => (said += d),
      })
      .catch(reject)
  })
  await held
}

const result = { holdMiB, created: 0, heldMiB: 0, refused: false, refusal: null, errors: [], steps: [] }
const boxes = []
try {
  for (let i = 0; i < 1000; i++) {
    await sleep(2500) // the node reads the working set every second
    const before = roomMiB()
    let sbx
    try {
      sbx = await Sandbox.create({ timeoutMs: 1800_000 })
    } catch (e) {
      const message = String(e?.message ?? e)
      if (/429|short of memory|no node can take/i.test(message) || e?.name === 'RateLimitError') {
        result.refused = true
        result.refusal = message
        result.roomAtRefusalMiB = before
        break
      }
      throw e
    }
    boxes.push(sbx)
    result.created++
    // Fill the room in steps of at most holdMiB, leaving leaveMiB.
    for (;;) {
      const room = roomMiB() - leaveMiB
      const mib = Math.min(holdMiB, room - 16) // python's own pages
      if (mib < 1) break
      await hold(sbx, mib)
      result.heldMiB += mib
      if (mib === holdMiB) break
      await sleep(1500)
    }
    const after = nodeMemory()
    result.steps.push({ sandboxes: result.created, inUseMiB: Math.round(after.inUse / MiB) })
  }
} catch (e) {
  result.errors.push(String(e?.message ?? e))
}
const last = nodeMemory()
result.capacityMiB = Math.round(last.capacity / MiB)
result.inUseAtEndMiB = Math.round(last.inUse / MiB)
result.hostAvailableAtEndMiB = Math.round(meminfoKiB('MemAvailable') / 1024)
result.steps = result.steps.filter((s, i, all) => i % 10 === 0 || i >= all.length - 3)
let killFailed = 0
for (const sbx of boxes) await sbx.kill().catch(() => killFailed++)
result.killFailed = killFailed
console.log(JSON.stringify(result, null, 1))
// The node names memory; the scheduler, refusing first, says no node has room.
process.exit(result.refused && /memory|room/i.test(result.refusal) && !result.errors.length && !killFailed ? 0 : 1)
