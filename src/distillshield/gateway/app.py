"""The gateway: an ASGI app whose request path reads in order, one small layer each.

body (size) → auth (key → account; an address without a key has its own limit) → path (one canonical
form, or 404) → policy (block?) → route (understood, allow-listed pass-through, or 404) → validation →
policy (harden) → limits (throttled?) → backend → response (reasoning stripped when hardened), with the
traffic log wrapped around all of it: every request but the health check becomes one exchange record,
refused ones included, and every answer names it in ``x-request-id``. The log writer passes the records
on to the live detector, whose risk table the policy reads.
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
from distillshield.console import console_routes
from distillshield.detect.live import Replay
from distillshield.errors import (
    AuthenticationError,
    BodyTooLarge,
    ConfigError,
    DistillShieldError,
    InternalError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from distillshield.gateway.admin import admin_routes
from distillshield.gateway.alerts import AlertSender
from distillshield.gateway.auth import Authenticator, refused_identity, require_admin
from distillshield.gateway.calllog import Call, loggable_path
from distillshield.gateway.errors import error_event, error_response
from distillshield.gateway.limits import MemoryLimiter, RefusalBudget, Ticket
from distillshield.gateway.metrics import GatewayMetrics
from distillshield.gateway.openapi import openapi_document
from distillshield.gateway.paths import PassThrough, canonical_path
from distillshield.gateway.detection import make_live_detector
from distillshield.gateway.policy import Policy
from distillshield.gateway.validation import VALIDATORS, estimated_tokens, parse_json_object
from distillshield.records import Settings
from distillshield.store import Account, LogWriter, Spool, Store

log = logging.getLogger("distillshield.gateway")

_REFUSAL_REASONS = {400: "invalid_request", 401: "auth", 403: "forbidden", 404: "not_found",
                    413: "body_too_large", 429: "rate_limit"}
_POLICY_CODES = ("blocked_by_policy", "hardened_by_policy")
_USER_AGENT_KEPT = 512
_DONE = b"[DONE]"
_COUNTED_REFUSALS = (400, 401, 403, 404, 405, 413)   # the gateway's refusals, before any limit counts a request


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
        self.passthrough = PassThrough(settings.upstream_passthrough)
        self.refusals = RefusalBudget(settings.refused_rpm)
        self.metrics = GatewayMetrics(lambda: self.log_writer.depth, lambda: self.log_writer.restarts)
        self.alerts = None
        self.policy = Policy(settings, store, self.metrics, canary_of=canary_of)
        if settings.alert_webhook_url:
            self.alerts = self.policy.alerts = AlertSender(settings.alert_webhook_url,
                                                           on_result=self.policy.on_alert_result)
        self.shared_risk = None
        if settings.detect and settings.detect_source == "shared":
            self.detector = None
            self.shared_risk = _shared_risk(settings)
            self.policy.attach_risk(self.shared_risk.risk)
            self.metrics.watch_shared_risk(self.shared_risk)
        else:
            self.detector = make_live_detector(settings, self.policy, model=detector_model, embedder=embedder)
            self.policy.attach(self.detector)
            if self.detector is not None:
                self.metrics.watch_detector(self.detector)
        self.spool = None if settings.spool == "off" else Spool(_spool_path(settings), sync=settings.spool)
        self.log_writer = LogWriter(store, queue_size=settings.log_queue_size, batch_size=settings.log_batch_size,
                                    flush_ms=settings.log_flush_ms, retention_days=settings.retention_days,
                                    spill_path=_spill_path(settings.store_url),
                                    on_written=self.detector.feed if self.detector is not None else None,
                                    spool=self.spool, queue_bytes=settings.log_queue_bytes)
        self.app = Starlette(routes=self._routes(), lifespan=self._lifespan)
        self.app.router.default = self._unrouted
        self.app.state.gateway = self

    def _routes(self) -> list[Route]:
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/metrics", self.logged(self.render_metrics), methods=["GET"]),
            Route("/openapi.json", self.logged(self.render_openapi, admin=True), methods=["GET"]),
            *[Route(path, self.logged(handler, admin=True), methods=methods)
              for path, handler, methods in admin_routes()],
            *(console_routes(self.store, self.settings, gateway=self, wrap=self.logged_asgi)
              if self.settings.console else []),
            Route("/v1/models", self.logged(self.list_models), methods=["GET"]),
            Route("/v1/{path:path}", self.logged(self.serve_model),
                  methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            # an ASGI app, not a function, so that Starlette routes every method here: each request is logged
            Route("/{path:path}", _AsgiEndpoint(self._unrouted)),
        ]

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app) -> AsyncIterator[None]:
        if self.alerts is not None:
            self.alerts.start()
        if self.shared_risk is not None:
            self.shared_risk.start()
        if self.detector is not None:
            hours, now = self.settings.detect_replay_hours, time.time()
            self.detector.start(replay=Replay(self.store.url, since=now - hours * 3600, until=now) if hours > 0
                                else None)
        self.log_writer.start()
        if self.spool is not None:
            await self._replay_spool()
        await self.backend.start()
        try:
            yield
        finally:
            await self.backend.aclose()
            await self.limiter.aclose()
            await self.log_writer.drain_waiting()
            self.log_writer.close()
            if self.spool is not None:
                self.spool.close()
            if self.detector is not None:
                self.detector.close()
            if self.shared_risk is not None:
                self.shared_risk.close()
            if self.alerts is not None:
                self.alerts.close()

    # the logging layer ----------------------------------------------------
    def logged(self, handler, *, admin: bool = False):
        """Wrap a handler so that its request becomes one exchange record, whatever happens."""

        async def endpoint(request: Request) -> Response:
            room = True
            if self.log_writer.backlogged:      # back-pressure: new requests wait for the log to catch up
                room = await self.log_writer.wait_for_room()
            call = self._begin(request)
            streaming = False
            try:
                if not room:
                    raise ServiceUnavailable("the traffic log is behind; retry shortly")
                account, key = await self._authenticate(request, call)
                call.account, call.key_id = account.id, key.key_id
                self.refusals.check(account.id, time.time())    # past its refusals: 429, the body never read
                body = await _read_body(request, self.settings.max_body_bytes, call)
                if admin:
                    require_admin(account)
                    call.log_content = "none"
                call.endpoint = canonical_path(request.scope.get("raw_path"), request.url.path)
                response = await handler(request, call, account, body)
                call.status = response.status_code      # the one place a served request's status is set
                streaming = isinstance(response, StreamingResponse)
            except DistillShieldError as exc:
                call.fail(exc)
                if call.account is not None and exc.status in _COUNTED_REFUSALS:
                    self.refusals.note(call.account, time.time())
                response = error_response(exc)
            except Exception:
                log.exception("unexpected error serving %s %s", request.method, call.endpoint)
                failure = InternalError("the gateway failed to serve this request; it has been logged")
                call.fail(failure)
                response = error_response(failure)
            except BaseException:      # cancelled: the server is stopping, or the client went away
                if call.status is None or call.error is None:
                    call.fail(ServiceUnavailable("the gateway stopped before it could answer"))
                raise
            finally:
                if not streaming:
                    self._end(call)
            response.headers["x-request-id"] = call.id
            return response

        return endpoint

    def logged_asgi(self, app):
        """Wrap an ASGI app that answers requests itself (the console) so that each of them, too, becomes one
        exchange record (its texts never kept) and names it in ``x-request-id``; the app says whose request it
        was in ``scope["state"]`` (``console_account``, ``console_key_id``)."""

        async def logged_app(scope, receive, send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            request = Request(scope, receive)
            call = self._begin(request)
            call.log_content = "none"

            def end() -> None:
                state = scope.get("state") or {}
                call.account, call.key_id = state.get("console_account"), state.get("console_key_id")
                self._end(call)

            async def send_with_id(message) -> None:
                if message["type"] == "http.response.start":
                    call.status = message["status"]
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"x-request-id", call.id.encode())]}
                elif message["type"] == "http.response.body" and not message.get("more_body"):
                    end()           # recorded (and spooled) before the answer's last byte leaves
                await send(message)

            try:    # the console's own pages end with a slash (/console/); nothing else may be odd
                path = request.url.path
                canonical_path(scope.get("raw_path"), path[:-1] if path.endswith("/") and len(path) > 1 else path)
            except NotFound as exc:
                call.fail(exc)
                await send_with_id({"type": "http.response.start", "status": exc.status,
                                    "headers": [(b"content-type", b"application/json")]})
                await send_with_id({"type": "http.response.body", "body": error_response(exc).body})
                return
            try:
                await app(scope, receive, send_with_id)
            except BaseException:
                if call.status is None:
                    call.fail(InternalError("the console failed to answer"))
                raise
            finally:
                end()               # does nothing when the last byte already ended it

        return _AsgiEndpoint(logged_app)

    async def _unrouted(self, scope, receive, send) -> None:
        """Requests no route can match (a target such as ``*``): answered and logged like any other 404."""
        if scope["type"] != "http":
            return
        response = await self.logged(self.not_found)(Request(scope, receive))
        await response(scope, receive, send)

    async def _authenticate(self, request: Request, call: Call) -> tuple[Account, object]:
        """The key's account; a refused genuine key is logged under its account, and an address sending
        requests without a valid key meets its own limit (429) before it learns anything more."""
        try:
            return await self.auth.authenticate(request.headers.get("authorization"))
        except (AuthenticationError, PermissionDenied) as exc:
            call.account, call.key_id = refused_identity(exc)
            if call.account is None and self.settings.anonymous_rpm:
                ticket = await self.limiter.admit(_anonymous_account(call.ip, self.settings.anonymous_rpm), 0)
                ticket.finish(0)
            elif call.account is not None:
                self.refusals.check(call.account, time.time())
            with contextlib.suppress(InvalidRequest):    # its body's fingerprint (or text) for the record
                await _read_body(request, self.settings.max_body_bytes, call)
            raise

    def _begin(self, request: Request) -> Call:
        user_agent = request.headers.get("user-agent")
        return Call(method=request.method, endpoint=loggable_path(request.scope.get("raw_path"), request.url.path),
                    ip=self._client_ip(request), user_agent=user_agent[:_USER_AGENT_KEPT] if user_agent else None,
                    log_content=self.settings.log_content)

    async def _replay_spool(self) -> None:
        """Hand the log writer the records a previous run spooled and never saw stored (it died first)."""
        taken = [(segment, Call.from_spool(frame)) for segment, frame in self.spool.take_over()]
        if not taken:
            return
        stored = await anyio.to_thread.run_sync(self.store.existing_exchange_ids, [call.id for _, call in taken])
        for segment, call in taken:
            call.spool_segment = segment
            if call.id in stored:
                self.spool.release([segment])
            else:
                self.log_writer.submit(call)
        log.warning("replayed %d exchange records from the spool into the store (%d were already there)",
                    len(taken) - len(stored), len(stored))

    def _end(self, call: Call) -> None:
        if call.latency_ms is not None:
            return
        call.finish()
        if self.spool is not None:
            try:
                call.spool_segment = self.spool.append(call.to_spool())
            except Exception:  # a full disk must not cost the answer; the record still goes to the writer
                log.exception("could not spool exchange %s", call.id)
        status = call.status or 500
        reason = None
        if call.error:
            reason = "policy" if call.error.get("code") in _POLICY_CODES else _REFUSAL_REASONS.get(status)
        self.metrics.observe(call.endpoint, status, call.latency_ms / 1000, reason)
        self.log_writer.submit(call)

    def _client_ip(self, request: Request) -> str | None:
        if self.settings.trust_forwarded_for:
            # every X-Forwarded-For line, in order: a proxy may add its own line after the client's
            forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
            if forwarded:
                # the last entry is the one our proxy added; the ones before it are whatever the client wrote
                return forwarded.rsplit(",", 1)[-1].strip()[:64] or None
        return request.client.host if request.client else None

    # handlers -------------------------------------------------------------
    async def health(self, _request: Request) -> Response:
        if not self.log_writer.running():
            return Response(b'{"status":"degraded","log_writer":"stopped"}', status_code=503,
                            media_type="application/json")
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def render_metrics(self, _request: Request, call: Call, account, _body: bytes) -> Response:
        require_admin(account)
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    async def render_openapi(self, _request: Request, _call: Call, _account, _body: bytes) -> Response:
        return Response(openapi_document(self.passthrough), media_type="application/json")

    async def list_models(self, _request: Request, call: Call, account, _body: bytes) -> Response:
        decision = self.policy.decide(account)
        if decision is not None:
            call.policy = decision.record
            self.policy.admit(decision)          # raises for a blocked account
        limits = self.policy.limits_for(account) if decision is not None and decision.throttle else account
        (await self.limiter.admit(limits, 0)).finish(0)
        reply = await self.backend.models()
        call.response_body = reply.body
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    async def not_found(self, request: Request, _call: Call, _account, _body: bytes) -> Response:
        raise NotFound(f"Unknown route {request.method} {request.url.path}. The API lives under /v1/.")

    async def serve_model(self, request: Request, call: Call, account, body: bytes) -> Response:
        decision = self.policy.decide(account)
        if decision is not None:
            call.policy = decision.record
            self.policy.admit(decision)          # raises for a blocked account
        understood = call.endpoint in VALIDATORS
        if not understood and not self.passthrough.allows(request.method, call.endpoint):
            raise NotFound(f"Unknown route {request.method} {call.endpoint}: this gateway forwards "
                           "/v1/chat/completions, /v1/completions, /v1/models and the paths its operator allowed.")
        payload = self._validated(request.method, call.endpoint, body) if understood else None
        call.payload = payload                   # the log and the detector see what the client asked
        hardened = decision is not None and decision.harden
        if hardened and understood:
            payload, body = self.policy.harden_request(call.endpoint, payload, body, decision, call)
        elif hardened and request.method != "GET":
            self.policy.refuse_passthrough(decision, call)
        default_max_tokens = self.settings.default_max_tokens
        output_cap = 0 if self.settings.upstream_url else self.settings.builtin_max_output_tokens
        tokens = estimated_tokens(payload, default_max_tokens, output_cap) if payload else \
            (len(body) // 4 + 1 + default_max_tokens if body else 0)
        limits = self.policy.limits_for(account) if decision is not None and decision.throttle else account
        ticket = await self.limiter.admit(limits, tokens)
        # an understood body is JSON whatever the client called it, and takes no query string
        backend_request = BackendRequest(
            method=request.method, endpoint=call.endpoint, body=body, payload=payload, account=account.id,
            query_string="" if understood else request.url.query,
            content_type="application/json" if understood else request.headers.get("content-type", "application/json"),
            stream=bool(payload and payload.get("stream")), hardened=hardened and understood)
        call.watermark = self.watermark_of(hardened and understood) if self.watermark_of is not None else None
        try:
            reply = await self.backend.handle(backend_request)
        except BaseException:
            ticket.finish(0)
            raise
        if hardened and understood:
            reply = self.policy.strip_reply(reply, decision, call, backend_request.applied)
        if isinstance(reply, StreamReply):
            return LoggedStream(self._relay(reply, call, ticket), on_end=lambda: self._close_stream(call, ticket),
                                status_code=reply.status, media_type=reply.content_type,
                                headers={**reply.headers, **ticket.headers})
        call.response_body = reply.body
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
        """The stream's chunks as they come, except the one that ends it (``[DONE]``): that one leaves only
        once the exchange is recorded (spooled), so that an answer a client saw complete is never lost."""
        chunks = call.stream_chunks = []
        held = None
        tail = b""
        try:
            async for chunk in reply.chunks:
                if held is not None:        # more came after the end marker: the end was not the end
                    yield held
                    held = None
                chunks.append(chunk)
                if _DONE in tail + chunk:
                    held = chunk
                else:
                    yield chunk
                tail = chunk[-len(_DONE):]
        except DistillShieldError as exc:
            call.fail(exc)
            event = error_event(exc)
            chunks.append(event)
            if held is not None:
                yield held
            held = event
        except BaseException:
            call.status = 499
            call.error = {"type": "client_closed", "code": "client_closed_request",
                          "message": "the client went away before the answer was complete"}
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await reply.chunks.aclose()
            self._close_stream(call, ticket)
        if held is not None:
            yield held

    def _close_stream(self, call: Call, ticket: Ticket) -> None:
        if call.stream_chunks is None:
            call.status = 499
            call.error = {"type": "client_closed", "code": "client_closed_request",
                          "message": "the client went away before the stream started"}
        used = None
        try:
            if ticket.needs_usage and call.stream_chunks:
                used = call.used_tokens()
        except Exception:  # an answer we cannot read must not keep the account's slot or lose the record
            log.exception("could not count the tokens of streamed exchange %s", call.id)
        ticket.finish(used)
        self._end(call)


class _AsgiEndpoint:
    """Wraps an ASGI callable so that a Starlette ``Route`` takes it as an app (any method) rather than as a
    request handler (GET only)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


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


