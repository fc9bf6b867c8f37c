"""OpenAI function calling: tool definitions for running code and reading
and writing files in a sandbox, and a handler that runs one tool call and
returns its JSON result (errors included, never raised)."""

import json

from .errors import SoulBoxError

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "execute_code",
            "description": "Run code in an isolated sandbox (state persists between calls of one language) and "
                           "return its stdout, stderr, the value of its last expression and any error.",
            "parameters": {
                "type": "object",
                "properties": {
                    "language": {"type": "string", "enum": ["python", "javascript", "bash", "ruby", "java"]},
                    "code": {"type": "string", "description": "The program to run."},
                },
                "required": ["language", "code"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a text file from the sandbox.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "description": "Write a text file in the sandbox (parents are created).",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"],
            },
        },
    },
]


def handle_tool_call(sandbox, tool_call):
    """`tool_call`: an OpenAI tool call (object or dict) with function.name
    and function.arguments (a JSON string). Returns a JSON string."""
    function = tool_call["function"] if isinstance(tool_call, dict) else tool_call.function
    name = function["name"] if isinstance(function, dict) else function.name
    raw_args = function["arguments"] if isinstance(function, dict) else function.arguments
    try:
        args = json.loads(raw_args or "{}")
        if not isinstance(args, dict):
            raise ValueError("arguments must be a JSON object")
    except ValueError as e:
        return json.dumps({"error": "bad arguments: %s" % e})
    try:
        if name == "execute_code":
            r = sandbox.run_code(str(args.get("code", "")), language=str(args.get("language", "python")))
            error = None if r.error is None else {"name": r.error.name, "value": r.error.value,
                                                  "traceback": r.error.traceback}
            return json.dumps({"stdout": r.stdout, "stderr": r.stderr, "result": r.text, "error": error})
        if name == "read_file":
            return json.dumps({"content": sandbox.files.read(str(args["path"]))})
        if name == "write_file":
            info = sandbox.files.write(str(args["path"]), str(args.get("content", "")))
            return json.dumps({"written": info.get("path")})
        return json.dumps({"error": "unknown tool %r" % name})
    except KeyError as e:
        return json.dumps({"error": "missing argument %s" % e})
    except SoulBoxError as e:
        return json.dumps({"error": str(e), "type": type(e).__name__})
