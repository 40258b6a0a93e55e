"""The admin API: accounts, keys, policy. Every route here needs an admin key (checked by the logging layer)."""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.requests import Request
from starlette.responses import Response

from distillshield.errors import InvalidRequest
from distillshield.store import ACCOUNT_ID
from distillshield.gateway.validation import parse_json_object

_LIMIT_FIELDS = ("rpm", "tpm", "concurrency", "tpd")


def _json(data, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _gateway(request: Request):
    return request.app.state.gateway


def _account_param(request: Request) -> str | None:
    """The ``?account=`` filter, which must look like an account id (a NUL would fail PostgreSQL)."""
    account = request.query_params.get("account")
    if account is not None and not ACCOUNT_ID.fullmatch(account):
        raise InvalidRequest(f"account must be an account id, got {account[:40]!r}", param="account")
    return account


async def list_accounts(request: Request, call, _account, _body: bytes) -> Response:
    accounts = await asyncio.to_thread(_gateway(request).store.list_accounts)
    return _json({"object": "list", "data": [account.as_dict() for account in accounts]})


async def create_account(request: Request, call, _account, body: bytes) -> Response:
    gateway = _gateway(request)
    fields = parse_json_object(body)
    account_id = fields.get("id")
    if not isinstance(account_id, str):
        raise InvalidRequest("id is required and must be a string", param="id")
    settings = gateway.settings
    limits = {name: fields.get(name, getattr(settings, f"default_{name}")) for name in _LIMIT_FIELDS}
    is_admin = fields.get("is_admin", False)
    if not isinstance(is_admin, bool):
        raise InvalidRequest("is_admin must be a boolean", param="is_admin")
    account = await asyncio.to_thread(gateway.store.create_account, account_id, name=fields.get("name"),
                                      is_admin=is_admin, **limits)
    return _json(account.as_dict(), 201)


async def get_account(request: Request, call, _account, _body: bytes) -> Response:
    account = await asyncio.to_thread(_gateway(request).store.get_account, request.path_params["account_id"])
    return _json(account.as_dict())


async def update_account(request: Request, call, _account, body: bytes) -> Response:
    """Change limits, ``disabled`` or ``policy`` (with an optional ``reason``, kept on the policy event with the
    admin key's id); the running gateway applies the change at once."""
    gateway = _gateway(request)
    changes = parse_json_object(body)
    reason = changes.pop("reason", None)
    if reason is not None and not isinstance(reason, str):
        raise InvalidRequest("reason must be a string", param="reason")
    account = await asyncio.to_thread(gateway.store.update_account, request.path_params["account_id"],
                                      actor=call.key_id, reason=reason, **changes)
    gateway.auth.forget()
    return _json(account.as_dict())


async def list_keys(request: Request, call, _account, _body: bytes) -> Response:
    account_id = _account_param(request)
    keys = await asyncio.to_thread(_gateway(request).store.list_keys, account_id)
    return _json({"object": "list", "data": [key.as_dict() for key in keys]})


async def create_key(request: Request, call, _account, body: bytes) -> Response:
    fields = parse_json_object(body)
    account_id = fields.get("account")
    if not isinstance(account_id, str):
        raise InvalidRequest("account is required and must be a string", param="account")
    expires_in = fields.get("expires_in_seconds")
    if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))
                                   or expires_in <= 0):
        raise InvalidRequest(f"expires_in_seconds must be a positive number, got {expires_in!r}",
                             param="expires_in_seconds")
    label = fields.get("label", "")
    if not isinstance(label, str) or len(label) > 256 or "\x00" in label:
        raise InvalidRequest("label must be a string of at most 256 characters", param="label")
    expires_at = time.time() + expires_in if expires_in else None
    key, plaintext = await asyncio.to_thread(_gateway(request).store.create_key, account_id, label=label,
                                             expires_at=expires_at)
    return _json({**key.as_dict(), "key": plaintext}, 201)


async def revoke_key(request: Request, call, _account, _body: bytes) -> Response:
    gateway = _gateway(request)
    key = await asyncio.to_thread(gateway.store.revoke_key, request.path_params["key_id"])
    gateway.auth.forget(key.key_id)
    return _json(key.as_dict())


def _positive_int(text: str | None, name: str, default: int, most: int) -> int:
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 9 and 0 < int(text) <= most):
        raise InvalidRequest(f"{name} must be an integer from 1 to {most}, got {text[:40]!r}", param=name)
    return int(text)


async def list_policy_events(request: Request, call, _account, _body: bytes) -> Response:
    """Policy level changes, newest first: ?account=ID&limit=N."""
    limit = _positive_int(request.query_params.get("limit"), "limit", 1000, 100_000)
    events = await asyncio.to_thread(_gateway(request).store.list_policy_events,
                                     account=_account_param(request), limit=limit)
    return _json({"object": "list", "data": events})


async def list_risk(request: Request, call, _account, _body: bytes) -> Response:
    """The live detector's risk table: ?account=ID, or every account at a level (?all=1: every account scored)."""
    gateway = _gateway(request)
    risks = list(gateway.policy.risk_table.values())
    wanted = _account_param(request)
    if wanted is not None:
        risks = [risk for risk in risks if risk.account == wanted]
    elif request.query_params.get("all") not in ("1", "true"):
        risks = [risk for risk in risks if risk.level != "none"]
    risks.sort(key=lambda risk: -risk.score)
    detector, shared = gateway.detector, gateway.shared_risk
    running = (detector is not None and detector.running) or (shared is not None and shared.connected)
    return _json({"object": "list", "detection": running,
                  "data": [risk.as_dict() for risk in risks]})


def admin_routes():
    return [
        ("/admin/accounts", list_accounts, ["GET"]),
        ("/admin/accounts", create_account, ["POST"]),
        ("/admin/accounts/{account_id}", get_account, ["GET"]),
        ("/admin/accounts/{account_id}", update_account, ["PATCH"]),
        ("/admin/keys", list_keys, ["GET"]),
        ("/admin/keys", create_key, ["POST"]),
        ("/admin/keys/{key_id}/revoke", revoke_key, ["POST"]),
        ("/admin/keys/{key_id}", revoke_key, ["DELETE"]),
        ("/admin/policy-events", list_policy_events, ["GET"]),
        ("/admin/risk", list_risk, ["GET"]),
    ]
