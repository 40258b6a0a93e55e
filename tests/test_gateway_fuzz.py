"""Property-based runs: hostile requests against a live gateway, and the stream parsers on arbitrary input.

The live run draws routes from the gateway's own OpenAPI description, bends their paths (dot segments,
encodings, slashes), and sends arbitrary bodies and keys. Whatever it sends: no 500, no hang, and every
request but the health check becomes exactly one exchange record.
"""

from __future__ import annotations

import json
import re

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillshield.gateway.calllog import assemble_stream
from distillshield.gateway.reasoning import ReasoningStreamFilter

from test_gateway_security import raw_request

EXAMPLES = 150
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
CHAT_FIELDS = st.fixed_dictionaries({}, optional={
    "model": st.sampled_from(["fast", "echo", "think", "malformed", "silent-50", "fail-500"]) | JSON_VALUES,
    "messages": st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "bogus"]),
                                                "content": st.text(max_size=40) | JSON_VALUES}), max_size=3)
    | JSON_VALUES,
    "stream": st.booleans() | JSON_VALUES, "n": st.integers(-2, 12) | JSON_VALUES,
    "max_tokens": st.integers(-5, 10 ** 7) | JSON_VALUES, "max_completion_tokens": st.integers(-5, 10 ** 7),
    "logprobs": st.booleans() | st.integers(-1, 7), "top_logprobs": st.integers(-1, 30),
    "logit_bias": JSON_VALUES, "best_of": JSON_VALUES, "prompt": st.text(max_size=40) | JSON_VALUES,
    "temperature": st.floats(-1, 3, allow_nan=False) | JSON_VALUES, "stop": JSON_VALUES,
})
def _json(value) -> bytes:
    """Any value as JSON text, as a client could write it (integers past 64 bits, Infinity, lone surrogates)."""
    return json.dumps(value).encode()


BODIES = st.one_of(
    CHAT_FIELDS.map(_json),
    JSON_VALUES.map(_json),
    st.integers(1, 600).map(lambda depth: b'{"x":' + b"[" * depth + b"]" * depth + b"}"),
    st.binary(max_size=300),
    st.just(b""),
)
SEGMENT_TRICKS = ["/.", "/..", "//", "/", "%2e", "%2E%2e", "%2f", "%5c", "%00", "%3f", ";x", "..%2f", "%20"]


def _bent(path: str, data) -> str:
    """A route's path with its parameters filled in, perhaps bent the way an attacker would."""
    path = re.sub(r"\{[^}]+\}", lambda _m: data.draw(st.sampled_from(["default", "x", "fast", "a%2fb", ".."])), path)
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(path)))
        path = path[:cut] + data.draw(st.sampled_from(SEGMENT_TRICKS)) + path[cut:]
    if not path.startswith("/"):
        path = "/" + path
    return path


@pytest.mark.slow
def test_hostile_requests_never_cause_a_500_a_hang_or_a_lost_record(start_gateway):
    gateway = start_gateway(anonymous_rpm=0, upstream_passthrough="GET /v1/models/**, POST /v1/embeddings, "
                                                                 "POST /v1/responses, DELETE /v1/files/*")
    gateway.store.create_account("hardened", rpm=0, tpm=0, concurrency=0, tpd=0)
    gateway.store.update_account("hardened", policy="harden")
    hardened_key = gateway.store.create_key("hardened")[1]
    document = httpx.get(gateway.url + "/openapi.json", headers=gateway.headers(gateway.admin_key)).json()
    routes = [(path, method.upper()) for path, methods in document["paths"].items() for method in methods
              if path != "/health"]
    routes += [("/v1/embeddings", "POST"), ("/v1/responses", "POST"), ("/v1/files/{id}", "DELETE"),
               ("/v1/models/{id}", "DELETE"), ("/nowhere", "GET")]
    keys = [None, gateway.user_key, gateway.admin_key, hardened_key, "garbage", "ds-0-0", gateway.user_key + "x"]
    sent = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def one_request(data):
        path, method = data.draw(st.sampled_from(routes))
        target = _bent(path, data)
        key = data.draw(st.sampled_from(keys))
        headers = {"Content-Type": data.draw(st.sampled_from(["application/json", "text/plain", "x/y"]))}
        if key is not None:
            headers["Authorization"] = data.draw(st.sampled_from(["Bearer ", "bearer ", "Basic ", ""])) + key
        if data.draw(st.booleans()):
            headers["X-Forwarded-For"] = data.draw(st.sampled_from(["1.2.3.4", "a, b, c", "\t", "x" * 300]))
        body = data.draw(BODIES) if method in ("POST", "PATCH", "PUT") else b""
        status, response_headers, payload = raw_request(gateway.url, method, target, headers=headers, body=body)
        sent.append((method, target, status))
        assert status < 500 or status in (502, 504), (method, target, status, payload[:300])
        if status >= 400 and not response_headers.get("content-type", "").startswith("text/plain"):
            assert "error" in orjson.loads(payload), payload[:300]
        assert response_headers["x-request-id"].startswith("ex_")

    one_request()
    records = gateway.records()
    assert len(records) == len(sent) + 1                  # and the look-up of the OpenAPI description
    assert len({record["id"] for record in records}) == len(records)
    assert gateway.gateway.log_writer._thread.is_alive()
    assert httpx.get(gateway.url + "/health").status_code == 200


