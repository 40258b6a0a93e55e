"""An OpenAI-compatible model server as the backend (vLLM, llama.cpp server, TGI, hosted APIs).

Bodies are forwarded as raw bytes both ways; aiohttp is the client because it
sustains more requests per second than httpx on this path
(``bench/upstream_client.py`` measures both).

The gateway hands over canonical ``/v1/...`` paths only (``gateway.paths``); the URL is built with the
path quoted as one path, redirects are never followed (a 3xx is a bad gateway), no cookie is kept
between requests (accounts must not share a session upstream), and what the upstream said when it
failed goes to the operator's log, not to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import logging

import aiohttp
import orjson
from yarl import URL

from distillshield.backends.base import BackendRequest, Reply, StreamReply
from distillshield.errors import UpstreamError, UpstreamTimeout

# Upstream answers that are the client's own fault pass through unchanged;
# anything else (auth failures with our upstream key, 5xx) is a bad gateway.
_PASS_THROUGH_STATUSES = {400, 404, 409, 413, 422, 429}
_DONE_MARKER = b"[DONE]"

log = logging.getLogger("distillshield.upstream")


def _base_url(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


@contextlib.contextmanager
def _reading(response: aiohttp.ClientResponse, timed_out: str, dropped: str):
    """Reading ``response``: silence past the timeout is ``UpstreamTimeout`` (504), a broken connection
    ``UpstreamError`` (502); the response is released either way."""
    try:
        yield
    except asyncio.TimeoutError:
        raise UpstreamTimeout(timed_out) from None
    except aiohttp.ClientError as exc:
        log.warning("%s: %s", dropped, exc)
        raise UpstreamError(dropped) from None
    finally:
        response.release()


class UpstreamBackend:
    name = "upstream"

    def __init__(self, url: str, *, api_key: str = "", timeout: float = 600.0, connect_timeout: float = 10.0):
        self.base_url = _base_url(url)
        self._base = URL(self.base_url)
        self.api_key = api_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=self.timeout)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers,
                                              auto_decompress=False, skip_auto_headers=("User-Agent",),
                                              cookie_jar=aiohttp.DummyCookieJar())

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def models(self) -> Reply:
        return await self.handle(BackendRequest(method="GET", endpoint="/v1/models", body=b"",
                                                payload=None, account=""))

    async def handle(self, request: BackendRequest) -> Reply | StreamReply:
        url = self.url_for(request.endpoint, request.query_string)
        headers = {"Content-Type": request.content_type} if request.body else {}
        try:
            response = await self._session.request(request.method, url, data=request.body or None, headers=headers,
                                                   allow_redirects=False)
        except asyncio.TimeoutError:
            raise UpstreamTimeout(f"the model server did not answer within {self.connect_timeout:g} s") from None
        except aiohttp.ClientError as exc:
            log.warning("cannot reach the model server at %s: %s", self._base.origin(), exc)
            raise UpstreamError("cannot reach the model server") from None
        if 300 <= response.status < 400:
            response.release()
            log.warning("the model server redirected %s %s (status %d); redirects are not followed",
                        request.method, request.endpoint, response.status)
            raise UpstreamError(f"the model server answered {response.status}")
        if response.status >= 400 or not _is_event_stream(response):
            return await self._complete_reply(response)
        return StreamReply(status=response.status, chunks=self._relay(response),
                           content_type=response.headers.get("Content-Type", "text/event-stream"))

    def url_for(self, endpoint: str, query_string: str = "") -> URL:
        """The upstream URL of a gateway path: the base's path joined with ``endpoint``, quoted as a path."""
        url = self._base.with_path(self._base.path.rstrip("/") + endpoint)
        return URL(f"{url}?{query_string}") if query_string else url

    async def _complete_reply(self, response: aiohttp.ClientResponse) -> Reply:
        with _reading(response, f"the model server did not answer within {self.timeout:g} s",
                      "the model server dropped the connection"):
            body = await response.read()
        if response.status >= 400 and response.status not in _PASS_THROUGH_STATUSES:
            log.warning("the model server answered %d: %s", response.status, _error_text(body))
            raise UpstreamError(f"the model server answered {response.status}")
        return Reply(status=response.status, body=body,
                     content_type=response.headers.get("Content-Type", "application/json"))

    async def _relay(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        tail = b""
        with _reading(response, f"the model server sent nothing for {self.timeout:g} s mid-stream",
                      "the model server dropped the stream"):
            async for chunk in response.content.iter_any():
                tail = (tail + chunk)[-64:]
                yield chunk
        if _DONE_MARKER not in tail:
            raise UpstreamError("the model server closed the stream before [DONE]")


def _is_event_stream(response: aiohttp.ClientResponse) -> bool:
    return response.headers.get("Content-Type", "").startswith("text/event-stream")


def _error_text(body: bytes) -> str:
    try:
        message = orjson.loads(body)["error"]["message"]
        return str(message)[:300]
    except Exception:
        return body[:300].decode("utf-8", "replace") or "(empty body)"
