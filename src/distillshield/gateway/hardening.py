"""Hardening a request of a hardened account: refuse what it may not ask for, forward only the parameters known
to be safe, cap the answer length; what was done goes on the log's record (``call.policy``)."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from distillshield.errors import PermissionDenied
from distillshield.gateway.levels import Decision


def _asks(value, _endpoint) -> bool:
    return value not in (None, False, 0, "", [], {})


def _more_than_one(value, _endpoint) -> bool:
    return value not in (None, 0, 1)


def _several_prompts(value, _endpoint) -> bool:
    return isinstance(value, list) and len(value) > 1


def _completion_logprobs(value, endpoint) -> bool:
    # /v1/completions takes logprobs as a count, where 0 still returns the chosen tokens' log-probabilities
    return value is not None if endpoint == "/v1/completions" else _asks(value, endpoint)


# (parameter, is it asking for something refused, the action's name): what a hardened account is refused,
# with a 403 that names it, rather than silently answered without it
_HARDENED_REFUSALS = (
    ("n", _more_than_one, "n", "several answers per request"),
    ("best_of", _more_than_one, "n", "several answers per request"),
    ("prompt", _several_prompts, "n", "several prompts per request"),
    ("logprobs", _completion_logprobs, "logprobs", "log-probabilities"),
    ("top_logprobs", _asks, "logprobs", "log-probabilities"),
    ("prompt_logprobs", _asks, "logprobs", "log-probabilities"),
    ("logit_bias", _asks, "logit_bias", "a logit bias"),
)
# what a hardened account's request may carry to the model; anything else is dropped (and recorded).
# Tools and functions are dropped too: an answer forced into a tool call's arguments would carry reasoning
# past the filter and no canary.
_HARDENED_FORWARDED = frozenset({
    "model", "messages", "prompt", "suffix", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "stop", "stream", "stream_options", "seed", "presence_penalty", "frequency_penalty", "n", "user",
    "response_format",
})

Count = Callable[[str, str | None], None]          # (level, action): one more request under that level


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def harden_request(endpoint: str, payload: dict, body: bytes, decision: Decision, call, *, cap: int,
                   count: Count) -> tuple[dict, bytes]:
    """Refuse what a hardened account may not ask for; forward only the parameters known to be safe;
    cap the answer length at ``cap`` (0: no cap). Returns what to send on.

    The client's own payload stays as it is (the traffic log and the detector see what was asked); the
    upstream gets a copy, re-encoded only when something changed.
    """
    actions = list(decision.record["actions"])
    call.policy = {**decision.record, "actions": actions}
    for name, refused, action, what in _HARDENED_REFUSALS:
        if refused(payload.get(name), endpoint):
            actions.append(f"refuse_{action}")
            count(decision.level, f"refuse_{action}")
            raise PermissionDenied(f"{what} ({name}) are not available to this account (hardened by the "
                                   f"operator's usage policy), got {_shown(payload[name])}", param=name,
                                   code="hardened_by_policy")
    changes: dict = {}
    dropped = sorted(name for name in payload if name not in _HARDENED_FORWARDED)
    if dropped:
        actions.append("drop_params:" + ",".join(dropped)[:200])
        count(decision.level, "drop_params")
    if cap:
        for name in ("max_tokens", "max_completion_tokens"):
            value = payload.get(name)
            if isinstance(value, int) and value > cap:
                changes[name] = cap
        if endpoint == "/v1/chat/completions" and payload.get("max_tokens") is None \
                and payload.get("max_completion_tokens") is None:
            changes["max_tokens"] = cap
        if changes:
            actions.append(f"cap_max_tokens:{cap}")
            count(decision.level, "cap_max_tokens")
    if changes or dropped:
        payload = {name: value for name, value in {**payload, **changes}.items() if name not in dropped}
        body = orjson.dumps(payload)
    return payload, body


def refuse_passthrough(decision: Decision, call, *, count: Count) -> None:
    """A hardened account gets only the endpoints whose answers the gateway can harden."""
    call.policy = {**decision.record, "actions": [*decision.record["actions"], "refuse_endpoint"]}
    count(decision.level, "refuse_endpoint")
    raise PermissionDenied(f"{call.endpoint} is not available to this account (hardened by the operator's usage "
                           "policy); use /v1/chat/completions or /v1/completions", code="hardened_by_policy")
