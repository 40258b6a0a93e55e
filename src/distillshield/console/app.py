"""The console's web app: sign-in with an admin key, sessions, CSRF, and the pages.

Mounted at ``/console`` by the gateway (same process, same store, its live detector) or served alone by
``distillshield console`` against a store. Pages are rendered on the server (Jinja2, inline SVG charts);
the one script and the style sheet ship in the package.

Sessions: an admin key is exchanged for a random token in an HttpOnly, SameSite=Strict cookie (Secure over
HTTPS) that expires after ``console_session_minutes``; only its hash is stored, so sessions survive a
restart and work across replicas. Each request re-checks the key behind the session (revoked, expired,
no longer admin: signed out). Every change is a POST carrying the session's CSRF token, and is recorded as
an operator action with the admin key's id and the reason given.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import parse_qs, quote

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from distillshield.console import charts, data
from distillshield.errors import DistillShieldError, InvalidRequest, NotFound
from distillshield.records import Settings, format_ts
from distillshield.store import POLICY_OVERRIDES, Store, secret_matches, split_key

log = logging.getLogger("distillshield.console")
HERE = Path(__file__).parent
COOKIE = "ds_console"
PREFIX = "/console"
_LIMITS = ("rpm", "tpm", "concurrency", "tpd")
ACCOUNTS_PER_PAGE = 100
SIGN_IN_FAILURES = 10            # refused sign-ins per address per minute before the next ones wait
_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                       "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
            "X-Frame-Options": "DENY"}


class Console:
    """``app`` is the console's ASGI app, to be mounted at ``/console``.

    ``gateway``: the running gateway when mounted in one (its live detector's risk table and health, and its
    key cache, forgotten after a change so the change applies to the next request)."""

    def __init__(self, store: Store, settings: Settings, *, gateway=None):
        self.store = store
        self.settings = settings
        self.gateway = gateway
        self.lifetime = settings.console_session_minutes * 60
        self.cache = data.SliceCache()
        self._warming = threading.Lock()
        self._refusals: dict[str, deque] = {}
        self._sign_in_slots = asyncio.Semaphore(2)    # key look-ups for sign-ins at once
        self.folders = [part.strip() for part in settings.console_reports.split(",") if part.strip()]
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
        self.env.filters["ts"] = lambda epoch: format_ts(epoch)[:19].replace("T", " ") if epoch else "-"
        self.env.filters["num"] = lambda value: "-" if value is None else f"{value:,}" if isinstance(value, int) \
            else f"{value:.3f}"
        self.env.globals.update(levels=data.LEVEL_ORDER, overrides=POLICY_OVERRIDES, windows=list(data.WINDOWS),
                                colours=charts.LEVEL_COLOURS, quote=lambda text: quote(text, safe=""))
        self.app = Starlette(routes=self._routes())

    @property
    def detector(self):
        return getattr(self.gateway, "detector", None)

    def _routes(self) -> list:
        return [
            Route("/", self.page(self.overview)),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.change(self.logout), methods=["POST"]),
            Route("/accounts", self.page(self.accounts)),
            Route("/accounts/{account_id}", self.page(self.account)),
            Route("/accounts/{account_id}/export", self.page(self.export)),
            Route("/accounts/{account_id}/policy", self.change(self.set_policy), methods=["POST"]),
            Route("/accounts/{account_id}/limits", self.change(self.set_limits), methods=["POST"]),
            Route("/keys/{key_id}/revoke", self.change(self.revoke_key), methods=["POST"]),
            Route("/campaigns", self.page(self.campaigns)),
            Route("/campaign", self.page(self.campaign)),
            Route("/campaign/policy", self.change(self.set_campaign_policy), methods=["POST"]),
            Route("/events", self.page(self.events)),
            Route("/reports", self.page(self.reports)),
            Route("/reports/file", self.page(self.report_file)),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]

    # sessions ---------------------------------------------------------------------------------------
    def _session(self, request: Request) -> dict | None:
        """The request's live session, its admin key still usable and still an admin's; else None."""
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = self.store.get_console_session(token)
        if session is None:
            return None
        key = self.store.get_key(session["key_id"])
        account = self._admin_of(key)
        if account is None:
            return None
        request.state.console_account, request.state.console_key_id = account.id, key.key_id   # for the log
        return session

    def page(self, handler):
        """A page or read: only with a session (otherwise to the sign-in page)."""

        def to_sign_in(request: Request) -> Response:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            return RedirectResponse(f"{PREFIX}/login?next={target}", 303)

        return self._with_session(handler, to_sign_in)

    def change(self, handler):
        """A change: only with a session and its CSRF token (form field ``csrf`` or header ``X-CSRF-Token``)."""

        async def checked(request: Request, session: dict) -> Response:
            form = await _form(request)
            presented = form.get("csrf") or request.headers.get("x-csrf-token") or ""
            if not hmac.compare_digest(presented.encode(), session["csrf"].encode()):
                return self.render("error.html", request, session, status=403,
                                   message="This change was refused: its CSRF token is missing "
                                           "or wrong. Reload the page and try again.")
            return await handler(request, session, form)

        def refused(request: Request) -> Response:
            return self.render("error.html", request, None, status=401,
                               message="Sign in first: this change needs a console session.")

        return self._with_session(checked, refused)

    def _with_session(self, run, without_session):
        """An endpoint that refuses NULs, finds the session (``without_session(request)`` answers when there is
        none), answers with ``run(request, session)`` and shows the project's errors on the error page."""

        async def endpoint(request: Request) -> Response:
            began = time.perf_counter()
            if _has_nul(request):
                return self._nul_refused(request, began)
            session = await asyncio.to_thread(self._session, request)
            if session is None:
                return self._secure(without_session(request), began)
            try:
                response = await run(request, session)
            except DistillShieldError as exc:
                response = self.render("error.html", request, session, status=exc.status, message=exc.message)
            return self._secure(response, began)

        return endpoint

    def _nul_refused(self, request: Request, began: float) -> Response:
        return self._secure(self.render("error.html", request, None, status=400,
                                        message="This address holds a NUL character."), began)

    def _secure(self, response: Response, began: float) -> Response:
        response.headers.update(_HEADERS)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"
        return response

    def render(self, template: str, request: Request, session: dict | None, status: int = 200, **context) -> Response:
        html = self.env.get_template(template).render(
            session=session, path=request.url.path, query=request.query_params, prefix=PREFIX,
            actor=session["key_id"] if session else None, csrf=session["csrf"] if session else "",
            log_content=self.settings.log_content, in_gateway=self.gateway is not None, **context)
        return HTMLResponse(html, status_code=status)

    # sign-in ----------------------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        return self._secure(self.render("login.html", request, None, next=_next(request.query_params.get("next"))),
                            time.perf_counter())

    async def login(self, request: Request) -> Response:
        began = time.perf_counter()
        try:
            form = await _form(request)
        except InvalidRequest as exc:
            return self._secure(self.render("error.html", request, None, status=400, message=exc.message), began)
        target = _next(form.get("next"))
        address = self._client_ip(request)
        # a valid admin key is never refused for others' failures (an attacker sharing an address or a NAT
        # could otherwise lock the operator out); keys are 256 random bits, so the limit below only slows
        # scripted guessing and keeps it out of the thread pool
        async with self._sign_in_slots:
            signed_in = await asyncio.to_thread(self._sign_in, form.get("key", "").strip())
        if signed_in is None:
            refused = self._note_refusal(address)
            status, message = (429, "Too many refused sign-ins from this address: wait a minute.") \
                if refused > SIGN_IN_FAILURES else (401, "Sign-in refused: that is not a valid admin key.")
            if refused > SIGN_IN_FAILURES:
                await asyncio.sleep(1.0)
            return self._secure(self.render("login.html", request, None, status=status, next=target, error=message),
                                began)
        token, _csrf, account_id, key_id = signed_in
        request.state.console_account, request.state.console_key_id = account_id, key_id     # for the log
        self._warm()
        response = RedirectResponse(target, 303)
        response.set_cookie(COOKIE, token, max_age=int(self.lifetime), path=PREFIX, httponly=True, samesite="strict",
                            secure=self._https(request))
        return self._secure(response, began)

    def _note_refusal(self, address: str) -> int:
        """Count a refused sign-in from this address; how many it has had in the last minute (this process)."""
        now = time.monotonic()
        if len(self._refusals) > 10_000:
            for known, times in list(self._refusals.items()):
                if times[-1] < now - 60:
                    del self._refusals[known]
        refused = self._refusals.setdefault(address, deque())
        refused.append(now)
        while refused[0] < now - 60:
            refused.popleft()
        return len(refused)

    def _client_ip(self, request: Request) -> str:
        if self.settings.trust_forwarded_for:
            forwarded = ",".join(request.headers.getlist("x-forwarded-for"))     # every line, the proxy's last
            if forwarded:
                return forwarded.rsplit(",", 1)[-1].strip()[:64]
        return request.client.host if request.client else "?"

    def _https(self, request: Request) -> bool:
        """Served over HTTPS (directly, or behind a trusted proxy that says so): the cookie is then Secure."""
        forwarded = request.headers.get("x-forwarded-proto", "") if self.settings.trust_forwarded_for else ""
        return request.url.scheme == "https" or forwarded.rsplit(",", 1)[-1].strip() == "https"

    def _warm(self) -> None:
        """Read the closed slices of the longer windows in the background while the operator looks at the
        first page, so that switching to 7 or 30 days finds them kept (at most one warm-up at a time)."""
        if self._warming.locked():
            return

        def warm():
            with self._warming:
                try:
                    for name in ("24h", "7d", "30d"):
                        self.cache.series(self.store, time.time(), data.WINDOWS[name], data.BUCKETS)
                        self.cache.volumes(self.store, time.time(), data.WINDOWS[name])
                except Exception:                    # a store closing under it: the pages read it themselves
                    log.debug("console warm-up stopped", exc_info=True)

        threading.Thread(target=warm, name="console-warm-up", daemon=True).start()

    def _admin_of(self, key):
        """The account of a key still usable and still an admin's (enabled); else None."""
        if key is None or not key.is_usable(time.time()):
            return None
        try:
            account = self.store.get_account(key.account_id)
        except NotFound:
            return None
        return account if account.is_admin and not account.disabled else None

    def _sign_in(self, presented: str) -> tuple[str, str, str, str] | None:
        parts = split_key(presented)
        if parts is None:
            return None
        key = self.store.get_key(parts[0])
        account = self._admin_of(key) if key is not None and secret_matches(key, parts[1]) else None
        if account is None:
            return None
        self.store.record_operator_action(key.key_id, "sign_in", target=account.id)
        token, csrf = self.store.create_console_session(key.key_id, account.id, self.lifetime)
        return token, csrf, account.id, key.key_id

    async def logout(self, request: Request, session: dict, _form: dict) -> Response:
        await asyncio.to_thread(self.store.delete_console_session, request.cookies.get(COOKIE, ""))
        await asyncio.to_thread(self.store.record_operator_action, session["key_id"], "sign_out",
                                target=session["account"])
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    # pages ------------------------------------------------------------------------------------------
    async def overview(self, request: Request, session: dict) -> Response:
        window_name, window = data.window_seconds(request.query_params.get("window"))
        view = await asyncio.to_thread(data.overview, self.store, self.detector, window, time.time(),
                                       self.cache)
        series = view["series"]
        chart = charts.time_series(f"Requests and refusals over the last {window_name}", [row[0] for row in series],
                                   {"requests": [row[1] for row in series], "refusals": [row[2] for row in series]},
                                   window / data.BUCKETS)
        scores = charts.histogram("Accounts' best scores, with each level's threshold", view["scores"],
                                  view["thresholds"])
        return self.render("overview.html", request, session, view=view, chart=chart, scores_chart=scores,
                           window=window_name, nav="overview")

    async def accounts(self, request: Request, session: dict) -> Response:
        params = request.query_params
        window_name, window = data.window_seconds(params.get("window"))
        rows = await asyncio.to_thread(data.account_rows, self.store, self.detector, window, time.time(), self.cache,
                                       query=params.get("q", ""), level=params.get("level", ""),
                                       sort=params.get("sort", "risk"))
        pages = max(1, -(-len(rows) // ACCOUNTS_PER_PAGE))
        number = min(pages, int(params["page"])) if params.get("page", "").isdigit() and int(params["page"]) else 1
        shown = rows[(number - 1) * ACCOUNTS_PER_PAGE:number * ACCOUNTS_PER_PAGE]
        return self.render("accounts.html", request, session, rows=shown, total=len(rows), window=window_name,
                           page=number, pages=pages, nav="accounts")

    async def account(self, request: Request, session: dict) -> Response:
        account_id = request.path_params["account_id"]
        window_name, window = data.window_seconds(request.query_params.get("window"), "7d")
        view = await asyncio.to_thread(data.account_page, self.store, self.detector, account_id, window, time.time(),
                                       self.settings.log_content == "full", self.cache)
        series = view["series"]
        starts = [row[0] for row in series]
        chart = charts.time_series(f"{account_id}: requests and refusals over the last {window_name}", starts,
                                   {"requests": [row[1] for row in series], "refusals": [row[2] for row in series]},
                                   window / data.BUCKETS)
        tokens = charts.time_series(f"{account_id}: tokens over the last {window_name}", starts,
                                    {"tokens": view["tokens"]}, window / data.BUCKETS)
        return self.render("account.html", request, session, view=view, chart=chart, tokens_chart=tokens,
                           window=window_name, nav="accounts")

    async def export(self, request: Request, session: dict) -> Response:
        account_id = request.path_params["account_id"]
        await asyncio.to_thread(self.store.get_account, account_id)
        await asyncio.to_thread(self.store.record_operator_action, session["key_id"], "export", target=account_id)
        records = self.store.iter_exchange_json(account=account_id)

        async def lines():
            # one page of records a thread call, pulled as the client reads: a client that leaves stops it
            # between pages and holds no thread
            while chunk := await asyncio.to_thread(_next_lines, records, 500):
                yield chunk

        return StreamingResponse(lines(), media_type="application/x-ndjson", headers={
            "Content-Disposition": f'attachment; filename="{account_id}.jsonl"'})

    async def campaigns(self, request: Request, session: dict) -> Response:
        found = await asyncio.to_thread(data.campaigns, self.store, self.detector)
        return self.render("campaigns.html", request, session, campaigns=found, nav="campaigns")

    async def campaign(self, request: Request, session: dict) -> Response:
        cluster = request.query_params.get("id", "")
        window_name, window = data.window_seconds(request.query_params.get("window"), "7d")
        view = await asyncio.to_thread(data.campaign_page, self.store, self.detector, cluster, window, time.time(),
                                       self.cache)
        if view is None:
            raise NotFound(f"no campaign {cluster!r} (campaigns come and go with the detector's links)")
        series = view["series"]
        graph = charts.graph(f"The {len(view['accounts'])} linked accounts and what links them", view["nodes"],
                             view["edges"])
        chart = charts.time_series(f"The campaign's requests over the last {window_name}", [row[0] for row in series],
                                   {"requests": [row[1] for row in series], "refusals": [row[2] for row in series]},
                                   window / data.BUCKETS)
        return self.render("campaign.html", request, session, view=view, graph=graph, chart=chart, window=window_name,
                           nav="campaigns")

    async def events(self, request: Request, session: dict) -> Response:
        params = request.query_params
        events = await asyncio.to_thread(
            self.store.list_policy_events_filtered, account=params.get("account") or None,
            level=params.get("level") or None, source=params.get("source") or None, alert=params.get("alert") or None,
            limit=200)
        actions = await asyncio.to_thread(self.store.list_operator_actions, limit=50)
        return self.render("events.html", request, session, events=events, actions=actions, nav="events")

    async def reports(self, request: Request, session: dict) -> Response:
        found = await asyncio.to_thread(data.reports, self.folders)
        return self.render("reports.html", request, session, reports=found, folders=self.folders, nav="reports")

    async def report_file(self, request: Request, session: dict) -> Response:
        path = await asyncio.to_thread(data.report_file, self.folders, request.query_params.get("folder", ""),
                                       request.query_params.get("name", ""))
        if path is None:
            raise NotFound("no such report file in the console's report folders")
        return FileResponse(path)

    # changes ----------------------------------------------------------------------------------------
    async def set_policy(self, request: Request, session: dict, form: dict) -> Response:
        account_id = request.path_params["account_id"]
        await self._set_policies([account_id], session, form)
        return RedirectResponse(f"{PREFIX}/accounts/{quote(account_id, safe='')}", 303)

    async def set_campaign_policy(self, _request: Request, session: dict, form: dict) -> Response:
        cluster = form.get("id", "")
        view = await asyncio.to_thread(data.campaigns, self.store, self.detector)
        found = next((item for item in view if item["id"] == cluster), None)
        if found is None:
            raise NotFound(f"no campaign {cluster!r}")
        await self._set_policies(found["accounts"], session, form, campaign=cluster)
        return RedirectResponse(f"{PREFIX}/campaign?id={quote(cluster, safe='')}", 303)

    async def _set_policies(self, accounts: list[str], session: dict, form: dict, campaign: str | None = None) -> None:
        """The admin API's path: the store records an operator policy event (who, why), the gateway forgets its
        cached look-ups so the next request of each account meets the new level."""
        policy, reason = form.get("policy", ""), _reason(form)
        if policy not in POLICY_OVERRIDES:
            raise InvalidRequest(f"policy must be one of {', '.join(POLICY_OVERRIDES)}, got {policy!r}")

        def apply():
            for account_id in accounts:
                self.store.update_account(account_id, policy=policy, actor=session["key_id"], reason=reason)
                self.store.record_operator_action(session["key_id"], "set_policy", target=account_id, reason=reason,
                                                  details={"policy": policy, "campaign": campaign})

        await asyncio.to_thread(apply)
        self._forget()

    async def set_limits(self, request: Request, session: dict, form: dict) -> Response:
        account_id = request.path_params["account_id"]
        reason = _reason(form)
        changes = {}
        for name in _LIMITS:
            text = form.get(name, "").strip()
            if text:
                if not text.isdigit():
                    raise InvalidRequest(f"{name} must be a non-negative integer (0 = unlimited), got {text!r}")
                changes[name] = int(text)

        def apply():
            self.store.update_account(account_id, **changes)
            self.store.record_operator_action(session["key_id"], "set_limits", target=account_id, reason=reason,
                                              details=changes)

        await asyncio.to_thread(apply)
        self._forget()
        return RedirectResponse(f"{PREFIX}/accounts/{quote(account_id, safe='')}", 303)

    async def revoke_key(self, request: Request, session: dict, form: dict) -> Response:
        reason = _reason(form)
        key = await asyncio.to_thread(self.store.revoke_key, request.path_params["key_id"])
        await asyncio.to_thread(self.store.record_operator_action, session["key_id"], "revoke_key",
                                target=key.account_id, reason=reason, details={"key_id": key.key_id})
        self._forget(key.key_id)
        return RedirectResponse(f"{PREFIX}/accounts/{quote(key.account_id, safe='')}", 303)

    def _forget(self, key_id: str | None = None) -> None:
        auth = getattr(self.gateway, "auth", None)
        if auth is not None:
            auth.forget(key_id)


def _reason(form: dict) -> str:
    reason = form.get("reason", "").strip()
    if not reason:
        raise InvalidRequest("a reason is required for every change (it is recorded with your key id)")
    return reason[:2000]


def _next(target: str | None) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each)."""
    body = await request.body()
    if len(body) > 64 * 1024:
        raise InvalidRequest("the form is too large")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[0] for name, values in fields.items()}


def _next_lines(records, count: int) -> bytes:
    """Up to ``count`` more records of an export, one a line."""
    return b"".join(text.encode() + b"\n" for text in itertools.islice(records, count))


def _has_nul(request: Request) -> bool:
    return "\x00" in request.url.query or "%00" in request.url.query or any(
        "\x00" in value for value in request.path_params.values())


def console_routes(store: Store, settings: Settings, gateway=None, wrap=lambda app: app) -> list:
    """The routes a gateway mounts: ``/console`` (to ``/console/``) and the console under it, each ASGI app
    passed through ``wrap`` (the gateway's traffic log)."""
    console = Console(store, settings, gateway=gateway)
    return [Route(PREFIX, wrap(RedirectResponse(PREFIX + "/", 307)), methods=["GET"]),
            Mount(PREFIX, app=wrap(console.app))]


def standalone_app(store: Store, settings: Settings) -> Starlette:
    """The console alone against a store (``distillshield console``): no live detector in this process, so
    risks come from the store's policy events; changes reach a gateway within its ``auth_cache_seconds``."""
    console = Console(store, settings)

    async def home(_request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", 303)

    return Starlette(routes=[Route("/", home), Mount(PREFIX, app=console.app)])


def dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
