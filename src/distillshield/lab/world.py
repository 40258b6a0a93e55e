"""The simulated world: actors (accounts), clocks, and turning requests into exchange records.

Everything random comes from generators seeded by the simulation's seed and the
actor's place in it (string seeds are hashed with SHA-512 by ``random``, so no
dependence on ``PYTHONHASHSEED``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from distillshield.lab.prompts import Pools, gen_answer
from distillshield.records import Exchange, format_ts

# request shares per local hour of the day (0..23)
CHAT_HOURS = [0.5, 0.25, 0.1, 0.05, 0.03, 0.05, 0.2, 0.5, 0.8, 1, 1, 1, 1.1, 1, 1, 1, 1.1, 1.2, 1.4, 1.6, 1.7, 1.6, 1.3, 0.9]
WORK_HOURS = [0, 0, 0, 0, 0, 0, 0.05, 0.3, 0.9, 1.2, 1.2, 1.0, 0.6, 1.0, 1.2, 1.2, 1.1, 0.8, 0.4, 0.2, 0.1, 0.05, 0.02, 0]
APP_HOURS = [0.35, 0.25, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 0.9, 1, 1, 1, 1.1, 1, 1, 1, 1, 1.05, 1.1, 1.2, 1.2, 1.1, 0.8, 0.5]
FLAT_HOURS = [1.0] * 24
TIMEZONES = [-8, -7, -6, -5, -4, -3, 0, 0, 1, 1, 1, 2, 3, 5.5, 7, 8, 8, 9, 10]
MODELS = ["ds-large", "ds-large", "ds-small"]
_PUBLIC_FIRST_OCTETS = [23, 31, 37, 45, 51, 62, 77, 81, 85, 89, 91, 94, 104, 109, 134, 141, 145, 151, 159, 176, 178,
                        185, 188, 193, 195, 212, 213, 217]
def tokens_of(text: str) -> int:
    return max(1, len(text.encode("utf-8")) // 4)


# -- user agents and addresses --------------------------------------------------------------------
def ua_library(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return f"OpenAI/Python 1.{rng.randint(30, 99)}.{rng.randint(0, 9)}"
    if roll < 0.55:
        return f"AsyncOpenAI/Python 1.{rng.randint(30, 99)}.{rng.randint(0, 9)}"
    if roll < 0.65:
        return f"OpenAI/JS 4.{rng.randint(20, 90)}.{rng.randint(0, 5)}"
    if roll < 0.75:
        return f"python-httpx/0.{rng.randint(24, 28)}.{rng.randint(0, 2)}"
    if roll < 0.82:
        return f"python-requests/2.{rng.randint(26, 32)}.{rng.randint(0, 3)}"
    if roll < 0.88:
        return f"langchain-openai/0.{rng.randint(1, 3)}.{rng.randint(0, 30)}"
    if roll < 0.92:
        return "Go-http-client/2.0"
    if roll < 0.96:
        return f"curl/8.{rng.randint(0, 11)}.{rng.randint(0, 1)}"
    word = rng.choice(["acme", "orbit", "relay", "fetcher", "batch", "worker", "pipeline", "ingest"])
    return f"{word}-client/{rng.randint(0, 3)}.{rng.randint(0, 20)}"


def ua_chat_client(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        os_name = rng.choice(["Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64"])
        return f"Mozilla/5.0 ({os_name}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rng.randint(118, 131)}.0.0.0 Safari/537.36"
    if roll < 0.6:
        return f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{rng.randint(0, 6)} like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
    if roll < 0.75:
        return rng.choice(["ChatBox", "LibreChat", "TypingMind", "NextChat", "Msty"]) + f"/{rng.randint(0, 2)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    return ua_library(rng)


def ip_address(rng: random.Random, documentation: float = 0.5) -> str:
    if rng.random() < documentation:
        prefix = rng.choice(["203.0.113", "198.51.100", "192.0.2"])
        return f"{prefix}.{rng.randint(1, 254)}"
    return f"{rng.choice(_PUBLIC_FIRST_OCTETS)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def hex_id(rng: random.Random, digits: int = 12) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


# -- actors -----------------------------------------------------------------------------------------
@dataclass
class Actor:
    index: int
    account: str
    kind: str
    label: str
    campaign: str | None
    rng: random.Random
    np_rng: np.random.Generator
    keys: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    tz: float = 0.0
    model: str = "ds-large"
    stream_share: float = 0.0
    usage_in_stream: float = 0.7
    speed_ms_per_token: float = 20.0
    sources: set = field(default_factory=set)
    events: list = field(default_factory=list)     # (epoch, seq, Exchange)

    def pick(self, values: list):
        return values[0] if len(values) == 1 else self.rng.choice(values)


class World:
    def __init__(self, seed: int, start: float, end: float, pools: Pools):
        self.seed = seed
        self.start = start
        self.end = end
        self.days = (end - start) / 86400
        self.pools = pools
        self.actors: list[Actor] = []
        self._day0 = math.floor(start / 86400) * 86400 - 86400
        self._ndays = int(math.ceil((end - self._day0) / 86400)) + 1
        self._cum: dict[tuple, list[float]] = {}

    # actors ------------------------------------------------------------------------------------
    def new_actor(self, kind: str, label: str, campaign: str | None, rng: random.Random,
                  np_rng: np.random.Generator) -> Actor:
        actor = Actor(len(self.actors), "acct_" + hex_id(rng, 10), kind, label, campaign, rng, np_rng)
        actor.keys = [hex_id(rng)]
        actor.tz = rng.choice(TIMEZONES)
        actor.model = rng.choice(MODELS)
        actor.speed_ms_per_token = rng.uniform(8, 35)
        self.actors.append(actor)
        return actor

    # clocks ------------------------------------------------------------------------------------
    def when(self, rng: random.Random, hours: list[float], tz: float, weekdays_only: bool = False,
             lo: float | None = None, hi: float | None = None) -> float:
        """A random moment in [lo, hi) that follows the local-hour profile ``hours``."""
        lo = self.start if lo is None else lo
        hi = self.end if hi is None else hi
        key = tuple(hours)
        cum = self._cum.get(key)
        if cum is None:
            cum = self._cum[key] = list(np.cumsum(hours))
        first_day = max(0, int((lo - self._day0) // 86400) - 1)
        last_day = min(self._ndays, int((hi - self._day0) // 86400) + 2)
        for _ in range(60):
            day = rng.randrange(first_day, last_day)
            hour = rng.choices(range(24), cum_weights=cum)[0]
            moment = self._day0 + day * 86400 + (hour + rng.random()) * 3600 - tz * 3600
            if lo <= moment < hi:
                if weekdays_only and self.is_weekend(moment, tz) and rng.random() < 0.85:
                    continue
                return moment
        return rng.uniform(lo, hi)

    @staticmethod
    def is_weekend(epoch: float, tz: float) -> bool:
        # 1970-01-01 was a Thursday (weekday 3)
        return (int((epoch + tz * 3600) // 86400) + 3) % 7 >= 5

    def poisson_times(self, np_rng: np.random.Generator, per_day: float, hours: list[float], tz: float,
                      weekend_factor: float = 1.0) -> list[float]:
        """Arrival times of a Poisson process whose hourly rate follows ``hours`` in local time."""
        weights = np.asarray(hours, dtype=float)
        weights = weights / weights.mean()
        first_hour = int(self.start // 3600)
        last_hour = int(math.ceil(self.end / 3600))
        hour_starts = np.arange(first_hour, last_hour, dtype=float) * 3600
        local = ((hour_starts / 3600 + tz) % 24).astype(int)
        rate = per_day / 24 * weights[local]
        if weekend_factor != 1.0:
            weekend = ((((hour_starts + tz * 3600) // 86400).astype(int) + 3) % 7) >= 5
            rate = np.where(weekend, rate * weekend_factor, rate)
        counts = np_rng.poisson(rate)
        times = np.repeat(hour_starts, counts) + np_rng.random(int(counts.sum())) * 3600
        times = times[(times >= self.start) & (times < self.end)]
        times.sort()
        return times.tolist()

    # requests ----------------------------------------------------------------------------------
    def chat(self, actor: Actor, t: float, messages: list[dict], params: dict | None = None, *,
             answer: str | None = None, mean_tokens: float = 250, hidden_tokens: int = 0,
             status: int = 200, source: str | None = None) -> tuple[str, int, float]:
        """Log one chat completion at ``t``; returns (answer text, its tokens, latency in seconds)."""
        request = {"model": actor.model, "messages": list(messages)}
        if params:
            request.update((k, v) for k, v in params.items() if v is not None)
        prompt_tokens = hidden_tokens + sum(tokens_of(m["content"]) + 4 for m in messages)
        return self._log(actor, t, "/v1/chat/completions", request, prompt_tokens, answer, mean_tokens, status, source)

    def complete(self, actor: Actor, t: float, prompt: str, params: dict | None = None, *,
                 mean_tokens: float = 40, status: int = 200, source: str | None = None) -> tuple[str, int, float]:
        request = {"model": actor.model, "prompt": prompt}
        if params:
            request.update((k, v) for k, v in params.items() if v is not None)
        return self._log(actor, t, "/v1/completions", request, tokens_of(prompt), None, mean_tokens, status, source)

    def _log(self, actor: Actor, t: float, endpoint: str, request: dict, prompt_tokens: int, answer: str | None,
             mean_tokens: float, status: int, source: str | None) -> tuple[str, int, float]:
        rng = actor.rng
        if source:
            actor.sources.add(source)
        if actor.stream_share and rng.random() < actor.stream_share:
            request["stream"] = True
            usage_wanted = rng.random() < actor.usage_in_stream
            if usage_wanted:
                request["stream_options"] = {"include_usage": True}
        else:
            usage_wanted = True
        exchange = Exchange(id="", ts=format_ts(t), account=actor.account, endpoint=endpoint, request=request,
                            key_id=actor.pick(actor.keys), ip=actor.pick(actor.ips),
                            user_agent=actor.pick(actor.user_agents), status=status)
        actor.events.append((t, len(actor.events), exchange))
        if status != 200:
            exchange.error = {"type": "requests", "code": "rate_limit_exceeded",
                              "message": f"rate limit reached for requests per minute on account {actor.account}"}
            exchange.latency_ms = round(rng.uniform(0.4, 3.0), 3)
            return "", 0, exchange.latency_ms / 1000
        max_tokens = request.get("max_tokens") or 4096
        n = request.get("n") or 1
        chat = endpoint == "/v1/chat/completions"
        choices, total = [], 0
        for i in range(n):
            if answer is not None and i == 0:
                text, tokens = answer, tokens_of(answer)
            else:
                tokens = max(1, int(rng.lognormvariate(math.log(mean_tokens), 0.5)))
                text = None
            finish = "stop"
            if tokens >= max_tokens:
                tokens, finish = max_tokens, "length"
                if text is not None:
                    text = text[:max_tokens * 4]
            if text is None:
                text = gen_answer(rng, min(tokens * 4, 600)) if chat else gen_answer(rng, min(tokens * 4, 120))
            total += tokens
            if chat:
                choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish})
            else:
                choices.append({"index": i, "text": text, "finish_reason": finish})
            if i == 0:
                first_text, first_tokens = text, tokens
        response = {"id": ("chatcmpl-" if chat else "cmpl-") + hex_id(rng, 24),
                    "object": "chat.completion" if chat else "text_completion",
                    "created": int(t), "model": actor.model, "choices": choices}
        if usage_wanted:
            response["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": total,
                                 "total_tokens": prompt_tokens + total}
        if request.get("stream"):
            response["streamed"] = True
        exchange.response = response
        latency = rng.uniform(120, 700) + first_tokens * actor.speed_ms_per_token * rng.uniform(0.8, 1.3)
        exchange.latency_ms = round(latency, 1)
        return first_text, first_tokens, latency / 1000
