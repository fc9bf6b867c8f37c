"""SoulBox's Python SDK: standard library only. It speaks the E2B-compatible
API that soulbox-gateway serves (docs/gateway.md)."""

from .aio import AsyncSandbox
from .code import Execution, ExecutionError, Result
from .errors import (AuthenticationError, CommandExitError, InvalidArgumentError, NotFoundError,
                     PermissionDeniedError, RateLimitError, ServiceBusyError, SoulBoxError, TimeoutError)
from .sandbox import CommandHandle, CommandResult, Sandbox
from .tools import TOOLS, handle_tool_call

__all__ = [
    "AsyncSandbox", "AuthenticationError", "CommandExitError", "CommandHandle", "CommandResult", "Execution",
    "ExecutionError", "Result",
    "InvalidArgumentError", "NotFoundError", "PermissionDeniedError", "RateLimitError", "Sandbox",
    "ServiceBusyError", "SoulBoxError", "TimeoutError", "TOOLS", "handle_tool_call",
]
__version__ = "0.1.0"