# the stream assembler and the reasoning filter on arbitrary input -------------------------------------------
def _event(payload) -> bytes:
    return b"data: " + _json(payload) + b"\n\n"


WORDS = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8), min_size=1, max_size=12)
EVENTS = st.lists(st.one_of(
    JSON_VALUES.map(lambda value: _event({"choices": value})),
    JSON_VALUES.map(lambda value: _event({"choices": [{"index": 0, "delta": value}]})),
    JSON_VALUES.map(lambda value: _event(value)),
    st.binary(max_size=40),
    st.just(b"data: [DONE]\n\n"),
), max_size=8)


@settings(max_examples=300, deadline=None)
@given(events=EVENTS)
@pytest.mark.slow
def test_the_stream_assembler_reads_anything_without_raising(events):
    assembled = assemble_stream(b"".join(events))
    assert isinstance(assembled["choices"], list) and assembled["streamed"] is True
    orjson.dumps(assembled)


@settings(max_examples=300, deadline=None)
@given(words=WORDS, noise=EVENTS)
@pytest.mark.slow
def test_the_stream_assembler_joins_the_text_around_malformed_events(words, noise):
    good = [_event({"choices": [{"index": 0, "delta": {"content": word}}]}) for word in words]
    bad = [event + b"\n\n" for event in noise if b"choices" not in event]   # each its own line
    assembled = assemble_stream(b"".join(good[:1] + bad + good[1:]))
    assert assembled["choices"][0]["message"]["content"] == "".join(words)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[start:end] for start, end in zip([0, *points], [*points, len(data)])]


def _filtered(chunks: list[bytes]) -> bytes:
    events = ReasoningStreamFilter(" [canary]")
    return b"".join(events.feed(chunk) for chunk in chunks) + events.flush()


@settings(max_examples=300, deadline=None)
@given(words=WORDS, cuts=st.lists(st.integers(0, 10_000), max_size=12), think=st.booleans())
def test_the_reasoning_filter_gives_the_same_answer_however_the_stream_is_cut(words, cuts, think):
    pieces = (["<think>", "secret"] if think else []) + (["</think>"] if think else []) + words
    stream = b"".join(_event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                      for piece in pieces)
    stream += _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + b"data: [DONE]\n\n"
    whole = _filtered([stream])
    assert _filtered(_split(stream, cuts)) == whole
    text = assemble_stream(whole)["choices"][0]["message"]["content"]
    assert "secret" not in text and text.endswith(" [canary]")


@settings(max_examples=300, deadline=None)
@given(events=EVENTS, cuts=st.lists(st.integers(0, 10_000), max_size=6))
@pytest.mark.slow
def test_the_reasoning_filter_passes_malformed_events_without_raising(events, cuts):
    stream = b"".join(events)
    assert _filtered(_split(stream, cuts)) == _filtered([stream])
