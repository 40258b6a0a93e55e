"""A hardened account's answers: reasoning blocks and fields stripped, the account's canary added at the end;
what was changed (here, or by the backend's sampling) goes on the log's record (``call.policy``)."""

from __future__ import annotations

import dataclasses

from distillshield.backends import Reply, StreamReply
from distillshield.gateway.hardening import Count
from distillshield.gateway.levels import Decision
from distillshield.gateway.reasoning import ReasoningStreamFilter, harden_answer


def strip_reply(reply: Reply | StreamReply, decision: Decision, call, *, suffix: str,
                count: Count) -> Reply | StreamReply:
    """The answer without reasoning blocks and fields, ending with ``suffix`` (the account's canary, or "")."""
    if isinstance(reply, StreamReply):
        if reply.status != 200:
            return reply
        return dataclasses.replace(reply, chunks=_stripped_stream(reply.chunks, decision, call, suffix, count))
    if reply.status != 200 or not reply.content_type.startswith("application/json"):
        return reply
    body, reasoning = harden_answer(reply.body, suffix)
    if body is None:
        return reply
    _note_changes(decision, call, suffix, reasoning, count)
    return dataclasses.replace(reply, body=body)


async def _stripped_stream(chunks, decision: Decision, call, suffix: str, count: Count):
    events = ReasoningStreamFilter(suffix)
    try:
        async for chunk in chunks:
            out = events.feed(chunk)
            if out:
                yield out
        rest = events.flush()
        if rest:
            yield rest
    finally:
        if events.stripped or suffix:
            _note_changes(decision, call, suffix, events.stripped, count)
        await chunks.aclose()


def note_actions(decision: Decision, call, actions: list[str], count: Count) -> None:
    """Record (and count) what was done to the answer: by the backend (``antidistill:<strength>``, its
    sampling) or here (reasoning stripped, a canary added)."""
    record = call.policy if call.policy is not decision.record else {**decision.record,
                                                                     "actions": list(decision.record["actions"])}
    for action in actions:
        record["actions"].append(action)
        count(decision.level, action.split(":")[0])
    call.policy = record


def _note_changes(decision: Decision, call, suffix: str, stripped: bool, count: Count) -> None:
    note_actions(decision, call, [action for action, done in (("strip_reasoning", stripped), ("canary", bool(suffix)))
                                  if done], count)
