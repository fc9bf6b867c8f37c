// The soak's load (bench/soak.sh runs it): workers drive the unmodified E2B
// SDKs (tests/e2b/node_modules) against a SoulBox gateway in a loop of four
// scenarios until a deadline, each one a whole sandbox life: create, use,
// kill. Reads E2B_API_KEY, E2B_API_URL and E2B_SANDBOX_URL like any E2B
// program, and from the environment:
//   SOAK_DIR      where it writes what the sampler reads (below)
//   SOAK_SECONDS  how long to start new runs (default 60)
//   SOAK_WORKERS  runs at once (default 4)
//   SOAK_SCENARIOS  which scenarios, comma-separated (default all:
//                 commands,files,pty,code)
// Writes into SOAK_DIR:
//   status.json   {runs, failed, per scenario}, rewritten after every run
//   errors.log    one line per failed step: time, scenario, step, message
//   ended.log     "<unix ms> <sandbox id>" once a kill of it returned
import { appendFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const modules = process.env.SOAK_NODE_MODULES || join(here, '..', 'tests', 'e2b', 'node_modules')
const { Sandbox } = await import(pathToFileURL(join(modules, 'e2b', 'dist', 'index.mjs')))
const ci = await import(pathToFileURL(join(modules, '@e2b', 'code-interpreter', 'dist', 'index.mjs')))

const dir = process.env.SOAK_DIR || '.'
const deadline = Date.now() + 1000 * Number(process.env.SOAK_SECONDS || 60)
const workers = Number(process.env.SOAK_WORKERS || 4)
const status = { runs: 0, failed: 0, scenarios: {} }

function expect(what, got, wanted) {
  if (got !== wanted) throw new Error(`${what}: got ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`)
}

// Commands: foreground with streamed output, a failing exit code, stdin to a
// background process.
async function commands(sbx) {
  const hi = await sbx.commands.run('echo hi; echo err >&2')
  expect('echo', hi.stdout, 'hi\n')
  const failed = await sbx.commands.run('exit 3').catch((e) => e)
  expect('exit code', failed.exitCode, 3)
  const cat = await sbx.commands.run('cat', { background: true, stdin: true })
  await sbx.commands.sendStdin(cat.pid, 'through stdin\n')
  await sbx.commands.closeStdin(cat.pid)
  expect('stdin', (await cat.wait()).stdout, 'through stdin\n')
}

// Files: write, read, list, stat, rename, remove, and one of 1 MiB.
async function files(sbx) {
  await sbx.files.write('/home/user/a.txt', 'soak')
  expect('read', await sbx.files.read('/home/user/a.txt'), 'soak')
  await sbx.files.write([{ path: 'b.txt', data: 'B' }, { path: '/home/user/sub/c.txt', data: 'C' }])
  expect('list', (await sbx.files.list('/home/user')).length >= 3, true)
  expect('stat', (await sbx.files.getInfo('/home/user/a.txt')).size, 4)
  await sbx.files.rename('/home/user/a.txt', '/home/user/moved.txt')
  await sbx.files.remove('/home/user/moved.txt')
  expect('removed', await sbx.files.exists('/home/user/moved.txt'), false)
  const big = new Uint8Array(1 << 20).map((_, i) => i % 251)
  await sbx.files.write('/home/user/big.bin', big.buffer)
  expect('big', (await sbx.files.read('/home/user/big.bin', { format: 'bytes' })).length, big.length)
}

async function until(what, done, ms = 10000) {
  for (const end = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 10)))
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
}

// A terminal: input, resize, output, exit. The resize waits for the prompt:
// while readline prepares the terminal for a line it reads the size and
// writes it back (TIOCGWINSZ then TIOCSWINSZ), and a resize in between is
// lost (bench/RESULTS.md, the soak).
async function pty(sbx) {
  let text = ''
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => { text += new TextDecoder().decode(d) } })
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('echo pty-$((6*7)); stty size\n'))
  await until('the prompt after stty size', () => /24 80\r\n[^]*\$ $/.test(text))
  await sbx.pty.resize(term.pid, { cols: 100, rows: 30 })
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty size; exit\n'))
  await term.wait().catch(() => {})  // a shell ended by `exit` may report its code as an error
  if (!text.includes('pty-42') || !text.includes('30 100')) throw new Error(`pty output: ${JSON.stringify(text)}`)
}

// Code cells in the warm Python context, state kept between them, an error.
async function code(sbx) {
  await sbx.runCode('x = 41')
  expect('cell', (await sbx.runCode('print("out")\nx + 1')).text, '42')
  expect('error', (await sbx.runCode('1 / 0')).error?.name, 'ZeroDivisionError')
  expect('javascript', (await sbx.runCode('6 * 7', { language: 'javascript' })).text, '42')
}

const allScenarios = [
  { name: 'commands', make: Sandbox, use: commands },
  { name: 'files', make: Sandbox, use: files },
  { name: 'pty', make: Sandbox, use: pty },
  { name: 'code', make: ci.Sandbox, use: code },
]
const chosen = (process.env.SOAK_SCENARIOS || '').split(',').filter(Boolean)
const scenarios = chosen.length ? allScenarios.filter((s) => chosen.includes(s.name)) : allScenarios

function record(scenario, step, error) {
  const message = String(error?.message ?? error).replace(/\s+/g, ' ')
  appendFileSync(join(dir, 'errors.log'), `${new Date().toISOString()} ${scenario} ${step} ${message}\n`)
}

function saveStatus() {
  writeFileSync(join(dir, 'status.json.tmp'), JSON.stringify(status))
  renameSync(join(dir, 'status.json.tmp'), join(dir, 'status.json'))
}

// One sandbox life; every failed step is recorded, and the sandbox is
// killed whatever happened to it.
async function run(scenario) {
  let sbx = null
  let step = 'create'
  let ok = true
  try {
    sbx = await scenario.make.create({ timeoutMs: 120000 })
    step = 'use'
    await scenario.use(sbx)
  } catch (e) {
    ok = false
    record(scenario.name, step, e)
  }
  if (sbx) {
    try {
      await sbx.kill()
      appendFileSync(join(dir, 'ended.log'), `${Date.now()} ${sbx.sandboxId}\n`)
    } catch (e) {
      ok = false
      record(scenario.name, 'kill', e)
    }
  }
  const s = (status.scenarios[scenario.name] ??= { runs: 0, failed: 0 })
  s.runs++
  status.runs++
  if (!ok) {
    s.failed++
    status.failed++
  }
  saveStatus()
}

async function worker(first) {
  for (let i = first; Date.now() < deadline; i++) await run(scenarios[i % scenarios.length])
}

saveStatus()
await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)))
console.log(JSON.stringify(status))
