// The E2B SDK's minimal flow against SoulBox: create, run commands (output
// streamed, a failing exit code, all output before the end), kill twice. Prints one JSON line of what
// happened; the C++ test checks it. Reads E2B_API_KEY, E2B_API_URL and
// E2B_SANDBOX_URL like any E2B program.
import { Sandbox, CommandExitError } from 'e2b'

const out = {}
const sbx = await Sandbox.create({ timeoutMs: 120000, metadata: { suite: 'soulbox' } })
out.sandboxId = sbx.sandboxId
const streamed = []
const hi = await sbx.commands.run('echo hi; echo err >&2', { onStdout: (d) => streamed.push(d) })
out.hi = { exitCode: hi.exitCode, stdout: hi.stdout, stderr: hi.stderr, streamed }
try {
  await sbx.commands.run('exit 3')
  out.exit3 = 'no error'
} catch (e) {
  out.exit3 = e instanceof CommandExitError ? { exitCode: e.exitCode } : String(e)
}
out.whoami = (await sbx.commands.run('id -un; pwd')).stdout
// Output always arrives before the end: processes that write and exit at
// once, of sizes around pipe and frame boundaries; every byte counted.
out.outputBeforeEnd = { runs: 0, short: [] }
for (const size of [1, 4095, 4096, 65535, 65537, 300000]) {
  for (let i = 0; i < 8; i++) {
    const r = await sbx.commands.run(`head -c ${size} /dev/zero | tr '\\0' x; printf E >&2`)
    out.outputBeforeEnd.runs++
    if (r.stdout.length !== size || r.stderr !== 'E') out.outputBeforeEnd.short.push({ size, got: r.stdout.length, stderr: r.stderr })
  }
}
out.info = await sbx.getInfo().then((i) => ({ state: i.state, metadata: i.metadata }))
out.killed = await sbx.kill()
out.killedAgain = await Sandbox.kill(out.sandboxId)
console.log(JSON.stringify(out))
