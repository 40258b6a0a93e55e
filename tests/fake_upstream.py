"""A real, small OpenAI-compatible server for the tests; the `model` field picks its behaviour.

  fast            answers at once
  slow-<ms>       waits <ms> before answering (and between streamed chunks)
  fail-<status>   answers that HTTP status with an error body
  drop            streams a few chunks, then drops the connection without [DONE]
  echo            answers with the last user message
  inspect         answers with the request body it received, as the answer text
  think           answers "<think>...</think>" reasoning before its answer, and a reasoning_content field;
                  streamed, the tags are split across chunks
  silent-<n>      streams <n> one-word chunks and never reports usage
  malformed       streams an event whose choices hold a number instead of an object
POST /v1/responses answers as the Responses API with 100,010 tokens of usage; GET /v1/redirect redirects
to /secret; GET /v1/cookie sets a cookie and reports the cookies it received. Any other path under /v1
answers {"path": ..., "method": ..., "query": ...}; a path outside /v1 is recorded in ``ESCAPED`` (a
request that should never have reached the model server) and answered 200.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

ESCAPED: list[str] = []
RESPONSES_USAGE = {"input_tokens": 10, "output_tokens": 100_000, "total_tokens": 100_010}
ANSWER_WORDS = ["Hello", " there", ",", " this", " is", " a", " fake", " answer", "."]
THINKING = "secret plan: copy the teacher"
THINK_PIECES = ["<thi", "nk>secret ", "plan: copy", " the teacher</th", "ink>\n\n", "The answer", " is 42."]


def _completion(model: str, text: str, chat: bool, n: int) -> dict:
    usage = {"prompt_tokens": 5, "completion_tokens": len(ANSWER_WORDS), "total_tokens": 5 + len(ANSWER_WORDS)}
    if chat:
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                   for i in range(n)]
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": choices, "usage": usage}
    choices = [{"index": i, "text": text, "finish_reason": "stop", "logprobs": None} for i in range(n)]
    return {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": choices, "usage": usage}


def _chunk(model: str, delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    event = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        event["usage"] = usage
    return b"data: " + orjson.dumps(event) + b"\n\n"


async def completions(request: Request) -> Response:
    payload = orjson.loads(await request.body())
    model = payload.get("model", "fast")
    chat = request.url.path.endswith("chat/completions")
    delay = int(model.split("-", 1)[1]) / 1000 if model.startswith("slow-") else 0.0
    if model.startswith("fail-"):
        status = int(model.split("-", 1)[1])
        return Response(orjson.dumps({"error": {"message": f"fake failure {status}", "type": "server_error"}}),
                        status_code=status, media_type="application/json")
    text = "".join(ANSWER_WORDS)
    if model == "echo":
        text = payload["messages"][-1]["content"] if chat else payload["prompt"]
    elif model == "inspect":
        text = orjson.dumps(payload).decode()
    elif model == "think":
        text = "".join(THINK_PIECES)
    if payload.get("stream"):
        return StreamingResponse(_stream(model, delay, payload), media_type="text/event-stream")
    if delay:
        await asyncio.sleep(delay)
    answer = _completion(model, text, chat, payload.get("n") or 1)
    if model == "think" and chat:
        for choice in answer["choices"]:
            choice["message"]["reasoning_content"] = THINKING
    return Response(orjson.dumps(answer), media_type="application/json")


async def _stream(model: str, delay: float, payload: dict):
    yield _chunk(model, {"role": "assistant", "content": ""})
    if model.startswith("silent-"):
        for _ in range(int(model.split("-", 1)[1])):
            yield _chunk(model, {"content": " word"})
        yield _chunk(model, {}, "stop")
        yield b"data: [DONE]\n\n"
        return
    if model == "malformed":
        yield b'data: {"id": "x", "choices": [1]}\n\n'
        yield b'data: {"choices": [{"index": "zero", "delta": {"content": ["not", "text"]}}]}\n\n'
        yield _chunk(model, {"content": "still here"}, "stop")
        yield b"data: [DONE]\n\n"
        return
    if model == "think":
        yield _chunk(model, {"reasoning_content": THINKING})
        for piece in THINK_PIECES:
            event = _chunk(model, {"content": piece})
            yield event[:7]           # an event split across network chunks, too
            yield event[7:]
        yield _chunk(model, {}, "stop")
        yield b"data: [DONE]\n\n"
        return
    for index, word in enumerate(ANSWER_WORDS):
        if delay:
            await asyncio.sleep(delay)
        if model == "drop" and index == 3:
            raise ConnectionResetError("fake upstream drops the stream")
        yield _chunk(model, {"content": word})
    usage = None
    if (payload.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": 5, "completion_tokens": len(ANSWER_WORDS), "total_tokens": 5 + len(ANSWER_WORDS)}
    yield _chunk(model, {}, "stop", usage)
    yield b"data: [DONE]\n\n"


async def models(_request: Request) -> Response:
    return Response(orjson.dumps({"object": "list", "data": [{"id": "fast", "object": "model", "created": 0,
                                                              "owned_by": "fake"}]}),
                    media_type="application/json")


async def responses(request: Request) -> Response:
    await request.body()
    return Response(orjson.dumps({"id": "resp_1", "object": "response", "reasoning": {"summary": "secret plan"},
                                  "output": [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}],
                                  "usage": RESPONSES_USAGE}), media_type="application/json")


async def redirect(_request: Request) -> Response:
    return Response(status_code=302, headers={"location": "/secret"})


async def cookie(request: Request) -> Response:
    received = dict(request.cookies)
    response = Response(orjson.dumps({"received": received}), media_type="application/json")
    response.set_cookie("session", request.query_params.get("who", "someone"))
    return response


async def outside(request: Request) -> Response:
    ESCAPED.append(request.url.path)
    return Response(orjson.dumps({"escaped": request.url.path}), media_type="application/json")


async def anything(request: Request) -> Response:
    body = await request.body()
    return Response(orjson.dumps({"path": request.url.path, "method": request.method,
                                  "query": request.url.query, "body_bytes": len(body)}),
                    media_type="application/json")


app = Starlette(routes=[
    Route("/v1/chat/completions", completions, methods=["POST"]),
    Route("/v1/completions", completions, methods=["POST"]),
    Route("/v1/models", models, methods=["GET"]),
    Route("/v1/responses", responses, methods=["POST"]),
    Route("/v1/redirect", redirect, methods=["GET"]),
    Route("/v1/cookie", cookie, methods=["GET"]),
    Route("/v1/{path:path}", anything, methods=["GET", "POST", "PUT", "DELETE"]),
    Route("/{path:path}", outside, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
])
