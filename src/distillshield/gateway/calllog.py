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
from distillshield.gateway.validation import prompt_characters
from distillshield.records import Exchange, format_ts, new_exchange_id

log = logging.getLogger("distillshield.gateway")

_RAW_BODY_KEPT = 65536
_REFUSED_BODY_KEPT = 65536     # a refused request's body past this is logged as size, hash and its start
_REFUSED_RAW_SHOWN = 4096
_PATH_KEPT = 256
_MAX_CHOICES = 128          # a stream event naming a higher choice index is not an answer we assemble


def loggable_path(raw_path: bytes | None, path: str) -> str:
    """The path as the log shows it before it is known to be canonical: as sent (percent-encoded,
    printable ASCII only), at most 256 characters."""
    text = raw_path.decode("latin-1") if raw_path is not None else path
    printable = "".join(char if " " < char < "\x7f" else f"%{ord(char):02X}" for char in text)
    return printable[:_PATH_KEPT]


class Call:
    __slots__ = ("id", "started", "_t0", "ip", "user_agent", "method", "endpoint", "body", "body_size",
                 "payload", "account", "key_id", "status", "response_body", "response", "stream_chunks",
                 "error", "latency_ms", "log_content", "policy", "watermark", "spool_segment")

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
        self.policy: dict | None = None       # the policy level in force and the actions it took
        self.watermark: dict | None = None    # the mark the backend put on the answer: {scheme, key_id}
        self.spool_segment: int | None = None  # where the spool holds this call until the store does

    def fail(self, exc: DistillShieldError) -> None:
        self.status = exc.status
        self.error = {"type": exc.error_type, "code": exc.code, "message": exc.message}

    def finish(self, status: int | None = None) -> None:
        if status is not None and self.status is None:
            self.status = status
        self.latency_ms = round((time.perf_counter() - self._t0) * 1000, 3)

    # the spool: what the record is built from, as one frame -----------------------------------------
    _SPOOLED = ("id", "started", "ip", "user_agent", "method", "endpoint", "body_size", "account", "key_id",
                "status", "error", "latency_ms", "log_content", "policy", "watermark")

    def to_spool(self) -> bytes:
        """Everything ``to_exchange`` reads, as bytes, before any of it is decoded (``from_spool`` reverses it)."""
        fields = {name: getattr(self, name) for name in self._SPOOLED}
        fields["body"] = self.body.decode("latin-1")
        fields["parsed"] = self.payload is not None     # the payload is the body parsed; parse it again
        if self.stream_chunks is not None:
            fields["stream"] = b"".join(self.stream_chunks).decode("latin-1")
        elif self.response_body is not None:
            fields["response_body"] = self.response_body.decode("latin-1")
        return orjson.dumps(fields)

    @classmethod
    def from_spool(cls, frame: bytes) -> Call:
        fields = orjson.loads(frame)
        call = cls.__new__(cls)
        for name in cls.__slots__:
            setattr(call, name, None)
        for name in cls._SPOOLED:
            setattr(call, name, fields.get(name))
        call.body = fields["body"].encode("latin-1")
        if fields.get("parsed"):
            try:
                call.payload = orjson.loads(call.body)
            except orjson.JSONDecodeError:
                call.payload = None
        if "stream" in fields:
            call.stream_chunks = [fields["stream"].encode("latin-1")]
        elif fields.get("response_body") is not None:
            call.response_body = fields["response_body"].encode("latin-1")
        return call

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

    def used_tokens(self) -> int:
        """Tokens the request used: the answer's ``usage``, or an estimate when the answer carries none
        (a stream without ``include_usage``, a server that does not count)."""
        response = self.parsed_response()
        usage = response.get("usage") if isinstance(response, dict) else None
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        if isinstance(total, int) and not isinstance(total, bool) and 0 <= total < 2 ** 53:
            return total
        return self.estimated_tokens(response)

    def estimated_tokens(self, response: dict | None) -> int:
        """About 4 characters a token for the prompt and the answer; a streamed answer counts at least
        one token for each event that carried text."""
        prompt = prompt_characters(self.payload) if self.payload else len(self.body)
        answer = _answer_characters(response)
        if answer is None:              # not a completion: count the whole body
            answer = len(self.response_body or b"") or sum(len(chunk) for chunk in self.stream_chunks or ())
        events = sum(chunk.count(b"data:") for chunk in self.stream_chunks or ())
        return prompt // 4 + 1 + max(answer // 4, events - 2)

    def to_exchange(self) -> Exchange:
        try:
            return self._build_exchange()
        except Exception:  # a record must never be lost to a bug in decoding; keep what is certain
            log.exception("could not decode exchange %s; keeping its envelope", self.id)
            return Exchange(id=self.id, ts=format_ts(self.started), account=self.account or "anonymous",
                            endpoint=self.endpoint, request=self._fingerprint(), key_id=self.key_id, ip=self.ip,
                            user_agent=self.user_agent, status=self.status, latency_ms=self.latency_ms,
                            error=self.error, extra={"log_error": "the record could not be decoded"})

    def _fingerprint(self, shown: int = 0) -> dict:
        """The body as its size and SHA-256 (and its first ``shown`` bytes), for what the log keeps no more of."""
        kept = {"body_bytes": len(self.body), "body_sha256": hashlib.sha256(self.body).hexdigest(), "body_kept": False}
        if shown:
            kept["raw"] = self.body[:shown].decode("utf-8", "replace")
        return kept

    def _build_exchange(self) -> Exchange:
        if self.error is not None and len(self.body) > _REFUSED_BODY_KEPT:
            # refused before it was served: a large body would let a client fill the log for free
            request = self._fingerprint(_REFUSED_RAW_SHOWN if self.account is not None else 0)
        else:
            request = self.payload if self.payload is not None else self._request_from_body()
        response = self.parsed_response()
        if self.log_content != "full":
            request = redact(request, self.log_content)
            response = redact(response, self.log_content) if response is not None else None
        extra = {"method": self.method} if self.method != "POST" else {}
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
        if self.account is None:        # no valid key: the log keeps no stranger's text, only its fingerprint
            return self._fingerprint()
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
        usage = event.get("usage")
        if not usage and isinstance(event.get("response"), dict):     # the Responses API's last event
            usage = event["response"].get("usage")
        if isinstance(usage, dict) and usage:
            assembled["usage"] = usage
        delta_choices = event.get("choices")
        for delta_choice in delta_choices if isinstance(delta_choices, list) else ():
            if not isinstance(delta_choice, dict):
                continue
            index = delta_choice.get("index", 0)
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < _MAX_CHOICES:
                _merge_choice(choices.setdefault(index, {}), delta_choice)
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
            if name == "role":
                if isinstance(value, str) and value:
                    message["role"] = value
            elif isinstance(value, str):
                before = message.get(name)
                message[name] = (before if isinstance(before, str) else "") + value
            elif value is not None:
                if not isinstance(message.get(name), list):
                    message[name] = []
                message[name].extend(value if isinstance(value, list) else [value])
    elif isinstance(delta_choice.get("text"), str):
        before = choice.get("text")
        choice["text"] = (before if isinstance(before, str) else "") + delta_choice["text"]
    logprobs = delta_choice.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        choice.setdefault("logprobs", {"content": []})["content"].extend(logprobs["content"])
    if isinstance(delta_choice.get("finish_reason"), str):
        choice["finish_reason"] = delta_choice["finish_reason"]


def _close_choice(index: int, choice: dict) -> dict:
    return {"index": index, **choice, "finish_reason": choice.get("finish_reason")}


def _answer_characters(response: dict | None) -> int | None:
    """Characters of text in a completion's choices (answers and reasoning); None when it has none."""
    choices = response.get("choices") if isinstance(response, dict) else None
    if not isinstance(choices, list) or not choices:
        return None
    total = 0
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        holders = [choice, choice.get("message")] if isinstance(choice.get("message"), dict) else [choice]
        for holder in holders:
            for name in ("content", "text", "reasoning_content", "reasoning"):
                if isinstance(holder.get(name), str):
                    total += len(holder[name])
    return total


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
