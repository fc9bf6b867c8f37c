"""Connect-RPC server streams with the JSON codec, as the gateway serves
them: [flags][4-byte big-endian length][JSON], the last with flag 0x02."""

import json
import struct

from .errors import SoulBoxError, error_for_connect

END_STREAM = 0x02


def envelope(message):
    data = json.dumps(message).encode()
    return struct.pack(">BI", 0, len(data)) + data


def read_stream(resp):
    """Yields each message of a stream; raises the end-of-stream error."""
    try:
        while True:
            head = _read_exactly(resp, 5)
            if head is None:
                raise SoulBoxError("the stream ended without its end-of-stream message")
            flags, length = struct.unpack(">BI", head)
            body = _read_exactly(resp, length) if length else b""
            if body is None:
                raise SoulBoxError("the stream was cut short")
            message = json.loads(body) if body else {}
            if flags & END_STREAM:
                error = message.get("error")
                if error:
                    raise error_for_connect(error.get("code", "unknown"), error.get("message", ""))
                return
            yield message
    finally:
        resp.close()


def _read_exactly(resp, n):
    out = b""
    while len(out) < n:
        chunk = resp.read(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out
