"""The marketplace's plumbing: accounts, infrastructure, clocks, and the exchange record each request leaves.

Records follow ``distillshield.records.exchange.Exchange.to_json()``: key order ``id, ts, account, key_id, ip,
user_agent, endpoint, request, response, status, latency_ms, error``, absent optional fields left out.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import text as T

START = datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp()   # a Monday
DAYS = 21
END = START + DAYS * 86400
LOGPROB_POSITIONS = 16      # logprob entries kept per choice (the first positions), to keep files small
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

MODELS = {"chat": ["relay/frontier-large", "relay/frontier-mini", "relay/frontier-large-2026-10"],
          "reasoner": ["relay/reasoner-pro", "relay/reasoner-mini"],
          "completion": ["relay/frontier-base", "relay/code-fim-small"]}
TIMEZONES = [-8, -7, -5, -5, -3, 0, 0, 1, 1, 2, 3, 5.5, 5.5, 7, 8, 8, 9, 10]

# ---- infrastructure -------------------------------------------------------------------------------------
CLOUD_PREFIXES = ["3.{a}.{b}", "18.{a}.{b}", "34.{a}.{b}", "35.{a}.{b}", "52.{a}.{b}", "54.{a}.{b}", "20.{a}.{b}",
                  "40.{a}.{b}", "65.108.{b}", "88.198.{b}", "95.216.{b}", "51.{a}.{b}", "139.59.{b}", "167.99.{b}",
                  "159.89.{b}", "104.{a}.{b}", "172.104.{b}", "45.77.{b}"]
RESIDENTIAL_PREFIXES = ["73.{a}.{b}", "24.{a}.{b}", "98.{a}.{b}", "86.{a}.{b}", "81.{a}.{b}", "91.{a}.{b}",
                        "109.{a}.{b}", "2.{a}.{b}", "177.{a}.{b}", "187.{a}.{b}", "49.{a}.{b}", "117.{a}.{b}",
                        "112.{a}.{b}", "121.{a}.{b}", "59.{a}.{b}", "101.{a}.{b}", "175.{a}.{b}", "93.{a}.{b}",
                        "78.{a}.{b}", "85.{a}.{b}", "189.{a}.{b}", "14.{a}.{b}", "27.{a}.{b}", "36.{a}.{b}"]
MOBILE_PREFIXES = ["172.56.{b}", "174.{a}.{b}", "100.{a}.{b}", "39.{a}.{b}", "223.{a}.{b}"]
IPV6_PREFIXES = ["2a01:4f8:{x}:{y}", "2600:1700:{x}:{y}", "2001:16b8:{x}:{y}", "2406:da18:{x}:{y}", "2a02:8109:{x}:{y}"]

SDK_UAS = ["OpenAI/Python 1.54.4", "OpenAI/Python 1.57.0", "OpenAI/Python 1.58.1", "OpenAI/Python 1.61.0",
           "OpenAI/Python 1.68.2", "OpenAI/Python 2.3.0", "OpenAI/JS 4.73.1", "OpenAI/JS 4.77.0", "OpenAI/JS 5.10.1",
           "python-httpx/0.27.2", "python-httpx/0.28.1", "python-requests/2.31.0", "python-requests/2.32.3",
           "axios/1.7.7", "axios/1.7.9", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "Go-http-client/2.0",
           "GuzzleHttp/7", "okhttp/4.12.0", "Ruby", "curl/8.5.0", "curl/7.81.0", "Java-http-client/21.0.4",
           "ai-sdk/openai/1.3.9", "litellm/1.55.3", "Dart/3.5 (dart:io)"]
BROWSER_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
]
FRONTEND_UAS = ["OpenWebUI/0.4.7", "LibreChat/0.7.5", "LobeChat/1.36", "TypingMind/2.1", "ChatBox/1.6.2 (macOS)",
                "SillyTavern/1.12.8", "Msty/1.4"]
IDE_UAS = ["vscode-relaycode/1.8.2", "vscode-relaycode/1.9.0", "jetbrains-relaycode/0.21.4", "neovim-llm.nvim/0.6",
           "zed/0.165.2", "continue/0.9.240"]


def ip_from(rng: random.Random, prefixes: list[str]) -> str:
    prefix = rng.choice(prefixes)
    if ":" in prefix:
        return prefix.format(x=f"{rng.randrange(0x10000):x}", y=f"{rng.randrange(0x10000):x}") + \
            f"::{rng.randrange(0x10000):x}"
    return prefix.format(a=rng.randint(0, 255), b=rng.randint(0, 255)) + f".{rng.randint(1, 254)}"


def subnet_ips(rng: random.Random, base: str, count: int) -> list[str]:
    """``count`` addresses inside one /24 (``base`` is the first three octets)."""
    return [f"{base}.{host}" for host in rng.sample(range(2, 254), count)]


def hex_id(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def exchange_id(epoch: float, rng: random.Random) -> str:
    value = (int(epoch * 1000) << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "ex_" + "".join(reversed(chars))


def format_ts(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def tokens_of(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# hour-of-day weights (local time), 24 entries each
PROFILES = {
    "office": [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 3, 5, 6, 6, 4, 5, 6, 6, 5, 3.5, 2, 1.2, 0.9, 0.7, 0.5, 0.3],
    "evening": [1.5, 0.8, 0.4, 0.2, 0.1, 0.1, 0.3, 0.6, 1, 1.2, 1.4, 1.6, 1.8, 1.6, 1.5, 1.6, 1.8, 2.2, 3, 4, 4.5, 4.2, 3.4, 2.4],
    "consumer": [0.8, 0.5, 0.3, 0.2, 0.2, 0.3, 0.7, 1.4, 2.2, 2.8, 3, 3.2, 3.3, 3.1, 3, 3, 3.1, 3.2, 3.4, 3.6, 3.6, 3.2, 2.4, 1.5],
    "school": [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.4, 2, 4, 5, 5, 4.5, 3.5, 4, 4.2, 3.5, 3, 3.2, 3.6, 3.8, 3.2, 2.2, 1, 0.4],
    "flat": [1] * 24,
}


def pick_hour(rng: random.Random, profile: str) -> float:
    weights = PROFILES[profile]
    return rng.choices(range(24), weights=weights)[0] + rng.random()


def local_day_start(day: int, tz: float) -> float:
    return START + day * 86400 - tz * 3600


def weekday(day: int) -> int:
    return day % 7          # START is a Monday: 5 and 6 are the weekend


@dataclass
class Actor:
    account: str
    kind: str
    campaign_id: str | None
    rng: random.Random
    tz: float
    keys: list[str]
    ips: list[str]
    uas: list[str]
    ip_mode: str = "sticky"          # sticky: mostly the first ip; spread: any of ips; fresh: a new one per request
    fresh_prefixes: list[str] = field(default_factory=list)
    ua_mode: str = "sticky"
    stream_share: float = 0.0
    usage_in_stream: float = 0.6
    speed_ms_per_token: float = 18.0
    model: str = "relay/frontier-large"
    error_rate: float = 0.004        # share of requests first refused (429) or failed upstream, then retried

    def pick_ip(self) -> str:
        if self.ip_mode == "fresh":
            return ip_from(self.rng, self.fresh_prefixes)
        if self.ip_mode == "sticky" and self.rng.random() < 0.9:
            return self.ips[0]
        return self.rng.choice(self.ips)

    def pick_ua(self) -> str:
        if self.ua_mode == "sticky" and self.rng.random() < 0.95:
            return self.uas[0]
        return self.rng.choice(self.uas)


class World:
    def __init__(self, seed: int, pools: T.Pools, scale: float = 1.0):
        self.seed = seed
        self.scale = scale
        self.rng = random.Random(f"marketplace/{seed}")
        self.pools = pools
        self.records: list[tuple[float, str, bytes]] = []
        self.labels: list[dict] = []
        self.used_accounts: set[str] = set()
        self.per_account: Counter[str] = Counter()

    # ---- accounts ---------------------------------------------------------------------------------------
    def actor(self, kind: str, campaign_id: str | None = None, *, ips: list[str], uas: list[str],
              keys: int = 1, tz: float | None = None, **options) -> Actor:
        while True:
            account = "acct_" + hex_id(self.rng, 10)
            if account not in self.used_accounts:
                break
        self.used_accounts.add(account)
        rng = random.Random(f"{self.seed}/{account}")
        actor = Actor(account=account, kind=kind, campaign_id=campaign_id, rng=rng,
                      tz=self.rng.choice(TIMEZONES) if tz is None else tz,
                      keys=["key_" + hex_id(rng, 16) for _ in range(max(1, keys))], ips=ips, uas=uas, **options)
        self.labels.append({"account": account, "kind": kind, "campaign": campaign_id is not None,
                            "campaign_id": campaign_id})
        return actor

    # ---- records ----------------------------------------------------------------------------------------
    def chat(self, actor: Actor, t: float, messages: list[dict], params: dict | None = None, *,
             answer: str | None = None, reasoning: str | None = None, tool_calls: list[dict] | None = None,
             completion_tokens: int | None = None, model: str | None = None, n_answers: list[str] | None = None,
             status: int = 200) -> float:
        request = {"model": model or actor.model, "messages": messages}
        if params:
            request.update((k, v) for k, v in params.items() if v is not None)
        return self._log(actor, t, "/v1/chat/completions", request, answer, reasoning, tool_calls, completion_tokens,
                         n_answers, status)

    def complete(self, actor: Actor, t: float, prompt: str, params: dict | None = None, *, answer: str,
                 completion_tokens: int | None = None, model: str | None = None, status: int = 200) -> float:
        request = {"model": model or actor.model, "prompt": prompt}
        if params:
            request.update((k, v) for k, v in params.items() if v is not None)
        return self._log(actor, t, "/v1/completions", request, answer, None, None, completion_tokens, None, status)

    def _log(self, actor: Actor, t: float, endpoint: str, request: dict, answer: str | None, reasoning: str | None,
             tool_calls: list[dict] | None, completion_tokens: int | None, n_answers: list[str] | None,
             status: int) -> float:
        """Write one exchange at ``t``; returns the latency in seconds (the caller's clock moves on by it)."""
        if not START <= t < END:
            return 0.0
        rng = actor.rng
        if "stream" not in request and actor.stream_share and rng.random() < actor.stream_share:
            request["stream"] = True
            if rng.random() < actor.usage_in_stream:
                request["stream_options"] = {"include_usage": True}
        waited = 0.0
        if status == 200 and actor.error_rate and rng.random() < actor.error_rate:
            failed = 429 if rng.random() < 0.7 else rng.choice([503, 504])
            waited = self._log(actor, t, endpoint, json.loads(json.dumps(request)), None, None, None, None, None,
                               failed) + rng.uniform(1.0, 20.0)
            t += waited
            if t >= END:
                return waited
        record: dict = {"id": exchange_id(t, rng), "ts": format_ts(t), "account": actor.account,
                        "key_id": rng.choice(actor.keys) if len(actor.keys) > 1 and rng.random() < 0.5 else actor.keys[0],
                        "ip": actor.pick_ip(), "user_agent": actor.pick_ua(), "endpoint": endpoint, "request": request}
        if status != 200:
            record["status"] = status
            record["latency_ms"] = round(rng.uniform(0.5, 4.0) if status == 429 else rng.uniform(200, 30000), 1)
            record["error"] = _error(status, actor.account)
            self.records.append((t, record["id"], _dump(record)))
            self.per_account[actor.account] += 1
            return waited + record["latency_ms"] / 1000
        chat = endpoint == "/v1/chat/completions"
        prompt_tokens = _prompt_tokens(request)
        max_tokens = request.get("max_tokens") or request.get("max_completion_tokens") or 16384
        answers = n_answers or [answer or ""]
        n = request.get("n") or 1
        while len(answers) < n:
            answers.append(answers[-1][: max(20, int(len(answers[-1]) * rng.uniform(0.6, 1.0)))])
        choices, total = [], 0
        for index, text in enumerate(answers[:n]):
            tokens = completion_tokens if (completion_tokens and index == 0) else tokens_of(text)
            if tool_calls and index == 0:
                tokens = max(tokens, 20 + 12 * len(tool_calls))
            finish = "tool_calls" if tool_calls and index == 0 else "stop"
            if tokens >= max_tokens:
                tokens, finish = max_tokens, "length"
            total += tokens
            choice: dict = {"index": index}
            if chat:
                message: dict = {"role": "assistant", "content": None if (tool_calls and index == 0) else text}
                if reasoning and index == 0:
                    message["reasoning_content"] = reasoning
                if tool_calls and index == 0:
                    message["tool_calls"] = tool_calls
                choice["message"] = message
            else:
                choice["text"] = text
            choice["finish_reason"] = finish
            if request.get("logprobs"):
                choice["logprobs"] = _logprobs(rng, request, chat, min(tokens, LOGPROB_POSITIONS))
            choices.append(choice)
        response: dict = {"id": ("chatcmpl-" if chat else "cmpl-") + hex_id(rng, 24),
                          "object": "chat.completion" if chat else "text_completion", "created": int(t),
                          "model": request["model"], "choices": choices}
        stream = bool(request.get("stream"))
        if not stream or (request.get("stream_options") or {}).get("include_usage"):
            usage: dict = {"prompt_tokens": prompt_tokens, "completion_tokens": total,
                           "total_tokens": prompt_tokens + total}
            if "reasoner" in request["model"]:
                hidden = tokens_of(reasoning) if reasoning else int(total * rng.uniform(0.3, 2.5))
                usage["completion_tokens_details"] = {"reasoning_tokens": hidden}
            response["usage"] = usage
        if stream:
            response["streamed"] = True
        record["response"] = response
        record["status"] = 200
        ms_per_token = actor.speed_ms_per_token * (2.2 if "reasoner" in request["model"] else 1.0)
        latency = rng.uniform(150, 900) + prompt_tokens * 0.02 + total * ms_per_token * rng.uniform(0.8, 1.3)
        record["latency_ms"] = round(latency, 1)
        self.records.append((t, record["id"], _dump(record)))
        self.per_account[actor.account] += 1
        return waited + latency / 1000


def _dump(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _prompt_tokens(request: dict) -> int:
    if "messages" in request:
        size = sum(len(m.get("content") or "") + 16 + (len(json.dumps(m["tool_calls"])) if "tool_calls" in m else 0)
                   for m in request["messages"])
        if request.get("tools"):
            size += len(json.dumps(request["tools"]))
        return max(1, size // 4 + 3)
    return tokens_of(str(request.get("prompt", "")) + str(request.get("suffix", "")))


def _logprobs(rng: random.Random, request: dict, chat: bool, count: int) -> dict:
    tokens = T.token_list(rng, max(1, count))
    if chat:
        k = request.get("top_logprobs") or 0
        content = []
        for token in tokens:
            top = round(-abs(rng.gauss(0, 0.6)), 4)
            alternatives = [{"token": token, "logprob": top}] + [
                {"token": " " + rng.choice(T.WORDS), "logprob": round(top - abs(rng.gauss(1.5, 1.2)) - i * 0.3, 4)}
                for i in range(max(0, k - 1))]
            content.append({"token": token, "logprob": top, "top_logprobs": alternatives[:k]})
        return {"content": content}
    k = request.get("logprobs") or 0
    return {"tokens": tokens, "token_logprobs": [round(-abs(rng.gauss(0, 0.7)), 4) for _ in tokens],
            "top_logprobs": [{tok: round(-abs(rng.gauss(0, 0.5)), 4) for tok in
                              [t] + [" " + rng.choice(T.WORDS) for _ in range(max(0, k - 1))]} for t in tokens]}


def _error(status: int, account: str) -> dict:
    if status == 429:
        return {"type": "requests", "code": "rate_limit_exceeded",
                "message": f"rate limit reached for requests per minute on account {account}"}
    if status == 400:
        return {"type": "invalid_request_error", "code": "context_length_exceeded",
                "message": "the prompt plus max_tokens exceeds the model's context window"}
    if status == 504:
        return {"type": "upstream_error", "code": "upstream_timeout", "message": "the upstream did not answer in time"}
    return {"type": "upstream_error", "code": "upstream_unavailable", "message": "the upstream answered 503; retry"}
