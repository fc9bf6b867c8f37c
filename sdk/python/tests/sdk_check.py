"""Drives the Python SDK against a running SoulBox gateway (E2B_API_URL,
E2B_API_KEY) and prints one JSON object of what happened; the C++ test
(tests/integration/python_sdk_test.cc) checks it. A stub server on
127.0.0.1 checks redirects and retries (429 with Retry-After)."""

import asyncio
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import soulbox  # noqa: E402
from soulbox import Sandbox  # noqa: E402

out = {}
gateway = os.environ["E2B_API_URL"]

with Sandbox.create(timeout=120, metadata={"suite": "py"}) as sbx:
    chunks = []
    r = sbx.commands.run("echo one; sleep 0.2; echo two; echo err >&2", on_stdout=chunks.append)
    out["run"] = {"stdout": r.stdout, "stderr": r.stderr, "exit": r.exit_code, "chunks": len(chunks)}
    try:
        sbx.commands.run("exit 4")
        out["exit4"] = "no error"
    except soulbox.CommandExitError as e:
        out["exit4"] = e.exit_code
    cat = sbx.commands.run("cat", background=True, stdin=True)
    sbx.commands.send_stdin(cat.pid, "fed\n")
    sbx.commands.close_stdin(cat.pid)
    out["cat"] = cat.wait(10).stdout
    sleeper = sbx.commands.run("sleep 60", background=True)
    out["listed"] = any(p["pid"] == sleeper.pid for p in sbx.commands.list())
    out["killed"] = sbx.commands.kill(sleeper.pid)
    out["killedAgain"] = sbx.commands.kill(999999)
    later = sbx.commands.run("sleep 0.5; echo later", background=True)
    out["connected"] = sbx.commands.connect(later.pid).wait(10).stdout

    out["written"] = sbx.files.write("/home/user/py/a.txt", "alpha")["path"]
    out["read"] = sbx.files.read("/home/user/py/a.txt")
    blob = bytes(range(256)) * 20000  # 5 MB: goes in parts
    sbx.files.write("/home/user/py/blob.bin", blob)
    out["blob"] = sbx.files.read("/home/user/py/blob.bin", format="bytes") == blob
    out["list"] = sorted(e["name"] for e in sbx.files.list("/home/user/py"))
    out["exists"] = [sbx.files.exists("/home/user/py/a.txt"), sbx.files.exists("/home/user/py/none")]
    out["mkdir"] = [sbx.files.make_dir("/home/user/py/d"), sbx.files.make_dir("/home/user/py/d")]
    out["renamed"] = sbx.files.rename("/home/user/py/a.txt", "/home/user/py/b.txt")["path"]
    sbx.files.remove("/home/user/py/b.txt")
    try:
        sbx.files.read("/home/user/py/b.txt")
        out["missing"] = "no error"
    except soulbox.NotFoundError:
        out["missing"] = "NotFoundError"

    pty_bytes = []
    term = sbx.pty.create(cols=80, rows=24, on_data=pty_bytes.append)
    sbx.pty.send_input(term.pid, "echo pty-$((6*7))\n")
    sbx.pty.resize(term.pid, cols=120, rows=40)
    sbx.pty.send_input(term.pid, "stty size; exit\n")
    try:
        term.wait(15)
    except soulbox.SoulBoxError:
        pass
    text = b"".join(pty_bytes).decode(errors="replace")
    out["pty"] = ["pty-42" in text, "40 120" in text]

    out["py"] = sbx.run_code("import sys; print(sum(range(10)), file=sys.stdout)").stdout
    out["js"] = sbx.run_code("console.log([1,2,3].map(x => x * 2).join(','))", language="javascript").stdout
    failed = sbx.run_code("def f():\n    return 1 / 0\nf()")
    out["pyError"] = [failed.error.name, "return 1 / 0" in failed.error.traceback]
    # State persists; results are rich; artifacts are listed; contexts.
    sbx.run_code("kept = 20")
    streamed = []
    again = sbx.run_code("print('twice')\nkept * 2 + 2", on_stdout=streamed.append)
    out["state"] = [again.text, again.stdout, streamed, again.execution_count]
    frame = sbx.run_code("import pandas as pd\nopen('a.csv', 'w').write('x')\npd.DataFrame({'a': [1]})")
    out["html"] = "<table" in (frame.results[0].html or "")
    out["artifacts"] = [a["path"] for a in frame.artifacts]
    ctx = sbx.create_code_context(language="bash", cwd="/tmp")
    sbx.run_code("X=7", context=ctx)
    out["bash"] = sbx.run_code("echo $X $PWD", context=ctx).stdout
    out["contexts"] = sorted(c["language"] for c in sbx.list_code_contexts())
    sbx.remove_code_context(ctx)
    try:
        sbx.run_code("1", context=ctx)
        out["removed"] = "ran"
    except soulbox.NotFoundError:
        out["removed"] = "not found"
    slow = sbx.run_code("while True: pass", timeout=0.5)
    out["timeout"] = slow.error.name

    call = {"function": {"name": "execute_code", "arguments": json.dumps({"language": "python", "code": "print(7*6)"})}}
    out["tool"] = json.loads(soulbox.handle_tool_call(sbx, call))
    w = {"function": {"name": "write_file", "arguments": json.dumps({"path": "/home/user/t.txt", "content": "tool"})}}
    soulbox.handle_tool_call(sbx, w)
    rd = {"function": {"name": "read_file", "arguments": json.dumps({"path": "/home/user/t.txt"})}}
    out["toolRead"] = json.loads(soulbox.handle_tool_call(sbx, rd))
    out["toolBad"] = json.loads(soulbox.handle_tool_call(sbx, {"function": {"name": "execute_code", "arguments": "{"}}))
    out["toolMissing"] = json.loads(soulbox.handle_tool_call(sbx, {"function": {"name": "read_file",
                                                                              "arguments": "{\"path\": \"/nope\"}"}}))
    out["toolNames"] = [t["function"]["name"] for t in soulbox.TOOLS]

    before = sbx.get_info()["endAt"]
    sbx.set_timeout(600)
    out["timeoutMoved"] = sbx.get_info()["endAt"] != before
    out["listedMine"] = [s["sandboxID"] for s in Sandbox.list(metadata={"suite": "py"})] == [sbx.sandbox_id]
    out["paused"] = [sbx.pause(), sbx.pause()]
    again = Sandbox.connect(sbx.sandbox_id)
    out["resumed"] = again.commands.run("echo back").stdout
    sandbox_id = sbx.sandbox_id

