"""The built-in model, loaded once for this module (about 25 s), served through the real gateway."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import openai
import orjson
import pytest

from distillshield.backends.base import BackendRequest, StreamReply
from distillshield.backends.builtin import BuiltinBackend
from distillshield.errors import InvalidRequest, NotFound
from distillshield.records import Settings
from distillshield.server import UVICORN_OPTIONS, bootstrap_keys, build_gateway
from distillshield.store import Store

from servers import ServerThread

pytestmark = pytest.mark.model
QUESTION = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A gateway over the built-in model; yields (openai client, backend)."""
    folder = tmp_path_factory.mktemp("builtin")
    settings = Settings(store_url=str(folder / "gw.db"), default_rpm=0, default_tpm=0, default_concurrency=0,
                        default_tpd=0, watermark="off")     # this backend is built without the watermark hook
    store = Store(settings.store_url)
    keys = bootstrap_keys(settings, store)
    backend = BuiltinBackend(max_batch_size=8)
    gateway = build_gateway(settings, store, backend)
    with ServerThread(gateway.app, **UVICORN_OPTIONS) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=keys["user"], max_retries=0, timeout=120)
        yield client, backend, gateway


@pytest.mark.slow
def test_chat_answer_is_openai_shaped_with_usage(served):
    client, _, _ = served
    answer = client.chat.completions.create(model="smollm2", messages=QUESTION, max_tokens=8)
    assert answer.object == "chat.completion" and answer.id.startswith("chatcmpl-")
    assert answer.choices[0].message.content.strip()
    assert answer.choices[0].finish_reason in ("length", "stop")
    assert answer.usage.completion_tokens <= 8 and answer.usage.prompt_tokens > 5


@pytest.mark.slow
def test_stream_assembles_to_the_same_text_as_greedy_non_stream(served):
    client, _, gateway = served
    whole = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=12, temperature=0)
    stream = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=12, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == whole.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    gateway.log_writer.wait_written()
    logged = [orjson.loads(t) for t in gateway.store.iter_exchange_json()][-1]
    assert logged["response"]["choices"][0]["message"]["content"] == whole.choices[0].message.content


@pytest.mark.slow
def test_n_and_stop(served):
    client, _, _ = served
    answer = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=10, n=2, temperature=1.0, seed=3)
    assert len(answer.choices) == 2 and {c.index for c in answer.choices} == {0, 1}
    greedy = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=16, temperature=0)
    text = greedy.choices[0].message.content
    cut_at = text.split()[2]
    stopped = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=16, temperature=0, stop=[cut_at])
    assert stopped.choices[0].finish_reason == "stop"
    assert cut_at not in stopped.choices[0].message.content
    assert text.startswith(stopped.choices[0].message.content)


@pytest.mark.slow
def test_seed_reproduces_even_when_batched_with_others(served):
    client, backend, _ = served

    async def together():
        aclient = openai.AsyncOpenAI(base_url=client.base_url, api_key=client.api_key, max_retries=0, timeout=120)
        return await asyncio.gather(*[aclient.chat.completions.create(
            model="m", messages=QUESTION, max_tokens=12, temperature=0.9, seed=seed) for seed in range(4)])
    batched = asyncio.run(together())
    assert backend.largest_batch >= 2
    alone = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=12, temperature=0.9, seed=2)
    assert alone.choices[0].message.content == batched[2].choices[0].message.content


def test_logprobs_and_top_logprobs(served):
    client, _, _ = served
    answer = client.chat.completions.create(model="m", messages=QUESTION, max_tokens=5, logprobs=True, top_logprobs=3)
    entries = answer.choices[0].logprobs.content
    assert 1 <= len(entries) <= 5
    for entry in entries:
        assert entry.logprob <= 0
        tops = [t.logprob for t in entry.top_logprobs]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True) and tops[0] >= entry.logprob - 1e-6


def test_text_completions(served):
    client, _, _ = served
    answer = client.completions.create(model="m", prompt="The capital of France is", max_tokens=4, temperature=0,
                                       logprobs=2)
    assert answer.object == "text_completion" and answer.choices[0].text
    assert len(answer.choices[0].logprobs.token_logprobs) == answer.usage.completion_tokens


def test_backend_refuses_what_it_cannot_serve(served):
    _, backend, _ = served

    async def ask(endpoint, payload):
        return await backend.handle(BackendRequest("POST", endpoint, b"", payload, "a"))
    with pytest.raises(NotFound):
        asyncio.run(ask("/v1/embeddings", {"input": "x"}))
    too_long = {"model": "m", "messages": [{"role": "user", "content": "word " * 3000}], "max_tokens": 10}
    with pytest.raises(InvalidRequest, match="context"):
        asyncio.run(ask("/v1/chat/completions", too_long))


@pytest.mark.slow
def test_event_loop_stays_responsive_while_generating(served):
    _, backend, _ = served

    async def measure():
        gaps = []
        reply = await backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", {
            "model": "m", "messages": QUESTION, "max_tokens": 32, "stream": True}, "a", stream=True))
        assert isinstance(reply, StreamReply)

        async def tick():
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
        ticker = asyncio.create_task(tick())
        async for _ in reply.chunks:
            pass
        ticker.cancel()
        return gaps
    gaps = asyncio.run(measure())
    assert len(gaps) > 10 and max(gaps) < 0.1


@pytest.mark.parametrize("spread", [0.3, 3.0, 30.0])   # flat (every token under the floor) to peaked
@pytest.mark.slow
def test_the_samplers_nucleus_sorting_only_likely_tokens_equals_sorting_them_all(spread):
    import torch

    from distillshield.backends.builtin import _nucleus

    generator = torch.Generator().manual_seed(int(spread * 10))
    for _ in range(20):
        probs = torch.softmax(torch.randn(49152, generator=generator) * spread / 0.7, -1)
        for top_p in (0.95, 0.9, 0.5):
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = sorted_probs.cumsum(0) - sorted_probs < top_p
            tokens, kept = _nucleus(probs, top_p)
            assert torch.equal(tokens, torch.sort(order[keep]).values)
            assert torch.equal(kept, probs[tokens])


@pytest.mark.slow
def test_the_sampler_draws_from_the_nucleus_in_proportion():
    import torch
    from scipy import stats

    from distillshield.backends.builtin import _sample

    logits = torch.tensor([3.0, 2.5, 2.0, 1.0, 0.0, -1.0, -4.0, -9.0] + [-20.0] * 100)
    probs = torch.softmax(logits / 0.8, -1)
    sorted_probs, order = torch.sort(probs, descending=True)
    nucleus = order[sorted_probs.cumsum(0) - sorted_probs < 0.9]
    generator = torch.Generator().manual_seed(0)
    counts = np.bincount([_sample(logits, 0.8, 0.9, generator) for _ in range(20000)], minlength=len(logits))
    assert counts.sum() == counts[nucleus].sum()         # nothing outside the nucleus
    expected = probs[nucleus].double().numpy()
    assert stats.chisquare(counts[nucleus], expected / expected.sum() * 20000).pvalue > 1e-3
