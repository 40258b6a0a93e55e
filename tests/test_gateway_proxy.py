"""The OpenAI API through the gateway, and every error a client can meet, as OpenAI error JSON."""

from __future__ import annotations

import httpx
import openai
import pytest

from fake_upstream import ANSWER_WORDS

MESSAGES = [{"role": "user", "content": "hi"}]
ANSWER = "".join(ANSWER_WORDS)


def client(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.api_url, api_key=gateway.user_key, max_retries=0)


def post(gateway, path: str, **kwargs) -> httpx.Response:
    return httpx.post(gateway.api_url + path, headers={**gateway.headers(), **kwargs.pop("headers", {})},
                      timeout=30, **kwargs)


def test_chat_completion(gateway):
    answer = client(gateway).chat.completions.create(model="fast", messages=MESSAGES, n=2, temperature=0.3)
    assert [choice.message.content for choice in answer.choices] == [ANSWER, ANSWER]
    assert answer.usage.total_tokens == 14


def test_text_completion(gateway):
    answer = client(gateway).completions.create(model="echo", prompt="repeat me", max_tokens=5)
    assert answer.choices[0].text == "repeat me"


def test_models(gateway):
    assert [model.id for model in client(gateway).models.list()] == ["fast"]


def test_streaming_delivers_every_chunk(gateway):
    stream = client(gateway).chat.completions.create(model="fast", messages=MESSAGES, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == ANSWER


def test_other_v1_paths_pass_through_with_query(gateway):
    response = post(gateway, "/embeddings?dimensions=8", json={"input": "x", "model": "fast"})
    assert response.status_code == 200
    assert response.json() == {"path": "/v1/embeddings", "method": "POST", "query": "dimensions=8",
                               "body_bytes": len(b'{"input":"x","model":"fast"}')}
    refused = httpx.delete(gateway.api_url + "/files/f1", headers=gateway.headers())
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"


def test_the_operator_chooses_which_other_paths_reach_the_upstream(start_gateway):
    gateway = start_gateway(upstream_passthrough="DELETE /v1/files/*, GET /v1/batches/**")
    assert httpx.delete(gateway.api_url + "/files/f1", headers=gateway.headers()).json()["method"] == "DELETE"
    assert httpx.get(gateway.api_url + "/batches/b/x", headers=gateway.headers()).json()["path"] == "/v1/batches/b/x"
    assert httpx.delete(gateway.api_url + "/files/f1/x", headers=gateway.headers()).status_code == 404
    assert httpx.post(gateway.api_url + "/embeddings", headers=gateway.headers(), json={}).status_code == 404


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object, got an array"),
    (b"", "empty body"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', "model is required"),
    (b'{"model": "fast"}', "messages is required"),
    (b'{"model": "fast", "messages": []}', "messages must be a non-empty array"),
    (b'{"model": "fast", "messages": "hi"}', "messages must be a non-empty array, got a string"),
    (b'{"model": "fast", "messages": [{"role": "wizard", "content": "hi"}]}', "role must be one of"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": 5}]}', "content must be a string"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}',
     "temperature must be a number, got a string"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}',
     "temperature must be between 0 and 2"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', "max_tokens must be"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "n": 99}', "n must be between 1 and 8"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "stop": [1]}', "stop must be"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}',
     "stream must be a boolean"),
    (b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 3}',
     "top_logprobs requires logprobs"),
])
def test_bad_requests_get_400_with_a_clear_message(gateway, body, message):
    response = post(gateway, "/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]


def test_completions_prompt_must_be_text(gateway):
    response = post(gateway, "/completions", json={"model": "fast", "prompt": 42})
    assert response.status_code == 400 and "prompt must be" in response.json()["error"]["message"]


def test_chat_endpoint_takes_post_only(gateway):
    response = httpx.get(gateway.api_url + "/chat/completions", headers=gateway.headers())
    assert response.status_code == 400


def test_body_too_large_gets_413(start_gateway):
    gateway = start_gateway(max_body_bytes=1000)
    big = {"model": "fast", "messages": [{"role": "user", "content": "x" * 5000}]}
    response = post(gateway, "/chat/completions", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"

    def chunked():
        yield b'{"model": "fast", "messages": [{"role": "user", "content": "'
        yield b"y" * 4000
        yield b'"}]}'
    streamed = post(gateway, "/chat/completions", content=chunked(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    record = [r for r in gateway.records() if r["status"] == 413]
    assert len(record) == 2 and record[0]["request"]["body_kept"] is False


def test_upstream_timeout_gets_504(start_gateway):
    gateway = start_gateway(upstream_timeout=0.3)
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway).chat.completions.create(model="slow-2000", messages=MESSAGES)
    assert caught.value.status_code == 504
    assert caught.value.body["code"] == "upstream_timeout"


def test_upstream_timeout_mid_stream_ends_with_an_error_event(start_gateway):
    gateway = start_gateway(upstream_timeout=0.3)
    response = post(gateway, "/chat/completions", json={"model": "slow-1000", "messages": MESSAGES, "stream": True})
    assert response.status_code == 200
    last_event = response.text.strip().split("\n\n")[-1]
    assert '"code":"upstream_timeout"' in last_event


@pytest.mark.parametrize("status", [500, 503, 401])
def test_upstream_failure_gets_502(gateway, status):
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway).chat.completions.create(model=f"fail-{status}", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert f"answered {status}" in caught.value.message


def test_upstream_client_errors_pass_through(gateway):
    with pytest.raises(openai.BadRequestError, match="fake failure 400"):
        client(gateway).chat.completions.create(model="fail-400", messages=MESSAGES)


def test_unreachable_upstream_gets_502(start_gateway):
    from servers import free_port
    gateway = start_gateway(upstream_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway).chat.completions.create(model="fast", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert "cannot reach" in caught.value.message


def test_stream_dropped_mid_way_ends_with_an_error_event(gateway):
    response = post(gateway, "/chat/completions", json={"model": "drop", "messages": MESSAGES, "stream": True})
    assert response.status_code == 200
    events = response.text.strip().split("\n\n")
    assert '"content":"Hello"' in response.text
    assert '"type":"upstream_error"' in events[-1]
    record = next(r for r in gateway.records() if r["request"].get("model") == "drop")
    assert record["status"] == 502
    assert record["response"]["choices"][0]["message"]["content"] == "Hello there,"


def test_no_error_is_a_500_and_each_is_logged(start_gateway):
    gateway = start_gateway(upstream_timeout=0.3, max_body_bytes=2000)
    calls = [
        ("/chat/completions", {"content": b"{bad"}),
        ("/chat/completions", {"json": {"model": "fast"}}),
        ("/chat/completions", {"json": {"model": "fast", "messages": [{"role": "user", "content": "x" * 3000}]}}),
        ("/chat/completions", {"json": {"model": "slow-1000", "messages": MESSAGES}}),
        ("/chat/completions", {"json": {"model": "fail-500", "messages": MESSAGES}}),
        ("/chat/completions", {"json": {"model": "drop", "messages": MESSAGES, "stream": True}}),
        ("/chat/completions", {"json": {"model": "fast", "messages": MESSAGES}, "headers": {"Authorization": "Bearer no"}}),
    ]
    seen = [post(gateway, path, **kwargs).status_code for path, kwargs in calls]
    assert seen == [400, 400, 413, 504, 502, 200, 401]
    records = gateway.records()
    assert [r["status"] for r in records] == [400, 400, 413, 504, 502, 502, 401]
    assert all(r["error"]["message"] for r in records)