def _shared_risk(settings: Settings):
    from distillshield.detect.service import SharedRisk
    if not settings.redis_url:
        raise ConfigError("setting detect_source = shared reads the levels `distillshield detector` publishes in "
                          "Redis: set redis_url too")
    return SharedRisk(settings.redis_url, settings.redis_prefix)


def _anonymous_account(ip: str | None, rpm: int) -> Account:
    """The limits of requests without a valid key, counted per client address."""
    return Account(id=f"anonymous@{ip or 'unknown'}", name="anonymous", is_admin=False, rpm=rpm, tpm=0,
                   concurrency=0, tpd=0, disabled=False, created_at=0.0)


def _make_limiter(settings: Settings):
    if settings.redis_url:
        from distillshield.gateway.redis_limits import RedisLimiter
        return RedisLimiter(settings.redis_url, prefix=f"{settings.redis_prefix}:rl")
    return MemoryLimiter()


def _spool_path(settings: Settings) -> str:
    if settings.spool_path:
        return settings.spool_path
    if "://" in settings.store_url and not settings.store_url.startswith("sqlite"):
        return f"distillshield-{settings.port}.spool"
    return settings.store_url.removeprefix("sqlite:///") + ".spool"


def _spill_path(store_url: str) -> str:
    if "://" in store_url and not store_url.startswith("sqlite"):
        return "distillshield-unwritten.jsonl"
    return store_url.removeprefix("sqlite:///") + ".unwritten.jsonl"
