"""The gateway: an ASGI app whose request path reads in order, one small layer each.

body (size) → auth (key → account) → policy (block?) → validation → policy (harden) → limits (throttled?)
→ backend → response (reasoning stripped when hardened), with the traffic log wrapped around all of it:
every request but the health check becomes one exchange record, refused ones included. The log writer
passes the records on to the live detector, whose risk table the policy reads.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from distillshield.backends import Backend, BackendRequest, StreamReply
from distillshield.detect.live import Replay
from distillshield.errors import BodyTooLarge, DistillShieldError, InternalError, InvalidRequest, NotFound
from distillshield.gateway.admin import admin_routes
from distillshield.gateway.alerts import AlertSender
from distillshield.gateway.auth import Authenticator, require_admin
from distillshield.gateway.calllog import Call
from distillshield.gateway.errors import error_event, error_response
from distillshield.gateway.limits import MemoryLimiter, Ticket
from distillshield.gateway.metrics import GatewayMetrics
from distillshield.gateway.policy import Policy, make_live_detector
from distillshield.gateway.validation import VALIDATORS, estimated_tokens, parse_json_object
from distillshield.records import Settings
from distillshield.store import LogWriter, Store

log = logging.getLogger("distillshield.gateway")

_REFUSAL_REASONS = {400: "invalid_request", 401: "auth", 403: "forbidden", 404: "not_found",
                    413: "body_too_large", 429: "rate_limit"}
_POLICY_CODES = ("blocked_by_policy", "hardened_by_policy")


class Gateway:
    """Holds the parts a request passes through; ``app`` is the ASGI application."""

    def __init__(self, settings: Settings, store: Store, backend: Backend, *, limiter=None,
                 detector_model=None, embedder="auto", canary_of=None, watermark_of=None):
        """``detector_model`` and ``embedder`` replace what the settings would load (tests, tools);
        ``canary_of`` (account id -> text) ends hardened accounts' answers with their canary;
        ``watermark_of`` (hardened -> {scheme, key_id}) is what the log records of the backend's mark."""
        self.settings = settings
        self.watermark_of = watermark_of
        self.store = store
        self.backend = backend
        self.auth = Authenticator(store, cache_seconds=settings.auth_cache_seconds)
        self.limiter = limiter or _make_limiter(settings)
        self.metrics = GatewayMetrics(lambda: self.log_writer.depth)
        self.alerts = None
        self.policy = Policy(settings, store, self.metrics, canary_of=canary_of)
        if settings.alert_webhook_url:
            self.alerts = self.policy.alerts = AlertSender(settings.alert_webhook_url,
                                                           on_result=self.policy.on_alert_result)
        self.detector = make_live_detector(settings, self.policy, model=detector_model, embedder=embedder)
        self.policy.attach(self.detector)
        if self.detector is not None:
            self.metrics.watch_detector(self.detector)
        self.log_writer = LogWriter(store, queue_size=settings.log_queue_size, batch_size=settings.log_batch_size,
                                    flush_ms=settings.log_flush_ms, retention_days=settings.retention_days,
                                    spill_path=_spill_path(settings.store_url),
                                    on_written=self.detector.feed if self.detector is not None else None)
        self.app = Starlette(routes=self._routes(), lifespan=self._lifespan)
        self.app.state.gateway = self

    def _routes(self) -> list[Route]:
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/metrics", self.logged(self.render_metrics), methods=["GET"]),
            *[Route(path, self.logged(handler, admin=True), methods=methods)
              for path, handler, methods in admin_routes()],
            Route("/v1/models", self.logged(self.list_models), methods=["GET"]),
            Route("/v1/{path:path}", self.logged(self.serve_model),
                  methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/{path:path}", self.logged(self.not_found),
                  methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
        ]

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app) -> AsyncIterator[None]:
        if self.alerts is not None:
            self.alerts.start()
        if self.detector is not None:
            hours, now = self.settings.detect_replay_hours, time.time()
            self.detector.start(replay=Replay(self.store.url, since=now - hours * 3600, until=now) if hours > 0
                                else None)
        self.log_writer.start()
        await self.backend.start()
        try:
            yield
        finally:
            await self.backend.aclose()
            await self.limiter.aclose()
            await self.log_writer.drain_waiting()
            self.log_writer.close()
            if self.detector is not None:
                self.detector.close()
            if self.alerts is not None:
                self.alerts.close()

    # the logging layer ----------------------------------------------------
    def logged(self, handler, *, admin: bool = False):
        """Wrap a handler so that its request becomes one exchange record, whatever happens."""

        async def endpoint(request: Request) -> Response:
            call = self._begin(request)
            streaming = False
            try:
                body = await _read_body(request, self.settings.max_body_bytes, call)
                account, key = await self.auth.authenticate(request.headers.get("authorization"))
                call.account, call.key_id = account.id, key.key_id
                if admin:
                    require_admin(account)
                    call.log_content = "none"
                response = await handler(request, call, account, body)
                streaming = isinstance(response, StreamingResponse)
                return response
            except DistillShieldError as exc:
                call.fail(exc)
                return error_response(exc)
            except Exception:
                log.exception("unexpected error serving %s %s", request.method, call.endpoint)
                failure = InternalError("the gateway failed to serve this request; it has been logged")
                call.fail(failure)
                return error_response(failure)
            finally:
                if not streaming:
                    self._end(call)

        return endpoint

    def _begin(self, request: Request) -> Call:
        return Call(method=request.method, endpoint=request.url.path, ip=self._client_ip(request),
                    user_agent=request.headers.get("user-agent"), log_content=self.settings.log_content)

    def _end(self, call: Call) -> None:
        if call.latency_ms is not None:
            return
        call.finish()
        status = call.status or 500
        reason = None
        if call.error:
            reason = "policy" if call.error.get("code") in _POLICY_CODES else _REFUSAL_REASONS.get(status)
        self.metrics.observe(call.endpoint, status, call.latency_ms / 1000, reason)
        self.log_writer.submit(call)

    def _client_ip(self, request: Request) -> str | None:
        if self.settings.trust_forwarded_for:
            forwarded = request.headers.get("x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return request.client.host if request.client else None

    # handlers -------------------------------------------------------------
    async def health(self, _request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def render_metrics(self, _request: Request, call: Call, account, _body: bytes) -> Response:
        require_admin(account)
        call.status = 200
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    async def list_models(self, _request: Request, call: Call, account, _body: bytes) -> Response:
        decision = self.policy.decide(account)
        if decision is not None:
            call.policy = decision.record
            self.policy.admit(decision)          # raises for a blocked account
        reply = await self.backend.models()
        call.status, call.response_body = reply.status, reply.body
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    async def not_found(self, request: Request, _call: Call, _account, _body: bytes) -> Response:
        raise NotFound(f"Unknown route {request.method} {request.url.path}. The API lives under /v1/.")

    async def serve_model(self, request: Request, call: Call, account, body: bytes) -> Response:
        decision = self.policy.decide(account)
        if decision is not None:
            call.policy = decision.record
            self.policy.admit(decision)          # raises for a blocked account
        payload = self._validated(request.method, call.endpoint, body)
        call.payload = payload                   # the log and the detector see what the client asked
        hardened = decision is not None and decision.harden and payload is not None
        if hardened:
            payload, body = self.policy.harden_request(call.endpoint, payload, body, decision, call)
        tokens = estimated_tokens(payload, self.settings.default_max_tokens) if payload else 0
        limits = self.policy.limits_for(account) if decision is not None and decision.throttle else account
        ticket = await self.limiter.admit(limits, tokens)
        backend_request = BackendRequest(
            method=request.method, endpoint=call.endpoint, body=body, payload=payload, account=account.id,
            query_string=request.url.query, content_type=request.headers.get("content-type", "application/json"),
            stream=bool(payload and payload.get("stream")), hardened=hardened)
        call.watermark = self.watermark_of(hardened) if self.watermark_of is not None else None
        try:
            reply = await self.backend.handle(backend_request)
        except BaseException:
            ticket.finish(0)
            raise
        if hardened:
            reply = self.policy.strip_reply(reply, decision, call)
        if isinstance(reply, StreamReply):
            call.status = reply.status
            return LoggedStream(self._relay(reply, call, ticket), on_end=lambda: self._close_stream(call, ticket),
                                status_code=reply.status, media_type=reply.content_type,
                                headers={**reply.headers, **ticket.headers})
        call.status, call.response_body = reply.status, reply.body
        ticket.finish(call.used_tokens() if ticket.needs_usage else None)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type,
                        headers={**reply.headers, **ticket.headers})

    def _validated(self, method: str, endpoint: str, body: bytes) -> dict | None:
        validator = VALIDATORS.get(endpoint)
        if validator is None:
            return None
        if method != "POST":
            raise InvalidRequest(f"{endpoint} takes POST, got {method}")
        return validator(parse_json_object(body), max_n=self.settings.max_n)

    async def _relay(self, reply: StreamReply, call: Call, ticket: Ticket) -> AsyncIterator[bytes]:
        chunks = call.stream_chunks = []
        try:
            async for chunk in reply.chunks:
                chunks.append(chunk)
                yield chunk
        except DistillShieldError as exc:
            call.fail(exc)
            event = error_event(exc)
            chunks.append(event)
            yield event
        except BaseException:
            call.status = 499
            call.error = {"type": "client_closed", "code": "client_closed_request",
                          "message": "the client went away before the answer was complete"}
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await reply.chunks.aclose()
            self._close_stream(call, ticket)

    def _close_stream(self, call: Call, ticket: Ticket) -> None:
        if call.stream_chunks is None:
            call.status = 499
            call.error = {"type": "client_closed", "code": "client_closed_request",
                          "message": "the client went away before the stream started"}
        ticket.finish(call.used_tokens() if ticket.needs_usage and call.stream_chunks else None)
        self._end(call)


class LoggedStream(StreamingResponse):
    """A streamed response whose exchange is logged even if the client leaves before the first byte."""

    def __init__(self, content, *, on_end, **kwargs):
        super().__init__(content, **kwargs)
        self._on_end = on_end

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_end()


async def _read_body(request: Request, limit: int, call: Call) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        call.body_size = int(declared)
        raise BodyTooLarge(f"the request body is {int(declared)} bytes; the limit is {limit}")
    parts: list[bytes] = []
    size = 0
    try:
        async for part in request.stream():
            size += len(part)
            if size > limit:
                call.body_size = size
                raise BodyTooLarge(f"the request body is over the limit of {limit} bytes")
            parts.append(part)
    except ClientDisconnect:
        call.body = b"".join(parts)
        raise InvalidRequest("the client disconnected while sending the body") from None
    call.body = b"".join(parts)
    return call.body


def _make_limiter(settings: Settings):
    if settings.redis_url:
        from distillshield.gateway.redis_limits import RedisLimiter
        return RedisLimiter(settings.redis_url, prefix=f"{settings.redis_prefix}:rl")
    return MemoryLimiter()


def _spill_path(store_url: str) -> str:
    if "://" in store_url and not store_url.startswith("sqlite"):
        return "distillshield-unwritten.jsonl"
    return store_url.removeprefix("sqlite:///") + ".unwritten.jsonl"
