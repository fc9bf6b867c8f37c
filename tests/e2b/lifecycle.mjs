// The E2B SDK's lifecycle and streaming calls against SoulBox: list with
// metadata filters and paging, timeout, metrics, pause and connect (resume),
// watchDir, commands.connect to a running process, and a PTY. Prints one
// JSON line.
import { Sandbox } from 'e2b'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const out = {}
const tag = `life-${process.pid}`
const a = await Sandbox.create({ timeoutMs: 120000, metadata: { suite: tag, n: '1' } })
const b = await Sandbox.create({ timeoutMs: 120000, metadata: { suite: tag, n: '2' } })
const other = await Sandbox.create({ timeoutMs: 120000, metadata: { suite: 'other' } })

// list: two pages of one, only the tagged sandboxes
const pager = Sandbox.list({ query: { metadata: { suite: tag } }, limit: 1 })
const listed = []
let pages = 0
while (pager.hasNext && pages < 5) {
  const items = await pager.nextItems()
  pages += 1
  for (const s of items) listed.push(s.sandboxId)
}
out.listedPages = pages
out.listedBoth = listed.length === 2 && listed.includes(a.sandboxId) && listed.includes(b.sandboxId)
out.listedOther = listed.includes(other.sandboxId)
const running = await Sandbox.list({ query: { state: ['running'] } }).nextItems()
out.runningCount = running.filter((s) => s.metadata.suite === tag).length

// timeout moves endAt
const before = (await a.getInfo()).endAt.getTime()
await a.setTimeout(300000)
out.timeoutMoved = (await a.getInfo()).endAt.getTime() - before > 100000

// metrics: sampled every second
await a.commands.run('sleep 2')
const metrics = await a.getMetrics()
out.metricsCount = metrics.length
out.metricsShape = metrics.length > 0 && metrics[0].memTotal > 0 && metrics[0].timestamp instanceof Date

// watchDir sees a file written after it started
const events = []
const watcher = await a.files.watchDir('/home/user', (e) => events.push(`${e.type}:${e.name}`))
await a.files.write('/home/user/watched.txt', 'x')
for (let i = 0; i < 50 && !events.some((e) => e.endsWith(':watched.txt')); i++) await sleep(100)
await watcher.stop()
out.watchEvents = events

// commands.connect follows a process started by another handle
const bg = await a.commands.run('sleep 1; echo later', { background: true })
const follower = await a.commands.connect(bg.pid)
out.connected = (await follower.wait()).stdout

// a PTY: input, resize, output
let ptyText = ''
const pty = await a.pty.create({ cols: 80, rows: 24, onData: (d) => { ptyText += new TextDecoder().decode(d) } })
await a.pty.sendInput(pty.pid, new TextEncoder().encode('echo pty-$((6*7)); stty size\n'))
await a.pty.resize(pty.pid, { cols: 100, rows: 30 })
await a.pty.sendInput(pty.pid, new TextEncoder().encode('stty size; exit\n'))
await pty.wait().catch(() => {})
out.ptyAnswer = ptyText.includes('pty-42')
out.ptyResized = ptyText.includes('30 100')

// pause, pause again, connect resumes it
out.paused = await b.pause()
out.pausedAgain = await b.pause()
const pausedInfo = await b.getInfo()
out.stateAfterPause = pausedInfo.state
// E2B's endAt of a paused sandbox: when it was paused
out.pausedTimes = { startedAt: pausedInfo.startedAt.getTime(), endAt: pausedInfo.endAt.getTime(), now: Date.now() }
const again = await Sandbox.connect(b.sandboxId)
out.stateAfterConnect = (await again.getInfo()).state
out.afterResume = (await again.commands.run('echo back')).stdout

for (const s of [a, b, other]) await s.kill()
try {
  await Sandbox.connect(a.sandboxId)
  out.connectKilled = 'connected'
} catch (e) {
  out.connectKilled = e.name
}
console.log(JSON.stringify(out))