try:
    Sandbox.connect(sandbox_id)
    out["afterKill"] = "connected"
except soulbox.NotFoundError:
    out["afterKill"] = "NotFoundError"
# No template named: the SDK names the default one (E2B requires templateID).
with Sandbox.create(template=None, timeout=60) as plain:
    out["defaultTemplate"] = plain.get_info()["templateID"]
try:
    Sandbox.create(api_key="sb_nobody_wrong")
    out["badKey"] = "created"
except soulbox.AuthenticationError:
    out["badKey"] = "AuthenticationError"


async def async_flow():
    async with await soulbox.AsyncSandbox.create(timeout=60) as a:
        r = await a.run("echo async")
        await a.write_file("/home/user/x", "y")
        return r.stdout + await a.read_file("/home/user/x")


out["async"] = asyncio.run(async_flow())

# Redirects and retries against a stub on 127.0.0.1.
calls = {"n": 0}


class Stub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        calls["n"] += 1
        if self.path.startswith("/loop"):
            self.send_response(307)
            self.send_header("Location", "/loop")
        elif calls["n"] <= 2:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            body = b'{"code":429,"message":"slow down"}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        else:
            self.send_response(307)
            self.send_header("Location", gateway + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
threading.Thread(target=stub.serve_forever, daemon=True).start()
stub_url = "http://127.0.0.1:%d" % stub.server_address[1]
t0 = time.time()
out["viaStub"] = isinstance(Sandbox.list(api_url=stub_url), list)
out["stubCalls"] = calls["n"]
try:
    soulbox._http.Transport(stub_url, max_redirects=3).request("GET", "/loop")
    out["loop"] = "followed forever"
except soulbox.SoulBoxError as e:
    out["loop"] = str(e)
try:
    calls["n"] = 0
    soulbox._http.Transport(stub_url, max_retries=1, backoff=0).request("GET", "/x")
    out["limited"] = "no error"
except soulbox.RateLimitError:
    out["limited"] = "RateLimitError"
stub.shutdown()
print(json.dumps(out))
