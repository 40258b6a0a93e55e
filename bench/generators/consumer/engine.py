# -*- coding: utf-8 -*-
"""Gateway simulation core: accounts, networks, text/response synthesis,
rate limiting with client retries, and record writing."""
import heapq
import json
import math
import re
import time
from collections import deque

import content as C

T0 = 1795132800.0          # 2026-11-20T00:00:00Z (a Friday)
DAYS = 4
T_END = T0 + DAYS * 86400

MODELS = {
    # name: (tokens/s, ttft median s)
    "aurora-2": (55.0, 0.55),
    "aurora-2-mini": (130.0, 0.30),
    "aurora-2-reasoning": (48.0, 1.4),
    "aurora-1.5-instruct": (90.0, 0.25),
}
TIERS = {"free": (20, 1500), "tier1": (500, None), "tier2": (5000, None)}

# Human activity by local hour (0..23)
HOUR_HUMAN = [0.25, 0.15, 0.08, 0.05, 0.04, 0.06, 0.15, 0.35, 0.6, 0.8, 0.9, 0.95, 0.9, 0.9, 0.95, 0.95,
              0.9, 0.85, 0.85, 0.95, 1.0, 1.0, 0.8, 0.5]
HOUR_STUDENT = [0.45, 0.3, 0.15, 0.06, 0.03, 0.03, 0.06, 0.15, 0.3, 0.4, 0.45, 0.5, 0.5, 0.55, 0.6, 0.7,
                0.8, 0.85, 0.9, 1.0, 1.0, 1.0, 0.9, 0.7]
HOUR_WORK = [0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.1, 0.35, 0.8, 1.0, 1.0, 0.95, 0.75, 0.9, 1.0, 1.0,
             0.9, 0.6, 0.35, 0.25, 0.2, 0.15, 0.1, 0.07]
HOUR_FLAT = [1.0] * 24


# ------------------------------------------------------------------ time helpers
def local_hour(t, tz):
    return int(((t - T0) / 3600.0 + tz) % 24)


def local_weekday(t, tz):
    # T0 is a Friday (weekday 4)
    return int((4 + math.floor(((t - T0) / 3600.0 + tz) / 24)) % 7)


def sample_time(rng, tz, lo, hi, hours=HOUR_HUMAN, weekend=1.0):
    """Draw a time in [lo, hi) following an hour-of-day profile in local time."""
    t = lo
    for _ in range(60):
        t = rng.uniform(lo, hi)
        w = hours[local_hour(t, tz)]
        if local_weekday(t, tz) >= 5:
            w *= weekend
        if rng.random() < w / 1.1:
            return t
    return t


def fmt_ts(t):
    ms = int(round((t - math.floor(t)) * 1000))
    base = math.floor(t)
    if ms == 1000:
        base += 1
        ms = 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base)) + ".%03dZ" % ms


def human_gap(rng, reply_tokens, next_len):
    """Seconds between receiving a reply and sending the next turn."""
    read = reply_tokens / rng.uniform(6.0, 22.0)
    typing = next_len / rng.uniform(2.5, 7.0)
    think = rng.lognormvariate(math.log(12), 0.9)
    return min(read * rng.uniform(0.2, 1.0) + typing + think, 3600)


# ------------------------------------------------------------------ networks
_COUNTRY_OCTETS = {}
RES_FIRST = [24, 31, 37, 46, 49, 62, 68, 71, 73, 77, 78, 79, 81, 82, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93,
             94, 95, 96, 98, 99, 101, 106, 110, 111, 112, 113, 114, 115, 117, 118, 119, 120, 121, 122, 123,
             124, 125, 171, 175, 176, 177, 178, 179, 180, 181, 182, 183, 186, 187, 188, 189, 190, 191, 197, 200,
             201, 202, 212, 213, 217, 218, 219, 220, 221, 222]
CLOUD_PREFIXES = [(3, None), (18, None), (13, None), (34, None), (35, None), (52, None), (54, None),
                  (104, 131), (138, 197), (159, 89), (164, 90), (167, 99), (5, 75), (116, 202), (95, 216),
                  (20, None), (40, None), (51, 15), (141, 95), (139, 59)]
SERVERLESS_PREFIXES = [(3, None), (18, None), (52, None), (54, None), (44, None), (34, None), (76, 76)]


