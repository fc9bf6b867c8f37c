"""Sandbox: create one through SoulBox's E2B-compatible API and use it."""

import base64
import json
import os
import threading
import uuid

from ._connect import envelope, read_stream
from ._http import Transport
from .code import CodeInterpreter
from .errors import CommandExitError, NotFoundError, SoulBoxError, TimeoutError

ENVD_PORT = "49983"
# The template a create names when the caller names none: E2B requires
# templateID, and its SDKs default to this one too.
DEFAULT_TEMPLATE = "base"


class CommandResult:
    def __init__(self, exit_code=0, stdout="", stderr="", error=None):
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.error = error

    def __repr__(self):
        return "CommandResult(exit_code=%r, stdout=%r, stderr=%r)" % (self.exit_code, self.stdout, self.stderr)


class CommandHandle:
    """A running process: its output arrives on a thread until it ends."""

    def __init__(self, sandbox, resp, on_stdout=None, on_stderr=None, on_pty=None):
        self._sandbox = sandbox
        self._events = read_stream(resp)
        first = next(self._events, None)
        if not first or "start" not in first.get("event", {}):
            raise SoulBoxError("the process stream did not start with its pid")
        self.pid = first["event"]["start"]["pid"]
        self._stdout, self._stderr = [], []
        self._callbacks = {"stdout": on_stdout, "stderr": on_stderr, "pty": on_pty}
        self._result = None
        self._failure = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        try:
            for message in self._events:
                event = message.get("event", {})
                if "data" in event:
                    for name, b64 in event["data"].items():
                        raw = base64.b64decode(b64)
                        callback = self._callbacks.get(name)
                        if name != "pty":
                            text = raw.decode(errors="replace")
                            (self._stderr if name == "stderr" else self._stdout).append(text)
                            if callback:
                                callback(text)
                        elif callback:
                            callback(raw)
                elif "end" in event:
                    end = event["end"]
                    self._result = CommandResult(
                        end.get("exitCode", 0), "".join(self._stdout), "".join(self._stderr), end.get("error")
                    )
        except Exception as e:  # told to whoever waits
            self._failure = e
        finally:
            self._done.set()

    def wait(self, timeout=None):
        """The result; CommandExitError when it exited non-zero."""
        if not self._done.wait(timeout):
            raise TimeoutError("process %d still runs after %s s" % (self.pid, timeout))
        if self._failure:
            raise self._failure
        if self._result is None:
            raise SoulBoxError("the process stream ended without the process's end")
        if self._result.exit_code != 0:
            raise CommandExitError(self._result)
        return self._result

    def kill(self):
        return self._sandbox.commands.kill(self.pid)

    def send_stdin(self, data):
        self._sandbox.commands.send_stdin(self.pid, data)


class _Rpc:
    """The in-sandbox API: unary Connect calls and streams."""

    def __init__(self, sandbox):
        self._sb = sandbox

    def _headers(self, content_type):
        h = {"E2b-Sandbox-Id": self._sb.sandbox_id, "E2b-Sandbox-Port": ENVD_PORT, "Content-Type": content_type,
             "Connect-Protocol-Version": "1"}
        if self._sb.access_token:
            h["X-Access-Token"] = self._sb.access_token
        return h

    def unary(self, method, message):
        status, head, data = self._sb._envd.request(
            "POST", "/" + method, body=json.dumps(message).encode(), headers=self._headers("application/json")
        )
        return json.loads(data) if data else {}

    def stream(self, method, message, timeout_s=None):
        headers = self._headers("application/connect+json")
        if timeout_s:
            headers["Connect-Timeout-Ms"] = str(int(timeout_s * 1000))
        return self._sb._envd.request("POST", "/" + method, body=envelope(message), headers=headers, stream=True,
                                      timeout=(timeout_s or 0) + 30 if timeout_s else None)


