"""One request's journey through the gateway, and its conversion into an exchange record.

The hot path only appends raw bytes to a ``Call``; decoding JSON, assembling
streamed answers and redacting text happen in ``to_exchange``, which the log
writer runs on its own thread.
"""

from __future__ import annotations

import hashlib
import logging
import time

import orjson

from distillshield.errors import DistillShieldError
from distillshield.records import Exchange, format_ts, new_exchange_id

log = logging.getLogger("distillshield.gateway")

_RAW_BODY_KEPT = 65536


class Call:
    __slots__ = ("id", "started", "_t0", "ip", "user_agent", "method", "endpoint", "body", "body_size",
                 "payload", "account", "key_id", "status", "response_body", "response", "stream_chunks",
                 "error", "latency_ms", "log_content", "action", "policy", "watermark")

    def __init__(self, *, method: str, endpoint: str, ip: str | None, user_agent: str | None, log_content: str):
        self.started = time.time()
        self._t0 = time.perf_counter()
        self.id = new_exchange_id(self.started)
        self.method = method
        self.endpoint = endpoint
        self.ip = ip
        self.user_agent = user_agent
        self.log_content = log_content
        self.body: bytes = b""
        self.body_size: int | None = None
        self.payload: dict | None = None
        self.account: str | None = None
        self.key_id: str | None = None
        self.status: int | None = None
        self.response_body: bytes | None = None
        self.response: dict | None = None
        self.stream_chunks: list[bytes] | None = None
        self.error: dict | None = None
        self.latency_ms: float | None = None
        self.action: str | None = None
        self.policy: dict | None = None       # the policy level in force and the actions it took
        self.watermark: dict | None = None    # the mark the backend put on the answer: {scheme, key_id}

    def fail(self, exc: DistillShieldError) -> None:
        self.status = exc.status
        self.error = {"type": exc.error_type, "code": exc.code, "message": exc.message}

    def finish(self, status: int | None = None) -> None:
        if status is not None and self.status is None:
            self.status = status
        self.latency_ms = round((time.perf_counter() - self._t0) * 1000, 3)

    def parsed_response(self) -> dict | None:
        """The answer as one JSON object: the body, or the stream's chunks assembled."""
        if self.response is None:
            if self.stream_chunks is not None:
                self.response = assemble_stream(b"".join(self.stream_chunks))
            elif self.response_body:
                try:
                    decoded = orjson.loads(self.response_body)
                    self.response = decoded if isinstance(decoded, dict) else {"body": decoded}
                except orjson.JSONDecodeError:
                    self.response = {"raw": self.response_body[:_RAW_BODY_KEPT].decode("utf-8", "replace")}
        return self.response

    def used_tokens(self) -> int | None:
        response = self.parsed_response()
        usage = response.get("usage") if isinstance(response, dict) else None
        if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
            return usage["total_tokens"]
        return None

    def to_exchange(self) -> Exchange:
        try:
            return self._build_exchange()
        except Exception:  # a record must never be lost to a bug in decoding; keep what is certain
            log.exception("could not decode exchange %s; keeping its envelope", self.id)
            return Exchange(id=self.id, ts=format_ts(self.started), account=self.account or "anonymous",
                            endpoint=self.endpoint, request={}, key_id=self.key_id, status=self.status,
                            latency_ms=self.latency_ms, error=self.error,
                            extra={"log_error": "the record could not be decoded"})

    def _build_exchange(self) -> Exchange:
        request = self.payload if self.payload is not None else self._request_from_body()
        response = self.parsed_response()
        if self.log_content != "full":
            request = redact(request, self.log_content)
            response = redact(response, self.log_content) if response is not None else None
        extra = {"method": self.method} if self.method != "POST" else {}
        if self.action:
            extra["action"] = self.action
        if self.policy:
            extra["policy"] = self.policy
        if self.watermark:
            extra["watermark"] = self.watermark
        return Exchange(id=self.id, ts=format_ts(self.started), account=self.account or "anonymous",
                        endpoint=self.endpoint, request=request, key_id=self.key_id, ip=self.ip,
                        user_agent=self.user_agent, response=response, status=self.status,
                        latency_ms=self.latency_ms, error=self.error, extra=extra)

    def _request_from_body(self) -> dict:
        if self.body_size is not None and not self.body:
            return {"body_bytes": self.body_size, "body_kept": False}
        if not self.body:
            return {}
        try:
            decoded = orjson.loads(self.body)
            return decoded if isinstance(decoded, dict) else {"body": decoded}
        except orjson.JSONDecodeError:
            return {"raw": self.body[:_RAW_BODY_KEPT].decode("utf-8", "replace"), "body_bytes": len(self.body)}


def assemble_stream(raw: bytes) -> dict:
    """Rebuild a complete OpenAI response object from the server-sent events of a streamed one."""
    assembled: dict = {}
    choices: dict[int, dict] = {}
    for line in raw.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]" or not data:
            continue
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        if "error" in event:
            assembled["error"] = event["error"]
            continue
        for name in ("id", "model", "created", "system_fingerprint"):
            if name in event and name not in assembled:
                assembled[name] = event[name]
        if event.get("usage"):
            assembled["usage"] = event["usage"]
        for delta_choice in event.get("choices") or ():
            _merge_choice(choices.setdefault(delta_choice.get("index", 0), {}), delta_choice)
    object_name = "chat.completion" if any("message" in choice for choice in choices.values()) else "text_completion"
    assembled["object"] = object_name
    assembled["choices"] = [_close_choice(index, choices[index]) for index in sorted(choices)]
    assembled["streamed"] = True
    return assembled


def _merge_choice(choice: dict, delta_choice: dict) -> None:
    delta = delta_choice.get("delta")
    if isinstance(delta, dict):
        message = choice.setdefault("message", {"role": "assistant", "content": ""})
        for name, value in delta.items():
            if name == "role" and value:
                message["role"] = value
            elif isinstance(value, str):
                message[name] = (message.get(name) or "") + value
            elif value is not None:
                message.setdefault(name, [])
                if isinstance(message[name], list):
                    message[name].extend(value if isinstance(value, list) else [value])
    elif isinstance(delta_choice.get("text"), str):
        choice["text"] = choice.get("text", "") + delta_choice["text"]
    logprobs = delta_choice.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        choice.setdefault("logprobs", {"content": []})["content"].extend(logprobs["content"])
    if delta_choice.get("finish_reason"):
        choice["finish_reason"] = delta_choice["finish_reason"]


def _close_choice(index: int, choice: dict) -> dict:
    return {"index": index, **choice, "finish_reason": choice.get("finish_reason")}


def redact(value, mode: str, *, is_text: bool = False):
    """Replace every text a person wrote or read by a fingerprint ('redacted') or nothing ('none')."""
    if isinstance(value, str):
        return _redact_text(value, mode) if is_text else value
    if isinstance(value, dict):
        return {name: redact(item, mode, is_text=name in _TEXT_FIELDS) for name, item in value.items()}
    if isinstance(value, list):
        return [redact(item, mode, is_text=is_text) for item in value]
    return value


_TEXT_FIELDS = {"content", "text", "prompt", "input", "reasoning_content", "raw", "token"}


def _redact_text(text: str, mode: str) -> str:
    if mode == "none":
        return f"[not stored: {len(text)} chars]"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"[redacted: {len(text)} chars, sha256 {digest}]"
