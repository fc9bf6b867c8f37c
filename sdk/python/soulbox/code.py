"""The code interpreter (docs/code-interpreter.md): cells in persistent
code contexts, over the sandbox's port 49999 as E2B's code-interpreter SDK
uses it (POST /execute streams NDJSON; /contexts)."""

import json

from .errors import SoulBoxError

CODE_PORT = "49999"


class Result:
    """A rich result: `text`, `html`, `png` (base64), `svg`, `chart`... and
    `is_main_result` (the cell's last expression) as the kernel sent them."""

    def __init__(self, fields):
        self.is_main_result = bool(fields.pop("is_main_result", False))
        self.raw = fields
        for key, value in fields.items():
            setattr(self, key, value)

    def formats(self):
        return [k for k in self.raw if k not in ("type", "text", "extra")]

    def __getattr__(self, name):  # absent formats read as None
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self):
        return "Result(%s)" % ", ".join(["text=%r" % self.raw.get("text")] + self.formats())


class ExecutionError:
    def __init__(self, name, value, traceback):
        self.name, self.value, self.traceback = name, value, traceback

    def __repr__(self):
        return "ExecutionError(%s: %s)" % (self.name, self.value)


class Logs:
    def __init__(self):
        self.stdout, self.stderr = [], []


class Execution:
    """What a cell did: `results`, `logs.stdout`/`logs.stderr` (chunks as
    they came), `error`, `execution_count`, `artifacts` ([{path, mime_type,
    size}]); `text` is the main result's text."""

    def __init__(self):
        self.results, self.logs, self.error = [], Logs(), None
        self.execution_count, self.artifacts = None, []

    @property
    def text(self):
        for r in self.results:
            if r.is_main_result:
                return r.raw.get("text")
        return None

    @property
    def stdout(self):
        return "".join(self.logs.stdout)

    @property
    def stderr(self):
        return "".join(self.logs.stderr)

    def __repr__(self):
        return "Execution(text=%r, stdout=%r, error=%r)" % (self.text, self.stdout, self.error)


class CodeInterpreter:
    """The sandbox's code contexts; Sandbox.run_code and friends use it."""

    def __init__(self, sandbox):
        self._sb = sandbox

    def _headers(self):
        h = {"E2b-Sandbox-Id": self._sb.sandbox_id, "E2b-Sandbox-Port": CODE_PORT, "Content-Type": "application/json"}
        if self._sb.access_token:
            h["X-Access-Token"] = self._sb.access_token
        return h

    def _json(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload).encode()
        status, head, data = self._sb._envd.request(method, path, body=body, headers=self._headers())
        return json.loads(data) if data else None

    def run(self, code, language=None, context=None, envs=None, on_stdout=None, on_stderr=None, on_result=None,
            on_error=None, timeout=60):
        if language and context:
            raise SoulBoxError("pass language or context, not both")
        body = {"code": code, "env_vars": envs or {}}
        if context:
            body["context_id"] = context["id"] if isinstance(context, dict) else context
        else:
            body["language"] = language or "python"
        if timeout:
            body["timeout_ms"] = int(timeout * 1000)
        resp = self._sb._envd.request("POST", "/execute", body=json.dumps(body).encode(), headers=self._headers(),
                                      stream=True, timeout=(timeout or 0) + 30 if timeout else None)
        execution = Execution()
        try:
            for raw in resp:
                line = json.loads(raw) if raw.strip() else None
                if not line:
                    continue
                kind = line.pop("type", "")
                if kind == "end_of_execution":
                    break
                if kind in ("stdout", "stderr"):
                    (execution.logs.stdout if kind == "stdout" else execution.logs.stderr).append(line["text"])
                    callback = on_stdout if kind == "stdout" else on_stderr
                    if callback:
                        callback(line["text"])
                elif kind == "result":
                    result = Result(line)
                    execution.results.append(result)
                    if on_result:
                        on_result(result)
                elif kind == "error":
                    execution.error = ExecutionError(line.get("name"), line.get("value"), line.get("traceback"))
                    if on_error:
                        on_error(execution.error)
                elif kind == "number_of_executions":
                    execution.execution_count = line.get("execution_count")
                elif kind == "artifacts":
                    execution.artifacts = line.get("artifacts", [])
        finally:
            resp.close()
        return execution

    def create_context(self, language="python", cwd=None):
        return self._json("POST", "/contexts", {"language": language, "cwd": cwd})

    def list_contexts(self):
        return self._json("GET", "/contexts")

    def restart_context(self, context):
        return self._json("POST", "/contexts/%s/restart" % _context_id(context))

    def remove_context(self, context):
        self._json("DELETE", "/contexts/%s" % _context_id(context))

    def interrupt_context(self, context):
        self._json("POST", "/contexts/%s/interrupt" % _context_id(context))


def _context_id(context):
    return context["id"] if isinstance(context, dict) else context
