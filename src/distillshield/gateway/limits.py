"""Per-account limits: requests per minute, tokens per minute, concurrent requests, tokens per UTC day.

Windows are exact sliding windows (every admitted request is remembered for
60 s), so "at most N in any minute" holds exactly, however many clients race:
admission happens without an ``await`` between check and update. A request
reserves its worst-case tokens on admission and is reconciled to its real
usage when it ends. Refusals carry OpenAI's ``Retry-After`` and
``x-ratelimit-*`` headers.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from distillshield.errors import RateLimited
from distillshield.store import Account

WINDOW_S = 60.0
DAY_S = 86400.0


def format_reset(seconds: float) -> str:
    """OpenAI's reset duration style: '20ms', '1s', '6m0s', '1h2m3s'."""
    if seconds < 1:
        return f"{max(0, int(seconds * 1000))}ms"
    seconds = math.ceil(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


@dataclass(slots=True)
class _AccountWindow:
    request_times: deque = field(default_factory=deque)      # admission times, last 60 s
    token_entries: deque = field(default_factory=deque)      # [time, tokens] per request, last 60 s
    tokens_in_window: int = 0
    in_flight: int = 0
    day: int = -1
    tokens_today: int = 0

    def expire(self, now: float) -> None:
        horizon = now - WINDOW_S
        while self.request_times and self.request_times[0] <= horizon:
            self.request_times.popleft()
        while self.token_entries and self.token_entries[0][0] <= horizon:
            self.tokens_in_window -= self.token_entries.popleft()[1]
        today = int(now // DAY_S)
        if today != self.day:
            self.day, self.tokens_today = today, 0

    def seconds_until_tokens_free(self, needed: int, limit: int, now: float) -> float:
        excess = self.tokens_in_window + needed - limit
        for entry_time, tokens in self.token_entries:
            excess -= tokens
            if excess <= 0:
                return entry_time + WINDOW_S - now
        return WINDOW_S


class Ticket:
    """An admitted request's hold on its account's limits; ``finish`` gives back what it did not use."""

    __slots__ = ("_window", "_entry", "_reserved", "_finished", "_counts_tokens", "headers")

    def __init__(self, window: _AccountWindow | None, entry: list | None, reserved: int, headers: dict[str, str],
                 counts_tokens: bool = True):
        self._window = window
        self._counts_tokens = counts_tokens
        self._entry = entry
        self._reserved = reserved
        self._finished = False
        self.headers = headers

    @property
    def needs_usage(self) -> bool:
        """Whether the real token count matters (the account has a token limit)."""
        return self._window is not None and self._reserved > 0 and self._counts_tokens

    def finish(self, used_tokens: int | None = None) -> None:
        if self._finished or self._window is None:
            return
        self._finished = True
        self._window.in_flight -= 1
        if used_tokens is None:
            return
        correction = used_tokens - self._reserved
        self._window.tokens_today += correction
        if self._entry is not None and self._entry in self._window.token_entries:
            self._entry[1] += correction
            self._window.tokens_in_window += correction


class MemoryLimiter:
    """Exact limits for one gateway process."""

    def __init__(self, *, prune_above: int = 50_000):
        self._windows: dict[str, _AccountWindow] = {}
        self.prune_above = prune_above

    async def admit(self, account: Account, tokens: int) -> Ticket:
        return self.admit_now(account, tokens, time.time())

    async def aclose(self) -> None:
        self._windows.clear()

    def admit_now(self, account: Account, tokens: int, now: float) -> Ticket:
        window = self._windows.get(account.id)
        if window is None:
            if len(self._windows) >= self.prune_above:
                self._prune(now)
            window = self._windows[account.id] = _AccountWindow()
        window.expire(now)
        self._refuse_if_over(account, window, tokens, now)
        window.request_times.append(now)
        entry = [now, tokens]
        window.token_entries.append(entry)
        window.tokens_in_window += tokens
        window.tokens_today += tokens
        window.in_flight += 1
        return Ticket(window, entry, tokens, _headers(account, window, now), bool(account.tpm or account.tpd))

    def _prune(self, now: float) -> None:
        """Forget windows with nothing in flight and nothing in the last minute (clients seen once, such as
        addresses without a key), keeping today's token count only for accounts with a daily limit."""
        for name, window in list(self._windows.items()):
            window.expire(now)
            idle = not window.in_flight and not window.request_times and not window.token_entries
            if idle and (window.tokens_today == 0 or name.startswith("anonymous@")):
                del self._windows[name]
        self.prune_above = max(self.prune_above, 2 * len(self._windows))

    def _refuse_if_over(self, account: Account, window: _AccountWindow, tokens: int, now: float) -> None:
        reason, wait = None, 0.0
        if account.concurrency and window.in_flight >= account.concurrency:
            reason, wait = "concurrency", 1.0
        elif account.rpm and len(window.request_times) >= account.rpm:
            reason, wait = "rpm", window.request_times[0] + WINDOW_S - now
        elif account.tpm and tokens > account.tpm:
            reason, wait = "tpm_too_large", WINDOW_S
        elif account.tpm and window.tokens_in_window + tokens > account.tpm:
            reason, wait = "tpm", window.seconds_until_tokens_free(tokens, account.tpm, now)
        elif account.tpd and window.tokens_today + tokens > account.tpd:
            reason, wait = "tpd", (window.day + 1) * DAY_S - now
        if reason:
            raise refusal(account, reason, wait, tokens=tokens, in_window=window.tokens_in_window,
                          today=window.tokens_today, headers=_headers(account, window, now))


def _headers(account: Account, window: _AccountWindow, now: float) -> dict[str, str]:
    oldest_request = window.request_times[0] if window.request_times else now
    oldest_tokens = window.token_entries[0][0] if window.token_entries else now
    return rate_headers(account, len(window.request_times), window.tokens_in_window, oldest_request,
                        oldest_tokens, now)


def rate_headers(account: Account, requests: int, tokens_in_window: int, oldest_request: float,
                 oldest_tokens: float, now: float) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers for the account's per-minute windows."""
    headers: dict[str, str] = {}
    if account.rpm:
        headers["x-ratelimit-limit-requests"] = str(account.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(0, account.rpm - requests))
        headers["x-ratelimit-reset-requests"] = format_reset(oldest_request + WINDOW_S - now)
    if account.tpm:
        headers["x-ratelimit-limit-tokens"] = str(account.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, account.tpm - tokens_in_window))
        headers["x-ratelimit-reset-tokens"] = format_reset(oldest_tokens + WINDOW_S - now)
    return headers


_REFUSALS = {
    "concurrency": ("requests", "too many concurrent requests for account {id}: limit {concurrency}"),
    "rpm": ("requests", "rate limit reached for requests per minute on account {id}: limit {rpm}"),
    "tpm_too_large": ("tokens", "request too large for tokens per minute on account {id}: needs up to {tokens}, "
                                "limit {tpm}; lower max_tokens"),
    "tpm": ("tokens", "rate limit reached for tokens per minute on account {id}: limit {tpm}, used {in_window}, "
                      "requested {tokens}"),
    "tpd": ("tokens", "rate limit reached for tokens per day on account {id}: limit {tpd}, used {today}, "
                      "requested {tokens}"),
}


def refusal(account: Account, reason: str, wait: float, *, tokens: int, in_window: int, today: int,
            headers: dict[str, str]) -> RateLimited:
    """The 429 for a refused request: which limit, and when to retry."""
    limit, template = _REFUSALS[reason]
    message = template.format(id=account.id, concurrency=account.concurrency, rpm=account.rpm, tpm=account.tpm,
                              tpd=account.tpd, tokens=tokens, today=today, in_window=in_window)
    headers = {**headers, "retry-after": str(max(1, math.ceil(wait))),
               "retry-after-ms": str(max(0, int(wait * 1000)))}
    return RateLimited(message, retry_after=wait, headers=headers, limit=limit)
