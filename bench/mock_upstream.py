"""A fast OpenAI-compatible mock upstream for overhead benchmarks: raw ASGI on uvicorn (uvloop + httptools).

It answers every chat completion with the same 20-token answer, streamed as
20 chunks when asked, so whatever sits between client and mock is what a
benchmark measures. Run: python bench/mock_upstream.py --port 9100
"""

from __future__ import annotations

import argparse

import orjson
import uvicorn

WORDS = [f" word{i}" for i in range(20)]
USAGE = {"prompt_tokens": 12, "completion_tokens": len(WORDS), "total_tokens": 12 + len(WORDS)}
COMPLETION = orjson.dumps({
    "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": "mock",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(WORDS)}, "finish_reason": "stop"}],
    "usage": USAGE})


def _chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    event = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": "mock",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        event["usage"] = usage
    return b"data: " + orjson.dumps(event) + b"\n\n"


STREAM = ([_chunk({"role": "assistant", "content": ""})] + [_chunk({"content": w}) for w in WORDS]
          + [_chunk({}, "stop", USAGE), b"data: [DONE]\n\n"])
MODELS = orjson.dumps({"object": "list", "data": [{"id": "mock", "object": "model", "created": 0, "owned_by": "bench"}]})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"].endswith("/models"):
        return await _send_json(send, MODELS)
    if b'"stream":true' in body.replace(b" ", b""):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for chunk in STREAM:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await _send_json(send, COMPLETION)


async def _send_json(send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)
