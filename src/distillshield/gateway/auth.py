"""API keys → accounts. Keys are looked up by their public id and compared by hash in constant time.

Look-ups are cached for ``auth_cache_seconds`` so the store is not hit per
request; a key revoked through the admin API is dropped from the cache at
once, one revoked by another process stops working within that time.
"""

from __future__ import annotations

import asyncio
import logging
import time

from distillshield.errors import AuthenticationError, PermissionDenied, ServiceUnavailable
from distillshield.store import Account, ApiKey, Store, secret_matches, split_key

log = logging.getLogger("distillshield.gateway")


class Authenticator:
    def __init__(self, store: Store, *, cache_seconds: float = 1.0):
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None, Account | None]] = {}

    async def authenticate(self, authorization: str | None) -> tuple[Account, ApiKey]:
        presented = _bearer_token(authorization)
        parts = split_key(presented)
        if parts is None:
            raise AuthenticationError("Incorrect API key provided. Keys look like ds-<id>-<secret>.")
        key_id, secret = parts
        key, account = await self._lookup(key_id)
        now = time.time()
        if key is None or account is None or not secret_matches(key, secret):
            raise AuthenticationError("Incorrect API key provided.")
        if key.revoked_at is not None:
            raise _known(AuthenticationError("This API key has been revoked.", code="revoked_api_key"), key)
        if key.expires_at is not None and now >= key.expires_at:
            raise _known(AuthenticationError("This API key has expired.", code="expired_api_key"), key)
        if account.disabled:
            raise _known(PermissionDenied(f"Account {account.id} is disabled.", code="account_disabled"), key)
        return account, key

    async def _lookup(self, key_id: str) -> tuple[ApiKey | None, Account | None]:
        cached = self._cache.get(key_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1], cached[2]
        try:
            key, account = await asyncio.to_thread(self._load, key_id)
        except Exception as exc:   # the store is down or refusing: the client may retry, nothing was served
            log.error("key look-up failed: %s", exc)
            raise ServiceUnavailable("keys cannot be checked right now; retry shortly") from None
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key_id] = (now, key, account)
        return key, account

    def _load(self, key_id: str) -> tuple[ApiKey | None, Account | None]:
        key = self.store.get_key(key_id)
        if key is None:
            return None, None
        return key, self.store.get_account(key.account_id)

    def forget(self, key_id: str | None = None) -> None:
        """Drop cached look-ups (one key, or all after an account change)."""
        if key_id is None:
            self._cache.clear()
        else:
            self._cache.pop(key_id, None)


def _known(refusal: AuthenticationError | PermissionDenied, key: ApiKey):
    """A refusal of a genuine key (its secret matched), carrying whose it is: the traffic log records the
    request under its account, so that detection still sees an account whose key was revoked."""
    refusal.account_id, refusal.key_id = key.account_id, key.key_id
    return refusal


def refused_identity(exc: Exception) -> tuple[str | None, str | None]:
    """The account and key a refused request genuinely came from, when the refusal knows them."""
    return getattr(exc, "account_id", None), getattr(exc, "key_id", None)


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError(
            "You didn't provide an API key. Send it in the Authorization header: 'Authorization: Bearer YOUR_KEY'.",
            code="missing_api_key")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("The Authorization header must be 'Bearer YOUR_KEY'.")
    return token.strip()


def require_admin(account: Account) -> None:
    if not account.is_admin:
        raise PermissionDenied("This route needs an admin key.")
