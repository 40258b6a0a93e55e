"""A model that raises while decoding fails the requests of that batch with an error and serves the next ones:
never a request left waiting for ever (a tiny teacher stands in for SmolLM2)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from distillshield.backends.base import BackendRequest
from distillshield.backends.builtin import BuiltinBackend
from distillshield.errors import InternalError
from test_antidistill import PROMPT, CharTokenizer, tiny_teacher


class FlakyTeacher:
    """The tiny teacher, raising on the calls it is told to."""

    def __init__(self):
        self.model = tiny_teacher()
        self.fail_next = False

    def __call__(self, **inputs):
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("out of memory")
        return self.model(**inputs)

    def __getattr__(self, name):          # generation_config, get_output_embeddings, ...: the teacher's own
        return getattr(self.__dict__["model"], name)


class FlakyBackend(BuiltinBackend):
    def _load_model(self):
        return CharTokenizer(), FlakyTeacher()


def _request(stream: bool) -> BackendRequest:
    return BackendRequest("POST", "/v1/chat/completions", b"", {"model": "m", "messages": PROMPT, "max_tokens": 8,
                                                                 "temperature": 0.0, "stream": stream}, "acct")


async def _answer(backend, stream: bool) -> str:
    reply = await backend.handle(_request(stream))
    if not stream:
        return orjson.loads(reply.body)["choices"][0]["message"]["content"]
    return b"".join([chunk async for chunk in reply.chunks]).decode()


@pytest.mark.parametrize("stream", [False, True])
def test_a_batch_the_model_fails_on_is_an_error_and_the_next_request_is_served(stream):
    async def scenario():
        backend = FlakyBackend(max_batch_size=4)
        await backend.start()
        try:
            backend.model.fail_next = True
            with pytest.raises(InternalError, match="out of memory"):
                await asyncio.wait_for(_answer(backend, stream), timeout=30)
            served = await asyncio.wait_for(_answer(backend, stream), timeout=30)
            return backend.failed_batches, served
        finally:
            await backend.aclose()

    failed, served = asyncio.run(scenario())
    assert failed == 1 and served
