"""The seam between the gateway and whatever produces answers.

A backend receives the request exactly as the client sent it (raw bytes plus
the validated payload) and answers with raw bytes, so the proxy path never
re-encodes JSON on the hot path; the log writer decodes off the hot path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class BackendRequest:
    method: str
    endpoint: str                 # path as received, e.g. "/v1/chat/completions"
    body: bytes                   # raw request body
    payload: dict | None          # parsed and validated body for known endpoints, else None
    account: str                  # account the request is served for (keys watermarks, policy)
    query_string: str = ""
    content_type: str = "application/json"
    stream: bool = False
    hardened: bool = False        # the account's policy level is harden: mark its answers more strongly
    applied: list[str] = field(default_factory=list)   # what the backend did to a hardened answer (the log's actions)


@dataclass(slots=True)
class Reply:
    """A complete (non-streamed) answer."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StreamReply:
    """A streamed answer: raw server-sent-event bytes, forwarded as they come.

    The iterator raises ``UpstreamError`` if the source dies mid-stream.
    """

    status: int
    chunks: AsyncIterator[bytes]
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def models(self) -> Reply: ...

    async def handle(self, request: BackendRequest) -> Reply | StreamReply:
        """Serve a /v1/chat/completions, /v1/completions or pass-through request.

        Raises ``NotFound`` for an endpoint the backend cannot serve,
        ``UpstreamTimeout``/``UpstreamError`` when the model server fails.
        """
        ...
