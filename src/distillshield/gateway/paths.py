"""Request paths: one canonical form, checked before anything else looks at a path.

Every rule of the gateway (validation, hardening, limits, what is forwarded upstream) is keyed on the
path, so a path that could mean two things is refused outright instead of being normalised: dot
segments (``/v1/./chat/completions``, ``/v1/x/../chat``, ``..;``), empty segments (``//``), a trailing
slash, path parameters (``;``), percent-encoded dots, slashes and backslashes (``%2e``, ``%2f``, ``%5c``),
and control characters. A
client that sends one of these is not using an OpenAI SDK, so nothing legitimate is lost.

What an account may reach upstream beyond the endpoints the gateway understands is an allow-list of
``METHOD /v1/path`` patterns (setting ``upstream_passthrough``), ``*`` standing for one path segment
and ``**`` for one or more.
"""

from __future__ import annotations

import re

from distillshield.errors import ConfigError, NotFound

_ENCODED_SEPARATOR = re.compile(rb"%(2e|2f|5c|00)", re.IGNORECASE)
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-.~:@!$&'()*+,;=]+$")


def canonical_path(raw_path: bytes | None, path: str) -> str:
    """``path`` (already percent-decoded) when it has exactly one meaning; otherwise NotFound (404)."""
    if path == "/":
        return path
    if raw_path is not None and _ENCODED_SEPARATOR.search(raw_path):
        raise _odd(path, "an encoded dot, slash, backslash or NUL")
    segments = path.split("/")
    if segments[0] != "":
        raise _odd(path, "a relative path")
    for segment in segments[1:]:
        if segment == "":
            raise _odd(path, "an empty segment or a trailing slash")
        if set(segment) <= {".", ";"} or segment.startswith(".."):
            raise _odd(path, "a dot segment")
        if ";" in segment:      # path parameters: some servers read '..;' as '..'
            raise _odd(path, "a ';' in a segment")
        if not _SEGMENT.match(segment):
            raise _odd(path, "characters outside a URL path segment")
    return path


def _odd(path: str, what: str) -> NotFound:
    shown = path if len(path) <= 200 else path[:200] + "…"
    return NotFound(f"Unknown route {shown!r}: the path has {what}. The API lives under /v1/.",
                    code="invalid_path")


class PassThrough:
    """The allow-list of upstream paths forwarded without being understood: ``METHOD /v1/a/*/b`` patterns."""

    def __init__(self, patterns: str):
        self.patterns = tuple(_compile(item) for item in patterns.split(",") if item.strip())

    def allows(self, method: str, path: str) -> bool:
        return any(method == allowed and pattern.match(path) for allowed, pattern in self.patterns)


def _compile(item: str) -> tuple[str, re.Pattern]:
    method, _, pattern = item.strip().partition(" ")
    pattern = pattern.strip()
    if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE") or not pattern.startswith("/v1/"):
        raise ConfigError(f"setting upstream_passthrough: each entry must be 'METHOD /v1/path', got {item.strip()!r}")
    wildcards = {"*": r"[^/]+", "**": r"[^/]+(?:/[^/]+)*"}
    segments = [wildcards.get(segment) or re.escape(segment) for segment in pattern.split("/")]
    return method.upper(), re.compile("/".join(segments) + r"\Z")
