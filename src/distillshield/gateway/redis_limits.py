"""The same limits as ``limits.MemoryLimiter``, shared by many gateway replicas through Redis.

Admission is one Lua script, so check and update are atomic across replicas
and the counts stay exact. In-flight requests are kept in a sorted set with
their start time, so a replica that dies cannot hold an account's
concurrency slots for longer than ``stale_after`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

import redis.asyncio as redis

from distillshield.errors import ServiceUnavailable
from distillshield.gateway.limits import DAY_S, WINDOW_S, rate_headers, refusal
from distillshield.store import Account

log = logging.getLogger("distillshield.limits")

# KEYS: requests zset, token zset, token amounts hash, in-flight zset, day counter
# ARGV: now, rpm, tpm, concurrency, tpd, tokens, request id, stale_after, window, day_ttl
_ADMIT = """
local now, rpm, tpm, conc, tpd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, rid, stale, window = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local horizon = now - window
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', horizon)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', horizon)
for _, old in ipairs(expired) do redis.call('HDEL', KEYS[3], old) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - stale)
local in_window = 0
for _, amount in ipairs(redis.call('HVALS', KEYS[3])) do in_window = in_window + tonumber(amount) end
local requests = redis.call('ZCARD', KEYS[1])
local today = tonumber(redis.call('GET', KEYS[5]) or '0')
local oldest_req = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or now
local oldest_tok = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2] or now
if conc > 0 and redis.call('ZCARD', KEYS[4]) >= conc then
  return {0, 'concurrency', '1', requests, in_window, today, tostring(oldest_req), tostring(oldest_tok)} end
if rpm > 0 and requests >= rpm then
  return {0, 'rpm', tostring(oldest_req + window - now), requests, in_window, today, tostring(oldest_req), tostring(oldest_tok)} end
if tpm > 0 and tokens > tpm then
  return {0, 'tpm_too_large', tostring(window), requests, in_window, today, tostring(oldest_req), tostring(oldest_tok)} end
if tpm > 0 and in_window + tokens > tpm then
  local excess = in_window + tokens - tpm
  local wait = window
  local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    excess = excess - tonumber(redis.call('HGET', KEYS[3], entries[i]) or '0')
    if excess <= 0 then wait = tonumber(entries[i + 1]) + window - now break end
  end
  return {0, 'tpm', tostring(wait), requests, in_window, today, tostring(oldest_req), tostring(oldest_tok)} end
if tpd > 0 and today + tokens > tpd then
  return {0, 'tpd', '0', requests, in_window, today, tostring(oldest_req), tostring(oldest_tok)} end
redis.call('ZADD', KEYS[1], now, rid)
redis.call('ZADD', KEYS[2], now, rid)
redis.call('HSET', KEYS[3], rid, tokens)
redis.call('ZADD', KEYS[4], now, rid)
redis.call('INCRBY', KEYS[5], tokens)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[10]))
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], math.ceil(math.max(window, stale)) + 1) end
if requests == 0 then oldest_req = now end
if in_window == 0 then oldest_tok = now end
return {1, 'ok', '0', requests + 1, in_window + tokens, today + tokens, tostring(oldest_req), tostring(oldest_tok)}
"""

# KEYS: token amounts hash, in-flight zset, day counter; ARGV: request id, reserved, used (-1: unknown)
_FINISH = """
redis.call('ZREM', KEYS[2], ARGV[1])
local used = tonumber(ARGV[3])
if used < 0 then return 0 end
local correction = used - tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[1], correction) end
redis.call('INCRBY', KEYS[3], correction)
return correction
"""


class RedisTicket:
    __slots__ = ("_limiter", "_account_id", "_request_id", "_reserved", "_day", "_finished", "_counts_tokens",
                 "headers")

    def __init__(self, limiter: RedisLimiter, account: Account, request_id: str, reserved: int, day: int,
                 headers: dict[str, str]):
        self._limiter = limiter
        self._account_id = account.id
        self._request_id = request_id
        self._reserved = reserved
        self._day = day
        self._finished = False
        self._counts_tokens = bool(account.tpm or account.tpd)
        self.headers = headers

    @property
    def needs_usage(self) -> bool:
        return self._reserved > 0 and self._counts_tokens

    def finish(self, used_tokens: int | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        used = -1 if used_tokens is None else used_tokens
        self._limiter.release_soon(self._account_id, self._request_id, self._reserved, used, self._day)


class RedisLimiter:
    def __init__(self, url: str, *, prefix: str = "ds:rl", stale_after: float = 900.0):
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.stale_after = stale_after
        self._admit = self.client.register_script(_ADMIT)
        self._finish = self.client.register_script(_FINISH)
        self._pending: set[asyncio.Task] = set()

    def _keys(self, account_id: str, day: int) -> list[str]:
        base = f"{self.prefix}:{{{account_id}}}"
        return [f"{base}:req", f"{base}:tok", f"{base}:amt", f"{base}:live", f"{base}:day:{day}"]

    async def admit(self, account: Account, tokens: int) -> RedisTicket:
        now = time.time()
        day = int(now // DAY_S)
        request_id = secrets.token_hex(8)
        try:
            result = await self._admit(keys=self._keys(account.id, day), args=[
                now, account.rpm, account.tpm, account.concurrency, account.tpd, tokens, request_id,
                self.stale_after, WINDOW_S, int(2 * DAY_S)])
        except redis.RedisError:    # no limit can be checked: refuse rather than serve unlimited
            log.exception("rate limits: Redis cannot be reached")
            raise ServiceUnavailable("rate limits cannot be checked right now; retry shortly") from None
        admitted, reason, wait = int(result[0]), _text(result[1]), float(_text(result[2]))
        requests, in_window = int(result[3]), int(result[4])
        oldest_request, oldest_tokens = float(_text(result[6])), float(_text(result[7]))
        headers = rate_headers(account, requests, in_window, oldest_request, oldest_tokens, now)
        if not admitted:
            if reason == "tpd":
                wait = (day + 1) * DAY_S - now
            else:  # racing requests read the clock before Redis orders them; no minute window waits longer
                wait = min(wait, WINDOW_S)
            raise refusal(account, reason, wait, tokens=tokens, in_window=in_window, today=int(result[5]),
                          headers=headers)
        return RedisTicket(self, account, request_id, tokens, day, headers)

    def release_soon(self, account_id: str, request_id: str, reserved: int, used: int, day: int) -> None:
        keys = self._keys(account_id, day)
        task = asyncio.get_running_loop().create_task(
            self._finish(keys=[keys[2], keys[3], keys[4]], args=[request_id, reserved, used]))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.client.aclose()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
