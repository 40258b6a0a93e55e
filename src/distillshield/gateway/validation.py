"""Checks the bodies of the endpoints the gateway understands, once, with 'X must be Y, got Z' messages."""

from __future__ import annotations

from numbers import Real
from typing import Any

import orjson

from distillshield.errors import InvalidRequest
from distillshield.records.exchange import MAX_DEPTH

_ROLES = {"system", "user", "assistant", "tool", "developer", "function"}


def parse_json_object(body: bytes) -> dict:
    if not body:
        raise InvalidRequest("the request body must be a JSON object, got an empty body")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidRequest(f"the request body must be a JSON object, got {_kind(payload)}")
    if _deeper_than(payload, MAX_DEPTH):
        raise InvalidRequest(f"the request body is nested deeper than {MAX_DEPTH} levels")
    return payload


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether arrays and objects nest more than ``levels`` deep (nothing an API request needs)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > levels:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _require(payload: dict, name: str) -> Any:
    if name not in payload or payload[name] is None:
        raise InvalidRequest(f"{name} is required", param=name, code="missing_required_parameter")
    return payload[name]


def _optional_number(payload: dict, name: str, low: float, high: float) -> None:
    value = payload.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidRequest(f"{name} must be a number, got {_kind(value)}", param=name)
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low:g} and {high:g}, got {value}", param=name)


def _optional_int(payload: dict, name: str, low: int, high: int | None = None) -> None:
    value = payload.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{name} must be an integer, got {_kind(value)}", param=name)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise InvalidRequest(f"{name} must be {bound}, got {value}", param=name)


def _optional_bool(payload: dict, name: str) -> None:
    value = payload.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be a boolean, got {_kind(value)}", param=name)


def _check_stop(payload: dict) -> None:
    stop = payload.get("stop")
    if stop is None or isinstance(stop, str):
        return
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise InvalidRequest(f"stop must be a string or an array of strings, got {_kind(stop)}", param="stop")
    if len(stop) > 4:
        raise InvalidRequest(f"stop must hold at most 4 sequences, got {len(stop)}", param="stop")


def _check_sampling(payload: dict, max_n: int) -> None:
    model = _require(payload, "model")
    if not isinstance(model, str):
        raise InvalidRequest(f"model must be a string, got {_kind(model)}", param="model")
    _optional_number(payload, "temperature", 0, 2)
    _optional_number(payload, "top_p", 0, 1)
    _optional_number(payload, "presence_penalty", -2, 2)
    _optional_number(payload, "frequency_penalty", -2, 2)
    _optional_int(payload, "n", 1, max_n)
    _optional_int(payload, "max_tokens", 1)
    _optional_int(payload, "max_completion_tokens", 1)
    _optional_int(payload, "seed", -(2 ** 63), 2 ** 64 - 1)
    _optional_bool(payload, "stream")
    _check_stop(payload)
    options = payload.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidRequest(f"stream_options must be an object, got {_kind(options)}", param="stream_options")


def _check_content(content: Any, where: str) -> None:
    if content is None or isinstance(content, str):
        return
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return
    raise InvalidRequest(f"{where}.content must be a string or an array of content parts, got {_kind(content)}",
                         param=where)


def validate_chat(payload: dict, *, max_n: int) -> dict:
    _check_sampling(payload, max_n)
    messages = _require(payload, "messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest(f"messages must be a non-empty array, got {_kind(messages)}"
                             + (" (empty)" if messages == [] else ""), param="messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{where} must be an object, got {_kind(message)}", param=where)
        role = message.get("role")
        if role not in _ROLES:
            raise InvalidRequest(f"{where}.role must be one of {', '.join(sorted(_ROLES))}, got {role!r}",
                                 param=f"{where}.role")
        _check_content(message.get("content"), where)
    _optional_bool(payload, "logprobs")
    _optional_int(payload, "top_logprobs", 0, 20)
    if payload.get("top_logprobs") and not payload.get("logprobs"):
        raise InvalidRequest("top_logprobs requires logprobs to be true", param="top_logprobs")
    return payload


def validate_completion(payload: dict, *, max_n: int) -> dict:
    _check_sampling(payload, max_n)
    prompt = _require(payload, "prompt")
    if not (isinstance(prompt, str) or (isinstance(prompt, list) and prompt and
                                        all(isinstance(part, str) for part in prompt))):
        raise InvalidRequest(f"prompt must be a string or a non-empty array of strings, got {_kind(prompt)}",
                             param="prompt")
    _optional_int(payload, "logprobs", 0, 5)
    _optional_bool(payload, "echo")
    return payload


VALIDATORS = {"/v1/chat/completions": validate_chat, "/v1/completions": validate_completion}


def prompt_characters(payload: dict) -> int:
    """Characters of prompt text, for the token estimate made before the answer exists."""
    if "messages" in payload:
        total = 0
        for message in payload["messages"]:
            content = message.get("content")
            if isinstance(content, str):
                total += len(content)
            elif isinstance(content, list):
                total += sum(len(part.get("text", "")) for part in content if isinstance(part.get("text"), str))
        return total
    prompt = payload.get("prompt", "")
    return len(prompt) if isinstance(prompt, str) else sum(len(part) for part in prompt)


def estimated_tokens(payload: dict, default_max_tokens: int, output_cap: int = 0) -> int:
    """Tokens a request may use: its prompt (about 4 characters a token) plus its longest possible answer
    (no longer than ``output_cap``, the backend's own limit, where there is one)."""
    named = [payload.get(name) for name in ("max_tokens", "max_completion_tokens") if payload.get(name)]
    max_tokens = max(named) if named else default_max_tokens     # a server may honour either
    if output_cap:
        max_tokens = min(max_tokens, output_cap)
    prompt = payload.get("prompt")
    prompts = len(prompt) if isinstance(prompt, list) and prompt else 1     # a batch of prompts: one answer each
    return prompt_characters(payload) // 4 + 1 + max_tokens * (payload.get("n") or 1) * prompts
