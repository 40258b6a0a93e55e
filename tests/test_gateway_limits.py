"""Per-account limits hold exactly under concurrency, and refusals look like OpenAI's."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import openai
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


async def fire(gateway, count: int, **body) -> list[httpx.Response]:
    payload = {"model": "fast", "messages": MESSAGES, **body}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=count)) as http:
        return await asyncio.gather(*[
            http.post(gateway.api_url + "/chat/completions", json=payload, headers=gateway.headers())
            for _ in range(count)])


def make_account(gateway, **limits) -> str:
    admin = gateway.headers(gateway.admin_key)
    account = {"id": "limited", "rpm": 0, "tpm": 0, "concurrency": 0, "tpd": 0, **limits}
    assert httpx.post(gateway.url + "/admin/accounts", json=account, headers=admin).status_code == 201
    return httpx.post(gateway.url + "/admin/keys", json={"account": "limited"}, headers=admin).json()["key"]


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def limited(request, start_gateway):
    """A gateway whose user key belongs to an account with the given limits, counted in process or in Redis."""
    def with_limits(**limits):
        options = {}
        if request.param == "redis":
            options = {"redis_url": REDIS_URL, "redis_prefix": f"test-{secrets.token_hex(6)}"}
        gateway = start_gateway(**options)
        gateway.user_key = make_account(gateway, **limits)
        return gateway
    return with_limits


def statuses(responses) -> list[int]:
    return sorted(response.status_code for response in responses)


def test_requests_per_minute_admit_exactly_the_limit(limited):
    gateway = limited(rpm=10)
    responses = asyncio.run(fire(gateway, 50))
    assert statuses(responses) == [200] * 10 + [429] * 40
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.json()["error"]["type"] == "requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    admitted = next(r for r in responses if r.status_code == 200)
    assert admitted.headers["x-ratelimit-limit-requests"] == "10"


@pytest.mark.slow
def test_concurrent_requests_admit_exactly_the_limit(limited):
    gateway = limited(concurrency=3)
    responses = asyncio.run(fire(gateway, 50, model="slow-400"))
    assert statuses(responses) == [200] * 3 + [429] * 47
    assert all(r.status_code == 200 for r in asyncio.run(fire(gateway, 3, model="slow-10")))


def test_tokens_per_minute_reserve_the_worst_case(limited):
    gateway = limited(tpm=100)
    # each request may use 1 prompt token + 30 answer tokens = 31, so exactly 3 fit in 100
    responses = asyncio.run(fire(gateway, 50, model="slow-300", max_tokens=30))
    assert statuses(responses) == [200] * 3 + [429] * 47
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["type"] == "tokens"
    assert refused.headers["x-ratelimit-limit-tokens"] == "100"


def test_tokens_are_reconciled_to_real_usage(limited):
    gateway = limited(tpd=50)
    user = openai.OpenAI(base_url=gateway.api_url, api_key=gateway.user_key, max_retries=0)
    # reserves 31, really uses 14 (the fake upstream's usage) → 14 counted; then 28; then 28 + 31 > 50
    user.chat.completions.create(model="fast", messages=MESSAGES, max_tokens=30)
    user.chat.completions.create(model="fast", messages=MESSAGES, max_tokens=30)
    with pytest.raises(openai.RateLimitError, match="tokens per day"):
        user.chat.completions.create(model="fast", messages=MESSAGES, max_tokens=30)
    user.chat.completions.create(model="fast", messages=MESSAGES, max_tokens=20)


def test_a_request_larger_than_the_token_limit_says_so(limited):
    gateway = limited(tpm=100)
    user = openai.OpenAI(base_url=gateway.api_url, api_key=gateway.user_key, max_retries=0)
    with pytest.raises(openai.RateLimitError, match="lower max_tokens"):
        user.chat.completions.create(model="fast", messages=MESSAGES, max_tokens=500)


def test_streams_hold_their_concurrency_slot_until_they_end(limited):
    gateway = limited(concurrency=2)
    responses = asyncio.run(fire(gateway, 10, model="slow-50", stream=True))
    assert statuses(responses) == [200] * 2 + [429] * 8
    assert all(r.status_code == 200 for r in asyncio.run(fire(gateway, 2, model="fast", stream=True)))


def test_refusals_are_logged_with_their_reason(limited):
    gateway = limited(rpm=2)
    asyncio.run(fire(gateway, 5))
    refused = [record for record in gateway.records() if record["status"] == 429]
    assert len(refused) == 3
    assert all(record["account"] == "limited" and "requests per minute" in record["error"]["message"]
               for record in refused)


def test_replicas_sharing_redis_admit_exactly_the_limit_together(start_gateway):
    prefix = f"test-{secrets.token_hex(6)}"
    first = start_gateway(redis_url=REDIS_URL, redis_prefix=prefix)
    second = start_gateway(redis_url=REDIS_URL, redis_prefix=prefix, store_url=first.store.url)
    first.user_key = second.user_key = make_account(first, rpm=10)

    async def both():
        return await asyncio.gather(fire(first, 25), fire(second, 25))
    from_first, from_second = asyncio.run(both())
    assert statuses(from_first + from_second) == [200] * 10 + [429] * 40
    assert any(r.status_code == 200 for r in from_first) or any(r.status_code == 200 for r in from_second)


def test_redis_must_be_reachable():
    """CI must start Redis; this fails loudly rather than skipping the shared-limits tests."""
    import redis
    assert redis.Redis.from_url(REDIS_URL).ping()


def test_the_token_estimate_stops_at_the_backends_output_cap():
    from distillshield.gateway.validation import estimated_tokens

    asks_more = {"messages": MESSAGES, "max_tokens": 4096, "n": 2}
    asks_less = {"messages": MESSAGES, "max_tokens": 16}
    assert estimated_tokens(asks_more, 256) - estimated_tokens(asks_more, 256, output_cap=40) == (4096 - 40) * 2
    assert estimated_tokens(asks_less, 256, output_cap=40) == estimated_tokens(asks_less, 256)
    assert estimated_tokens({"messages": MESSAGES}, 256, output_cap=40) == estimated_tokens({"messages": MESSAGES}, 40)
