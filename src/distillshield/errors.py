"""One exception hierarchy for the whole package.

Lower layers raise the most specific type; the gateway turns each into OpenAI
error JSON in one place (``gateway.errors``), the CLI into one line.
"""

from __future__ import annotations


class DistillShieldError(Exception):
    """Base of every error this package raises on purpose."""

    status = 500
    error_type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InternalError(DistillShieldError):
    """A bug: something this package did not expect. Logged with its traceback."""

    status = 500
    error_type = "server_error"
    code = "internal_error"


class ConfigError(DistillShieldError):
    """A setting or option has a value it cannot take."""

    status = 500
    error_type = "config_error"


class InvalidRequest(DistillShieldError):
    """The client sent something malformed (bad JSON, wrong type, missing field)."""

    status = 400
    error_type = "invalid_request_error"


class NotFound(DistillShieldError):
    status = 404
    error_type = "invalid_request_error"
    code = "not_found"


class BodyTooLarge(InvalidRequest):
    status = 413
    code = "request_too_large"


class AuthenticationError(DistillShieldError):
    status = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(DistillShieldError):
    status = 403
    error_type = "invalid_request_error"
    code = "permission_denied"


class RateLimited(DistillShieldError):
    """A per-account limit refused the request; carries the headers to send."""

    status = 429
    error_type = "requests"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float, headers: dict[str, str] | None = None,
                 limit: str = "requests"):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers or {}
        self.limit = limit
        self.error_type = limit


class UpstreamError(DistillShieldError):
    """The model server failed, refused the connection or dropped it."""

    status = 502
    error_type = "upstream_error"
    code = "bad_gateway"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class BackendOverloaded(DistillShieldError):
    """The built-in model's queue is full."""

    status = 503
    error_type = "server_error"
    code = "overloaded"


class ServiceUnavailable(DistillShieldError):
    """A service the gateway depends on (the store, Redis) cannot be reached; the client may retry."""

    status = 503
    error_type = "server_error"
    code = "service_unavailable"