class Commands(_Rpc):
    def run(self, cmd, background=False, envs=None, cwd=None, on_stdout=None, on_stderr=None, timeout=60,
            stdin=False):
        """Runs `cmd` with bash; returns its CommandResult (or a CommandHandle
        with background=True). Raises CommandExitError on a non-zero exit."""
        process = {"cmd": "/bin/bash", "args": ["-l", "-c", cmd], "envs": envs or {}}
        if cwd:
            process["cwd"] = cwd
        resp = self.stream("process.Process/Start", {"process": process, "stdin": bool(stdin)},
                           None if background else timeout)
        handle = CommandHandle(self._sb, resp, on_stdout, on_stderr)
        return handle if background else handle.wait(timeout + 5 if timeout else None)

    def connect(self, pid, on_stdout=None, on_stderr=None):
        """Follows a running process (its output from now on, and its end)."""
        resp = self.stream("process.Process/Connect", {"process": {"pid": pid}})
        return CommandHandle(self._sb, resp, on_stdout, on_stderr)

    def list(self):
        return self.unary("process.Process/List", {}).get("processes", [])

    def send_stdin(self, pid, data):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self.unary("process.Process/SendInput",
                   {"process": {"pid": pid}, "input": {"stdin": base64.b64encode(raw).decode()}})

    def close_stdin(self, pid):
        self.unary("process.Process/CloseStdin", {"process": {"pid": pid}})

    def kill(self, pid):
        """True if it was killed, False if there was no such process."""
        try:
            self.unary("process.Process/SendSignal", {"process": {"pid": pid}, "signal": "SIGNAL_SIGKILL"})
            return True
        except NotFoundError:
            return False


class Pty(_Rpc):
    def create(self, cols=80, rows=24, on_data=None, envs=None, cwd=None):
        """An interactive bash on a pseudo-terminal; `on_data` gets its bytes."""
        env = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        env.update(envs or {})
        process = {"cmd": "/bin/bash", "args": ["-i", "-l"], "envs": env}
        if cwd:
            process["cwd"] = cwd
        resp = self.stream("process.Process/Start", {"process": process, "pty": {"size": {"cols": cols, "rows": rows}}})
        return CommandHandle(self._sb, resp, on_pty=on_data)

    def send_input(self, pid, data):
        raw = data.encode() if isinstance(data, str) else bytes(data)
        self.unary("process.Process/SendInput", {"process": {"pid": pid}, "input": {"pty": base64.b64encode(raw).decode()}})

    def resize(self, pid, cols, rows):
        self.unary("process.Process/Update", {"process": {"pid": pid}, "pty": {"size": {"cols": cols, "rows": rows}}})

    def kill(self, pid):
        return self._sb.commands.kill(pid)


class Files(_Rpc):
    def write(self, path, data):
        """Writes a whole file (parents made, replaced atomically)."""
        raw = data.encode() if isinstance(data, str) else bytes(data)
        headers = self._headers("application/octet-stream")
        status, head, body = self._sb._envd.request("POST", "/files", body=raw, headers=headers, query={"path": path})
        return json.loads(body)[0]

    def read(self, path, format="text"):
        headers = self._headers("application/octet-stream")
        status, head, body = self._sb._envd.request("GET", "/files", headers=headers, query={"path": path})
        return body if format == "bytes" else body.decode()

    def list(self, path, depth=1):
        return self.unary("filesystem.Filesystem/ListDir", {"path": path, "depth": depth}).get("entries", [])

    def exists(self, path):
        try:
            self.unary("filesystem.Filesystem/Stat", {"path": path})
            return True
        except NotFoundError:
            return False

    def get_info(self, path):
        return self.unary("filesystem.Filesystem/Stat", {"path": path})["entry"]

    def make_dir(self, path):
        from .errors import SoulBoxError as _E

        try:
            self.unary("filesystem.Filesystem/MakeDir", {"path": path})
            return True
        except _E as e:
            if getattr(e, "code", None) == "already_exists":
                return False
            raise

    def rename(self, old, new):
        return self.unary("filesystem.Filesystem/Move", {"source": old, "destination": new})["entry"]

    def remove(self, path):
        self.unary("filesystem.Filesystem/Remove", {"path": path})