def country_prefixes(country):
    if country not in _COUNTRY_OCTETS:
        h = sum(ord(c) * 131 ** i for i, c in enumerate(country))
        firsts = [RES_FIRST[(h // (7 ** k)) % len(RES_FIRST)] for k in range(5)]
        _COUNTRY_OCTETS[country] = [(f, (h * (k + 3)) % 250 + 1) for k, f in enumerate(firsts)]
    return _COUNTRY_OCTETS[country]


def res_ip(rng, country):
    a, b = rng.choice(country_prefixes(country))
    return "%d.%d.%d.%d" % (a, (b + rng.randrange(4)) % 256, rng.randrange(256), rng.randrange(1, 255))


def mobile_ip(rng, country):
    a, b = country_prefixes(country)[0]
    return "%d.%d.%d.%d" % ((a + 1) % 223 + 1, b, rng.randrange(256), rng.randrange(1, 255))


def cloud_ip(rng, prefixes=CLOUD_PREFIXES):
    a, b = rng.choice(prefixes)
    if b is None:
        b = rng.randrange(256)
    return "%d.%d.%d.%d" % (a, b, rng.randrange(256), rng.randrange(1, 255))


class World:
    """Shared infrastructure: VPN exits, campus NATs, countries."""

    def __init__(self, rng):
        self.vpn_exits = [cloud_ip(rng, [(185, 107), (45, 83), (193, 32), (89, 187), (156, 146)]) for _ in range(45)]
        self.campus = [[res_ip(rng, c) for _ in range(rng.randint(2, 5))] for c in
                       ["US", "US", "GB", "DE", "IN", "BR", "CA", "ES", "FR", "KR"]]
        self.campus_tz = [-5, -8, 0, 1, 5.5, -3, -5, 1, 1, 9]
        self.countries = sorted({c for v in C.LANG_GEO.values() for c, _ in v} |
                                {"VN", "ID", "TH", "PH", "UA", "RO", "KE", "EG", "PK", "BD", "NG", "CO"})


class HumanNet:
    """A person's addresses: home (may change), mobile carrier, sometimes work/VPN/campus."""

    def __init__(self, rng, world, country, campus=None):
        self.country = country
        self.home = [res_ip(rng, country)]
        if rng.random() < 0.15:
            self.home.append(res_ip(rng, country))
        self.mobile_share = rng.choice([0.0, 0.05, 0.15, 0.3, 0.5])
        self.work = res_ip(rng, country) if rng.random() < 0.3 else None
        self.vpn = rng.random() < 0.07
        self.campus = campus
        self.world = world

    def pick(self, rng, t, tz):
        if self.vpn and rng.random() < 0.7:
            return rng.choice(self.world.vpn_exits)
        if self.campus and 8 <= local_hour(t, tz) <= 18 and local_weekday(t, tz) < 5 and rng.random() < 0.6:
            return rng.choice(self.campus)
        if rng.random() < self.mobile_share:
            return mobile_ip(rng, self.country)
        if self.work and 9 <= local_hour(t, tz) <= 17 and local_weekday(t, tz) < 5 and rng.random() < 0.7:
            return self.work
        idx = 0 if len(self.home) == 1 or t < T0 + 2 * 86400 else 1
        return self.home[idx]


# ------------------------------------------------------------------ text
SLOT_RE = re.compile(r"\{(\w+)\}")
SENT_END = re.compile(r"[.!?。।？！]\s*")
CHARS_PER_TOKEN = {"zh": 1.3, "ja": 1.4, "ko": 1.6, "hi": 2.2, "ar": 2.6, "ru": 2.9, "uk": 2.7, "en": 4.0}


def fill(rng, template, *slot_dicts):
    def rep(m):
        key = m.group(1)
        for d in slot_dicts:
            if key in d:
                v = d[key]
                return str(rng.choice(v)) if isinstance(v, (list, tuple)) else str(v)
        return m.group(0)
    return SLOT_RE.sub(rep, template)


def ntok(s):
    if not s:
        return 0
    if s.isascii():
        return max(1, int(len(s) / 4.0 + 0.5))
    return max(1, int(len(s) / 2.2 + 0.5))


class TextBank:
    def __init__(self, rng):
        self.corpus = {}
        for lang, sents in C.FILLER.items():
            parts = []
            sep = "" if lang in ("zh", "ja") else " "
            for _ in range(60):
                s = list(sents)
                rng.shuffle(s)
                parts.append(sep.join(s))
            self.corpus[lang] = ("\n\n" if lang != "en" else "\n\n").join(parts)
        code = []
        for _ in range(400):
            start = rng.randrange(len(C.CODE_LINES) - 6)
            code.extend(C.CODE_LINES[start:start + rng.randint(3, 8)])
        self.code = "\n".join(code)

    def prose(self, rng, lang, tokens):
        corpus = self.corpus.get(lang, self.corpus["en"])
        n = int(tokens * CHARS_PER_TOKEN.get(lang, 3.6))
        if n + 500 >= len(corpus):
            reps = n // len(corpus) + 1
            return (corpus * reps)[:n]
        start = rng.randrange(len(corpus) - n - 400)
        # start and end on sentence boundaries where the corpus allows it
        m = SENT_END.search(corpus, start, start + 400)
        if m:
            start = m.end()
        end = start + n
        m_end = SENT_END.search(corpus, end, end + 300)
        if m_end:
            end = m_end.start() + 1
        return corpus[start:end].strip()

    def code_raw(self, rng, tokens):
        n = max(8, int(tokens * 3.2))
        if n >= len(self.code) - 10:
            return self.code[:n]
        start = self.code.find("\n", rng.randrange(len(self.code) - n)) + 1
        return self.code[start:start + n]

    def code_block(self, rng, tokens, lang_hint="python"):
        n = int(tokens * 3.2)
        if n >= len(self.code) - 10:
            return self.code[:n]
        start = self.code.find("\n", rng.randrange(len(self.code) - n)) + 1
        return "```%s\n%s\n```" % (lang_hint.lower(), self.code[start:start + n].rsplit("\n", 1)[0])


def target_tokens(rng, median, sigma=0.6, lo=5, hi=8000):
    return int(min(hi, max(lo, rng.lognormvariate(math.log(median), sigma))))


def synth_response(rng, bank, style, lang, tokens, given=None, hint=""):
    """Placeholder assistant text of roughly `tokens` tokens in a given style."""
    if given and rng.random() < 0.8:
        return given
    if style == "code":
        t1 = max(8, tokens // 5)
        t2 = max(20, tokens - 2 * t1)
        return bank.prose(rng, lang, t1) + "\n\n" + bank.code_block(rng, t2, hint or "python") + "\n\n" + bank.prose(rng, lang, t1)
    if style == "steps":
        k = max(2, min(12, tokens // 45))
        per = max(8, tokens // k)
        lines = ["Step %d: %s" % (i + 1, bank.prose(rng, lang, per)) for i in range(k)]
        return "\n".join(lines) + "\n\nFinal answer: %d" % rng.randint(2, 5000)
    if style == "trace":
        k = max(3, min(20, tokens // 60))
        per = max(10, tokens // k)
        body = "\n".join("%d) %s = %d" % (i + 1, bank.prose(rng, lang, per), rng.randint(1, 999)) for i in range(k))
        return "<thinking>\n" + body + "\n</thinking>\n#### %d" % rng.randint(1, 9999)
    if style == "list":
        k = max(3, min(15, tokens // 30))
        per = max(5, tokens // k)
        return "\n".join("%d. %s" % (i + 1, bank.prose(rng, lang, per)) for i in range(k))
    if style == "json":
        return json.dumps({"title": hint or "result", "items": [bank.prose(rng, lang, max(5, tokens // 4)) for _ in range(3)]},
                          ensure_ascii=False)
    if style == "verdict":
        return bank.prose(rng, "en", max(10, tokens - 6)) + "\n\nFinal verdict: " + rng.choice(["[[A]]", "[[B]]", "[[C]]", "[[A]]", "[[B]]"])
    if style == "rating":
        return bank.prose(rng, "en", max(10, tokens - 5)) + "\n\nRating: [[%d]]" % rng.randint(2, 10)
    if style == "instructions":
        k = rng.randint(12, 19)
        out = []
        for i in range(2, 2 + k):
            ins = fill(rng, "{v} {o} {t}.", {"v": C.INSTR_VERBS, "o": C.INSTR_OBJECTS, "t": C.INSTR_TOPICS})
            out.append("%d. Instruction: %s\n%d. Input:\n<noinput>\n%d. Output:\n%s" % (i, ins, i, i, bank.prose(rng, "en", 30)))
        return "\n###\n".join(out)
    if style == "code_fim":
        return bank.code_raw(rng, tokens)
    if style == "letter":
        return rng.choice(["A", "B", "C", "D", " B", " A", "C. ", "The answer is D"])
    if style == "short":
        return bank.prose(rng, lang, min(tokens, 40))
    return bank.prose(rng, lang, tokens)


# ------------------------------------------------------------------ accounts
class Account:
    __slots__ = ("id", "kind", "campaign_id", "tier", "tz", "lang", "country", "keys", "ua", "retry",
                 "net", "ips", "extra")

    def __init__(self, rng, kind, campaign_id=None, tier="free", tz=0, lang="en", country="US",
                 ua="OpenAI/Python 1.54.0", retry="sdk", n_keys=1):
        self.id = "acct_" + "".join(rng.choice("abcdefghijkmnopqrstuvwxyz23456789") for _ in range(12))
        self.kind = kind
        self.campaign_id = campaign_id
        self.tier = tier
        self.tz = tz
        self.lang = lang
        self.country = country
        self.keys = ["key_" + "%010x" % rng.getrandbits(40) for _ in range(n_keys)]
        self.ua = ua
        self.retry = retry
        self.net = None
        self.ips = []
        self.extra = {}


# ------------------------------------------------------------------ gateway / log
class Gateway:
    def __init__(self, rng, bank):
        self.rng = rng
        self.bank = bank
        self.pending = {}  # account id -> list of events
        self.accounts = []

    def add(self, acct):
        self.accounts.append(acct)
        self.pending[acct.id] = []
        return acct

    def chat(self, acct, t, messages, *, model="aurora-2-mini", ip, ua=None, key=None, style="prose", lang=None,
             tokens=300, given=None, hint="", params=None, tools=None, tool_call=None, n=1, endpoint="/v1/chat/completions"):
        """Record a chat request at time t; returns the assistant text (for follow-ups)."""
        rng = self.rng
        req = {"model": model, "messages": messages}
        if params:
            req.update(params)
        if n != 1:
            req["n"] = n
        if tools:
            req["tools"] = tools
        max_tok = req.get("max_tokens") or req.get("max_completion_tokens")
        choices = []
        completion = 0
        text0 = None
        for i in range(n):
            if tool_call is not None and i == 0:
                msg = {"role": "assistant", "content": None, "tool_calls": [tool_call]}
                ctoks = ntok(tool_call["function"]["arguments"]) + 8
                finish = "tool_calls"
                text = None
            else:
                tk = tokens if i == 0 else int(tokens * rng.uniform(0.7, 1.3))
                finish = "stop"
                if max_tok and tk >= max_tok:
                    tk = max_tok
                    finish = "length"
                text = synth_response(rng, self.bank, style, lang or acct.lang, tk, given if i == 0 else None, hint)
                ctoks = ntok(text)
                if max_tok and ctoks > max_tok:
                    text = text[: int(len(text) * max_tok / ctoks)]
                    ctoks = max_tok
                    finish = "length"
                msg = {"role": "assistant", "content": text}
            ch = {"index": i, "message": msg, "finish_reason": finish}
            if req.get("logprobs"):
                toks = (text or "").split()[:12]
                ch["logprobs"] = {"content": [{"token": w, "logprob": round(-rng.expovariate(3.0), 4)} for w in toks],
                                  "truncated": True}
            choices.append(ch)
            completion += ctoks
            if i == 0:
                text0 = text
        prompt = 0
        for m in messages:
            prompt += 4 + ntok(m.get("content") or "")
            if m.get("tool_calls"):
                prompt += 20
        if tools:
            prompt += 60 * len(tools)
        self._record(acct, t, endpoint, req, choices, prompt, completion, model, ip, ua, key)
        return text0, choices[0]["message"]

    def completion(self, acct, t, prompt_text, *, model="aurora-1.5-instruct", ip, ua=None, key=None, style="prose",
                   tokens=300, lang="en", params=None, given=None):
        rng = self.rng
        req = {"model": model, "prompt": prompt_text}
        if params:
            req.update(params)
        max_tok = req.get("max_tokens", 16)
        finish = "stop"
        tk = tokens
        if tk >= max_tok:
            tk, finish = max_tok, "length"
        text = synth_response(rng, self.bank, style, lang, tk, given)
        ctoks = min(ntok(text), max_tok)
        choices = [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}]
        self._record(acct, t, "/v1/completions", req, choices, ntok(prompt_text) + 1, ctoks, model, ip, ua, key)
        return text

    def _record(self, acct, t, endpoint, req, choices, prompt, completion, model, ip, ua, key):
        rng = self.rng
        if t < T0 or t >= T_END:
            return
        if key is None:
            key = acct.keys[0] if len(acct.keys) == 1 or t < acct.extra.get("key_switch", T0 + 2 * 86400) else acct.keys[1]
        if ua is None:
            ua = acct.ua
            ua2 = acct.extra.get("ua2")
            if ua2 and int((t - T0) / 21600 + acct.extra.get("ua2_phase", 0)) % 3 == 0:
                ua = ua2
        tps, ttft = MODELS.get(model, (60.0, 0.5))
        reasoning = 0
        if model.endswith("reasoning"):
            reasoning = int(completion * rng.uniform(0.8, 3.0))
        lat = rng.lognormvariate(math.log(ttft), 0.35) + prompt * 0.00012
        if not req.get("stream"):
            lat += (completion / max(1, len(choices)) + reasoning) / (tps * rng.uniform(0.7, 1.2))
        else:
            lat += (completion / max(1, len(choices)) + reasoning) / (tps * rng.uniform(0.7, 1.2))
        usage = {"prompt_tokens": prompt, "completion_tokens": completion + reasoning,
                 "total_tokens": prompt + completion + reasoning}
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        obj = "text_completion" if endpoint == "/v1/completions" else "chat.completion"
        resp = {"id": ("cmpl-" if obj == "text_completion" else "chatcmpl-") + "%024x" % rng.getrandbits(96),
                "object": obj, "model": model, "choices": choices, "usage": usage}
        self.pending[acct.id].append([t, endpoint, req, resp, round(lat * 1000, 1), ip, ua, key])

    # -------------------------------------------------------------- finalize
    def finalize(self, out_path):
        """Apply rate limits, server errors and client retries; write sorted records."""
        rng = self.rng
        lines = []
        seq = 0
        for acct in self.accounts:
            rpm, rpd = TIERS[acct.tier]
            events = self.pending[acct.id]
            heap = [(ev[0], i, 0, ev) for i, ev in enumerate(events)]
            heapq.heapify(heap)
            window = deque()
            daily = {}
            seq = len(events)
            while heap:
                t, _, attempt, ev = heapq.heappop(heap)
                if t >= T_END:
                    continue
                while window and window[0] <= t - 60:
                    window.popleft()
                day = int((t - T0) // 86400)
                err = None
                if len(window) >= rpm:
                    err = (429, "rate_limit_exceeded", "Rate limit reached for requests per minute (RPM): limit %d. Please try again in %.1fs." % (rpm, max(0.1, 60 - (t - window[0]))))
                elif rpd and daily.get(day, 0) >= rpd:
                    err = (429, "daily_quota_exceeded", "You exceeded your daily request quota for the free tier. Upgrade your plan or try again tomorrow.")
                elif rng.random() < 0.003:
                    err = rng.choice([(500, "server_error", "The server had an error while processing your request. Sorry about that!"),
                                      (503, "overloaded", "The engine is currently overloaded, please try again later.")])
                rec = {"id": "ex_%016x" % rng.getrandbits(64), "ts": fmt_ts(t), "account": acct.id, "key_id": ev[7],
                       "ip": ev[5], "user_agent": ev[6], "endpoint": ev[1], "request": ev[2]}
                if err is None:
                    window.append(t)
                    daily[day] = daily.get(day, 0) + 1
                    rec["response"] = ev[3]
                    rec["status"] = 200
                    rec["latency_ms"] = ev[4]
                else:
                    rec["status"] = err[0]
                    rec["error"] = {"type": err[1], "code": err[1], "message": err[2]}
                    rec["latency_ms"] = round(rng.uniform(4, 30) if err[0] == 429 else rng.uniform(200, 30000), 1)
                    delay = self._retry_delay(acct, attempt, err)
                    if delay is not None:
                        seq += 1
                        heapq.heappush(heap, (t + rec["latency_ms"] / 1000 + delay, seq, attempt + 1, ev))
                lines.append((t, json.dumps(rec, ensure_ascii=False, separators=(", ", ": "))))
        lines.sort(key=lambda x: x[0])
        with open(out_path, "w", encoding="utf-8") as f:
            for _, line in lines:
                f.write(line)
                f.write("\n")
        return len(lines)

    def _retry_delay(self, acct, attempt, err):
        rng = self.rng
        if err[1] == "daily_quota_exceeded":
            return None if attempt >= 1 or acct.retry == "none" else rng.uniform(0.5, 2)
        if acct.retry == "sdk":
            if attempt >= 2:
                return None
            return min(8.0, 0.5 * 2 ** attempt) * rng.uniform(0.75, 1.25) + (rng.uniform(1, 20) if err[0] == 429 else 0)
        if acct.retry == "aggressive":
            return None if attempt >= 6 else rng.uniform(0.8, 1.5)
        if acct.retry == "human":
            return None if attempt >= 2 or rng.random() < 0.3 else rng.uniform(5, 90)
        return None
