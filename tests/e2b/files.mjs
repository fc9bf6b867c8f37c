// The E2B SDK's files, background commands with stdin, signals and process
// listing against SoulBox. Prints one JSON line. (Signed URLs carry no
// sandbox id when E2B_SANDBOX_URL is set, so they are tested with raw HTTP.)
import http from 'node:http'
import { Sandbox } from 'e2b'

// The SDK's signed URLs name no sandbox when E2B_SANDBOX_URL is set; a
// deployment points a wildcard name (<port>-<id>.<domain>) at the gateway.
// This asks the gateway as such a name would, with node's http client.
function viaSandboxHost(sbx, url, method = 'GET', body = undefined) {
  const u = new URL(url)
  const gw = new URL(process.env.E2B_SANDBOX_URL)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: gw.hostname, port: gw.port, path: u.pathname + u.search, method,
      headers: { Host: `49983-${sbx.sandboxId}.sandbox.test`, 'Content-Type': 'application/octet-stream' } }, (res) => {
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const out = {}
const sbx = await Sandbox.create({ timeoutMs: 120000 })
const info = await sbx.files.write('/home/user/hello.txt', 'hello world')
out.written = info
out.read = await sbx.files.read('/home/user/hello.txt')
out.relative = await sbx.files.read('hello.txt')
out.many = await sbx.files.write([{ path: 'a.txt', data: 'A' }, { path: '/home/user/sub/b.txt', data: 'B' }])
out.list = (await sbx.files.list('/home/user')).map((e) => `${e.name}:${e.type}`).sort()
out.makeDir = await sbx.files.makeDir('/home/user/newdir')
out.makeDirAgain = await sbx.files.makeDir('/home/user/newdir')
out.exists = await sbx.files.exists('/home/user/hello.txt')
const stat = await sbx.files.getInfo('/home/user/hello.txt')
out.stat = { name: stat.name, type: stat.type, size: stat.size, permissions: stat.permissions }
out.renamed = (await sbx.files.rename('/home/user/hello.txt', '/home/user/moved.txt')).path
await sbx.files.remove('/home/user/moved.txt')
out.existsAfterRemove = await sbx.files.exists('/home/user/moved.txt')
try {
  await sbx.files.read('/home/user/missing.txt')
  out.missing = 'no error'
} catch (e) {
  out.missing = e.name
}
// A file larger than one bus message goes in parts, and comes back whole.
const big = new Uint8Array(20 * 1024 * 1024)
for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 251
await sbx.files.write('/home/user/big.bin', big.buffer)
const back = await sbx.files.read('/home/user/big.bin', { format: 'bytes' })
out.bigSize = back.length
out.bigSame = back.length === big.length && back.every((b, i) => b === big[i])
out.bigStat = (await sbx.files.getInfo('/home/user/big.bin')).size
// gzip-compressed uploads (Content-Encoding: gzip)
await sbx.files.write('/home/user/zipped.txt', 'inflated on arrival', { gzip: true })
out.gzip = await sbx.files.read('/home/user/zipped.txt')
// Signed URLs made by the SDK itself (E2B's scheme), used without the token.
await sbx.files.write('/home/user/signed.txt', 'signed content')
const down = await sbx.downloadUrl('/home/user/signed.txt')
out.signedRead = await viaSandboxHost(sbx, down)
out.signedExpiring = await viaSandboxHost(sbx, await sbx.downloadUrl('/home/user/signed.txt', { useSignatureExpiration: 60 }))
out.signedTampered = (await viaSandboxHost(sbx, down.replace('signed.txt', 'hello.txt'))).status
const up = await sbx.uploadUrl('/home/user/uploaded.txt')
out.signedWrite = (await viaSandboxHost(sbx, up, 'POST', 'sent by URL')).status
out.signedWritten = await sbx.files.read('/home/user/uploaded.txt')
out.unsigned = (await viaSandboxHost(sbx, down.split('&signature')[0])).status
// Background command fed through stdin.
const cat = await sbx.commands.run('cat', { background: true, stdin: true })
await sbx.commands.sendStdin(cat.pid, 'through stdin\n')
await sbx.commands.closeStdin(cat.pid)
out.cat = (await cat.wait()).stdout
const sleeper = await sbx.commands.run('sleep 100', { background: true })
out.listed = (await sbx.commands.list()).some((p) => p.pid === sleeper.pid)
out.killedProcess = await sbx.commands.kill(sleeper.pid)
await sbx.kill()
console.log(JSON.stringify(out))