class Sandbox:
    """A SoulBox sandbox. Configure with arguments or the E2B variables:
    E2B_API_KEY (or SOULBOX_API_KEY), E2B_API_URL and E2B_SANDBOX_URL
    (default http://127.0.0.1:3000)."""

    def __init__(self, sandbox_id, access_token=None, api_key=None, api_url=None, sandbox_url=None,
                 request_timeout=60.0, max_redirects=5, max_retries=3):
        self.sandbox_id = sandbox_id
        self.access_token = access_token
        api_key = api_key or os.environ.get("SOULBOX_API_KEY") or os.environ.get("E2B_API_KEY")
        if not api_key:
            raise SoulBoxError("no API key: pass api_key= or set SOULBOX_API_KEY / E2B_API_KEY")
        api_url = api_url or os.environ.get("E2B_API_URL") or "http://127.0.0.1:3000"
        sandbox_url = sandbox_url or os.environ.get("E2B_SANDBOX_URL") or api_url
        opts = dict(timeout=request_timeout, max_redirects=max_redirects, max_retries=max_retries)
        self._api = Transport(api_url, {"X-API-Key": api_key}, **opts)
        self._envd = Transport(sandbox_url, {}, **opts)
        self._config = dict(api_key=api_key, api_url=api_url, sandbox_url=sandbox_url, request_timeout=request_timeout,
                            max_redirects=max_redirects, max_retries=max_retries)
        self.commands = Commands(self)
        self.files = Files(self)
        self.pty = Pty(self)
        self.code = CodeInterpreter(self)

    @classmethod
    def create(cls, template=None, timeout=300, metadata=None, envs=None, **config):
        """A new sandbox from `template` (DEFAULT_TEMPLATE when None), ending after `timeout` seconds."""
        probe = cls("pending", **config)
        payload = {"templateID": DEFAULT_TEMPLATE if template is None else template, "timeout": int(timeout),
                   "metadata": metadata or {}, "envVars": envs or {}}
        status, head, made = probe._api.json("POST", "/v2/sandboxes", payload)
        return cls(made["sandboxID"], made.get("envdAccessToken"), **probe._config)

    @classmethod
    def connect(cls, sandbox_id, timeout=None, **config):
        """An existing sandbox (resumed if it was paused)."""
        probe = cls(sandbox_id, **config)
        payload = {} if timeout is None else {"timeout": int(timeout)}
        status, head, made = probe._api.json("POST", "/v2/sandboxes/%s/connect" % sandbox_id, payload)
        return cls(made["sandboxID"], made.get("envdAccessToken"), **probe._config)

    @classmethod
    def list(cls, metadata=None, state=None, limit=100, **config):
        """Every sandbox of the caller's tenant (following X-Next-Token)."""
        probe = cls("list", **config)
        query = {"limit": limit}
        if metadata:
            query["metadata"] = "&".join("%s=%s" % kv for kv in metadata.items())
        if state:
            query["state"] = ",".join(state)
        out = []
        while True:
            status, head, page = probe._api.json("GET", "/v2/sandboxes", query=query)
            out.extend(page)
            token = {k.lower(): v for k, v in head.items()}.get("x-next-token")
            if not token:
                return out
            query["nextToken"] = token

    def get_info(self):
        return self._api.json("GET", "/sandboxes/" + self.sandbox_id)[2]

    def set_timeout(self, seconds):
        self._api.json("POST", "/sandboxes/%s/timeout" % self.sandbox_id, {"timeout": int(seconds)})

    def pause(self):
        """True if paused now, False if it already was."""
        from .errors import SoulBoxError as _E

        try:
            self._api.json("POST", "/sandboxes/%s/pause" % self.sandbox_id, {})
            return True
        except _E as e:
            if e.status == 409:
                return False
            raise

    def kill(self):
        """True if killed, False if there was no such sandbox."""
        try:
            self._api.request("DELETE", "/sandboxes/" + self.sandbox_id)
            return True
        except NotFoundError:
            return False

    def run_code(self, code, language=None, context=None, envs=None, on_stdout=None, on_stderr=None,
                 on_result=None, on_error=None, timeout=60):
        """Runs a cell in a persistent code context (the language's default,
        or `context`): an Execution with results, logs, error and artifacts.
        State persists from one call to the next."""
        return self.code.run(code, language=language, context=context, envs=envs, on_stdout=on_stdout,
                             on_stderr=on_stderr, on_result=on_result, on_error=on_error, timeout=timeout)

    def create_code_context(self, language="python", cwd=None):
        return self.code.create_context(language, cwd)

    def list_code_contexts(self):
        return self.code.list_contexts()

    def restart_code_context(self, context):
        return self.code.restart_context(context)

    def remove_code_context(self, context):
        self.code.remove_context(context)

    def interrupt_code_context(self, context):
        self.code.interrupt_context(context)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False
