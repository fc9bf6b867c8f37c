"""Typed errors: every failure the SDK reports is a SoulBoxError."""


class SoulBoxError(Exception):
    """A request failed; `status` is the HTTP status when there was one."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


class AuthenticationError(SoulBoxError):
    """The API key or token was missing, wrong, expired or revoked (401)."""


class PermissionDeniedError(SoulBoxError):
    """The caller's roles do not allow this (403)."""


class NotFoundError(SoulBoxError):
    """No such sandbox, file or process (404) - or another tenant's."""


class InvalidArgumentError(SoulBoxError):
    """The request was malformed (400)."""


class RateLimitError(SoulBoxError):
    """Too many requests (429), still so after the retries."""


class ServiceBusyError(SoulBoxError):
    """The gateway or the cluster is busy or has no node (503)."""


class TimeoutError(SoulBoxError):  # noqa: A001 - E2B's SDKs use the same name
    """A deadline passed (a command's timeout, or a request's)."""


class CommandExitError(SoulBoxError):
    """A command ended with a non-zero exit code; the result is attached."""

    def __init__(self, result):
        super().__init__(
            "command exited with code %d: %s" % (result.exit_code, result.stderr[-500:])
        )
        self.result = result
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr


_BY_STATUS = {
    400: InvalidArgumentError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    503: ServiceBusyError,
    504: TimeoutError,
}

_BY_CONNECT_CODE = {
    "invalid_argument": InvalidArgumentError,
    "unauthenticated": AuthenticationError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "resource_exhausted": RateLimitError,
    "unavailable": ServiceBusyError,
    "deadline_exceeded": TimeoutError,
}


def error_for_status(status, message):
    return _BY_STATUS.get(status, SoulBoxError)(message, status=status)


def error_for_connect(code, message):
    return _BY_CONNECT_CODE.get(code, SoulBoxError)(message, code=code)
