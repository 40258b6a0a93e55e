"""How the built-in backend batches: requests sent together are decoded together, and prompts of very different
lengths are read in separate groups whose caches are joined, with the same answers as each prompt alone (a tiny
teacher stands in for SmolLM2, so these run in seconds)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from distillshield.backends.base import BackendRequest
from distillshield.backends.builtin import _common_prefix, prefill_groups
from test_antidistill import TinyBackend

SHORT = ["name two colours", "say hi", "what is two and two?"]
LONG = "tell me the story of the town again, every part of it, " * 4


def test_prefill_groups_keep_similar_lengths_together_and_a_long_prompt_apart():
    lengths = [50, 56, 360, 52, 60, 48]
    groups = prefill_groups(lengths)
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    assert [2] in groups and len(groups) == 2                       # the long prompt alone, the rest together
    for group in groups:
        longest = max(lengths[i] for i in group)
        assert len(group) * longest <= 1.25 * sum(lengths[i] for i in group)
    assert prefill_groups([40] * 8) == [list(range(8))]              # equal lengths: one group
    assert prefill_groups([]) == []
    assert _common_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2 and _common_prefix([[1], [2]]) == 0


async def _answer(backend, text: str, seed: int, temperature: float) -> str:
    reply = await backend.handle(BackendRequest(
        "POST", "/v1/chat/completions", b"", {"model": "m", "messages": [{"role": "user", "content": text}],
                                              "max_tokens": 10, "temperature": temperature, "seed": seed}, "acct"))
    return orjson.loads(reply.body)["choices"][0]["message"]["content"]


@pytest.mark.parametrize("temperature", [0.0, 0.9])
def test_a_long_prompt_in_a_batch_is_read_apart_and_every_answer_is_the_one_it_gets_alone(temperature):
    prompts = [SHORT[0], LONG, SHORT[1], SHORT[2]]

    async def scenario():
        backend = TinyBackend(max_batch_size=8, batch_wait=0.5)
        await backend.start()
        try:
            together = await asyncio.gather(*(_answer(backend, p, i, temperature) for i, p in enumerate(prompts)))
            batches, prefills = backend.batches_run, backend.prefills_run
            alone = [await _answer(backend, p, i, temperature) for i, p in enumerate(prompts)]
            return together, alone, batches, prefills
        finally:
            await backend.aclose()

    together, alone, batches, prefills = asyncio.run(scenario())
    assert batches == 1 and prefills == 2              # one batch (sent together), its prompts read in two groups
    assert together == alone and any(together)


def test_without_a_wait_a_lone_first_request_is_not_held_back():
    async def scenario():
        backend = TinyBackend(max_batch_size=8, batch_wait=0.0)
        await backend.start()
        try:
            return await asyncio.wait_for(_answer(backend, SHORT[0], 0, 0.0), timeout=30), backend.batches_run
        finally:
            await backend.aclose()

    answer, batches = asyncio.run(scenario())
    assert batches == 1 and isinstance(answer, str)


def test_the_output_cap_ends_a_longer_ask_at_the_cap_with_the_same_start_and_leaves_a_shorter_one_alone():
    async def ask(cap: int, max_tokens: int) -> dict:
        backend = TinyBackend(max_output_tokens=cap, batch_wait=0.0)
        await backend.start()
        try:
            reply = await backend.handle(BackendRequest(
                "POST", "/v1/chat/completions", b"",
                {"model": "m", "messages": [{"role": "user", "content": SHORT[0]}], "max_tokens": max_tokens,
                 "temperature": 0.9, "seed": 2}, "acct"))
            return orjson.loads(reply.body)
        finally:
            await backend.aclose()

    uncapped, capped, short = (asyncio.run(ask(cap, max_tokens)) for cap, max_tokens in ((0, 30), (4, 30), (4, 3)))
    assert uncapped["usage"]["completion_tokens"] > 4
    assert capped["usage"]["completion_tokens"] == 4 and capped["choices"][0]["finish_reason"] == "length"
    assert uncapped["choices"][0]["message"]["content"].startswith(capped["choices"][0]["message"]["content"])
    assert short["usage"]["completion_tokens"] <= 3


def test_the_output_cap_setting_reaches_the_backend_and_a_negative_cap_is_refused():
    from distillshield.errors import ConfigError
    from distillshield.records import Settings
    from distillshield.server import make_backend

    assert make_backend(Settings(builtin_max_output_tokens=7)).max_output_tokens == 7
    with pytest.raises(ConfigError, match="max_output_tokens must be 0"):
        TinyBackend(max_output_tokens=-1)
