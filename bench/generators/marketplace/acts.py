"""Shared behaviour: when an actor is active, and how a conversation or an agent run unfolds."""

from __future__ import annotations

import json
import math
import random

import text as T
import world as W

ANSWER_CAP = 1200          # characters of answer text kept in a record; usage carries the full token count


def active_days(rng: random.Random, p_weekday: float, p_weekend: float, first: int = 0,
                last: int = W.DAYS) -> list[int]:
    return [d for d in range(first, last) if rng.random() < (p_weekend if W.weekday(d) >= 5 else p_weekday)]


def times_on(rng: random.Random, day: int, tz: float, profile: str, count: int) -> list[float]:
    base = W.local_day_start(day, tz)
    return sorted(base + W.pick_hour(rng, profile) * 3600 for _ in range(count))


def daily_times(actor: W.Actor, per_day: float, profile: str, weekend: float = 1.0,
                first: int = 0, last: int = W.DAYS) -> list[float]:
    """Poisson arrivals per day, each day's rate wobbling, shaped by an hour-of-day profile."""
    rng, out = actor.rng, []
    for day in range(first, last):
        rate = per_day * (weekend if W.weekday(day) >= 5 else 1.0) * rng.lognormvariate(0, 0.35)
        out.extend(times_on(rng, day, actor.tz, profile, W.poisson(rng, rate)))
    return out


def answer_tokens(rng: random.Random, median: float, sigma: float = 0.6) -> int:
    return max(3, int(rng.lognormvariate(math.log(median), sigma)))


def reply(rng: random.Random, category: str, tokens: int, recorded: str | None = None) -> str:
    return T.answer(rng, category, min(tokens * 4, ANSWER_CAP), recorded)


def conversation(world: W.World, actor: W.Actor, t: float, first: str, category: str, turns: int,
                 params: dict, *, gap: tuple[float, float], system: str | None = None, median_tokens: float = 350,
                 follow_ups: list[str] | None = None, recorded: str | None = None, model: str | None = None,
                 reasoning_share: float = 0.0, history_cap: int = 10) -> float:
    """A multi-turn chat: every request re-sends the history, answers come back in the next request."""
    rng = actor.rng
    history: list[dict] = [{"role": "system", "content": system}] if system else []
    user = first
    for turn in range(turns):
        history.append({"role": "user", "content": user})
        tokens = answer_tokens(rng, median_tokens)
        text = reply(rng, category, tokens, recorded if turn == 0 else None)
        reasoning = T.reasoning_trace(rng, min(ANSWER_CAP, tokens * 6)) if rng.random() < reasoning_share else None
        sent = ([history[0]] if system else []) + history[-history_cap:] if len(history) > history_cap else history
        t += world.chat(actor, t, [dict(m) for m in sent], dict(params), answer=text, reasoning=reasoning,
                        completion_tokens=tokens, model=model)
        history.append({"role": "assistant", "content": text})
        pool = follow_ups or T.FOLLOW_UPS
        user = rng.choice(pool).format(lang=rng.choice(T.LANGS), err=rng.choice(T.ERRORS))
        t += rng.uniform(*gap)
    return t


TOOL_LIBRARY = {
    "read_file": {"path": "string"}, "write_file": {"path": "string", "content": "string"},
    "run_shell": {"command": "string"}, "search_code": {"query": "string"}, "run_tests": {"pattern": "string"},
    "http_get": {"url": "string"}, "query_db": {"sql": "string"}, "send_email": {"to": "string", "body": "string"},
    "lookup_order": {"order_id": "string"}, "create_ticket": {"title": "string", "priority": "string"},
    "get_weather": {"city": "string"}, "calendar_create": {"title": "string", "start": "string"},
    "web_search": {"q": "string"}, "list_dir": {"path": "string"}, "git_diff": {"ref": "string"},
    "kubectl": {"args": "string"}, "get_metrics": {"service": "string", "window": "string"},
    "refund_payment": {"payment_id": "string", "amount": "number"}, "translate": {"text": "string", "to": "string"},
    "crm_lookup": {"email": "string"}, "book_flight": {"origin": "string", "dest": "string", "date": "string"},
}


def tool_schema(name: str, args: dict) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": f"{name.replace('_', ' ')}.",
        "parameters": {"type": "object", "properties": {k: {"type": v} for k, v in args.items()},
                       "required": list(args)}}}


def tool_result(rng: random.Random, name: str) -> str:
    if name in ("read_file", "git_diff"):
        return "\n".join(f"{i:>4} {T.words(rng, rng.randint(3, 9))}" for i in range(1, rng.randint(6, 30)))
    if name in ("run_tests", "run_shell", "kubectl"):
        return f"exit code {rng.choice([0, 0, 1, 2])}\n" + "\n".join(T.words(rng, 6) for _ in range(rng.randint(2, 12)))
    return json.dumps({"ok": rng.random() < 0.9, "result": T.words(rng, rng.randint(4, 20)),
                       "id": W.hex_id(rng, 8)})


def agent_run(world: W.World, actor: W.Actor, t: float, task: str, tools: list[str], system: str, steps: int,
              params: dict, *, gap: tuple[float, float], history_cap: int = 12) -> float:
    """A tool-using agent: assistant tool calls, tool results, a final answer; the history grows each step."""
    rng = actor.rng
    schemas = [tool_schema(name, TOOL_LIBRARY[name]) for name in tools]
    history: list[dict] = [{"role": "system", "content": system}, {"role": "user", "content": task}]
    for step in range(steps):
        last = step == steps - 1
        request_params = dict(params, tools=schemas)
        sent = history if len(history) <= history_cap else history[:2] + history[-(history_cap - 2):]
        if last:
            tokens = answer_tokens(rng, 260)
            text = reply(rng, "general", tokens)
            t += world.chat(actor, t, [dict(m) for m in sent], request_params, answer=text, completion_tokens=tokens)
            break
        calls = []
        for _ in range(1 if rng.random() < 0.8 else 2):
            name = rng.choice(tools)
            arguments = {k: (T.words(rng, 3) if v == "string" else rng.randint(1, 500))
                         for k, v in TOOL_LIBRARY[name].items()}
            calls.append({"id": "call_" + W.hex_id(rng, 20), "type": "function",
                          "function": {"name": name, "arguments": json.dumps(arguments)}})
        thought = T.sentence(rng) if rng.random() < 0.4 else ""
        t += world.chat(actor, t, [dict(m) for m in sent], request_params, answer=thought, tool_calls=calls)
        history.append({"role": "assistant", "content": thought or None, "tool_calls": calls})
        for call in calls:
            history.append({"role": "tool", "tool_call_id": call["id"],
                            "content": tool_result(rng, call["function"]["name"])[:700]})
        t += rng.uniform(*gap)
    return t


def maybe_status(rng: random.Random, p429: float = 0.004, p5xx: float = 0.002) -> int:
    roll = rng.random()
    if roll < p429:
        return 429
    if roll < p429 + p5xx:
        return rng.choice([503, 504])
    return 200
