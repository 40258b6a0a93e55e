"""An OpenAI-compatible model server as the backend (vLLM, llama.cpp server, TGI, hosted APIs).

Bodies are forwarded as raw bytes both ways; aiohttp is the client because it
sustains more requests per second than httpx on this path
(``bench/upstream_client.py`` measures both).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson

from distillshield.backends.base import BackendRequest, Reply, StreamReply
from distillshield.errors import UpstreamError, UpstreamTimeout

# Upstream answers that are the client's own fault pass through unchanged;
# anything else (auth failures with our upstream key, 5xx) is a bad gateway.
_PASS_THROUGH_STATUSES = {400, 404, 409, 413, 422, 429}
_DONE_MARKER = b"[DONE]"


def _base_url(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class UpstreamBackend:
    name = "upstream"

    def __init__(self, url: str, *, api_key: str = "", timeout: float = 600.0, connect_timeout: float = 10.0):
        self.base_url = _base_url(url)
        self.api_key = api_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=self.timeout)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers,
                                              auto_decompress=False, skip_auto_headers=("User-Agent",))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def models(self) -> Reply:
        return await self.handle(BackendRequest(method="GET", endpoint="/v1/models", body=b"",
                                                payload=None, account=""))

    async def handle(self, request: BackendRequest) -> Reply | StreamReply:
        url = self.base_url + request.endpoint
        if request.query_string:
            url += "?" + request.query_string
        headers = {"Content-Type": request.content_type} if request.body else {}
        try:
            response = await self._session.request(request.method, url, data=request.body or None, headers=headers)
        except asyncio.TimeoutError:
            raise UpstreamTimeout(f"the model server did not answer within {self.connect_timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"cannot reach the model server: {exc}") from None
        if response.status >= 400 or not _is_event_stream(response):
            return await self._complete_reply(response)
        return StreamReply(status=response.status, chunks=self._relay(response),
                           content_type=response.headers.get("Content-Type", "text/event-stream"))

    async def _complete_reply(self, response: aiohttp.ClientResponse) -> Reply:
        try:
            body = await response.read()
        except asyncio.TimeoutError:
            raise UpstreamTimeout(f"the model server did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"the model server dropped the connection: {exc}") from None
        finally:
            response.release()
        if response.status >= 400 and response.status not in _PASS_THROUGH_STATUSES:
            raise UpstreamError(f"the model server answered {response.status}: {_error_text(body)}")
        return Reply(status=response.status, body=body,
                     content_type=response.headers.get("Content-Type", "application/json"))

    async def _relay(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        tail = b""
        try:
            async for chunk in response.content.iter_any():
                tail = (tail + chunk)[-64:]
                yield chunk
        except asyncio.TimeoutError:
            raise UpstreamTimeout(f"the model server sent nothing for {self.timeout:g} s mid-stream") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"the model server dropped the stream: {exc}") from None
        finally:
            response.release()
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
