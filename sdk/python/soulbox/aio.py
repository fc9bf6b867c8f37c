"""An asyncio variant: the same calls, awaited (each runs on a worker thread)."""

import asyncio

from .sandbox import Sandbox


class AsyncSandbox:
    def __init__(self, sandbox):
        self._sb = sandbox
        self.sandbox_id = sandbox.sandbox_id

    @classmethod
    async def create(cls, *args, **kw):
        return cls(await asyncio.to_thread(Sandbox.create, *args, **kw))

    async def run(self, cmd, **kw):
        return await asyncio.to_thread(self._sb.commands.run, cmd, **kw)

    async def write_file(self, path, data):
        return await asyncio.to_thread(self._sb.files.write, path, data)

    async def read_file(self, path, format="text"):
        return await asyncio.to_thread(self._sb.files.read, path, format)

    async def run_code(self, code, **kw):
        return await asyncio.to_thread(self._sb.run_code, code, **kw)

    async def set_timeout(self, seconds):
        return await asyncio.to_thread(self._sb.set_timeout, seconds)

    async def kill(self):
        return await asyncio.to_thread(self._sb.kill)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.kill()
        return False
