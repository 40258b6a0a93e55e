"""The one place where errors become OpenAI error JSON."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from distillshield.errors import DistillShieldError, RateLimited


def error_body(exc: DistillShieldError) -> bytes:
    return orjson.dumps({"error": {"message": exc.message, "type": exc.error_type,
                                   "param": exc.param, "code": exc.code}})


def error_response(exc: DistillShieldError) -> Response:
    headers = dict(exc.headers) if isinstance(exc, RateLimited) else {}
    return Response(error_body(exc), status_code=exc.status, media_type="application/json", headers=headers)


def error_event(exc: DistillShieldError) -> bytes:
    """A server-sent event that ends a stream which cannot go on."""
    return b"data: " + error_body(exc) + b"\n\n"
