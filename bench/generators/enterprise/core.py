"""Core machinery: accounts, clocks, addresses, clients, request/response records, rate limits."""
import bisect
import heapq
import json
import math
import os
import random
import time
from collections import deque

import vocab as V

T0 = 1795046400.0  # 2026-11-19T00:00:00Z, a Thursday
DATA_DIR = "/work/shared/data"

# ------------------------------------------------------------------ models and clients
MODELS = {
    "large": ["mx-large", "mx-large-2025-10-01", "mx-large-latest"],
    "small": ["mx-small", "mx-small-2025-06-12", "mx-small-latest"],
    "reason": ["mx-reason-1", "mx-reason-1-mini"],
    "code": ["mx-code-fim", "mx-code-fim-2025-09"],
    "embed": ["mx-embed-3", "mx-embed-3-small"],
}
# (ms to first token, ms per output token)
SPEED = {"large": (420, 17.0), "small": (180, 6.5), "reason": (900, 14.0), "code": (90, 4.0), "embed": (35, 0.0)}


def model_family(name):
    for fam, names in MODELS.items():
        if name in names:
            return fam
    return "large"


PY_SDK = ["1.54.0", "1.54.4", "1.55.3", "1.52.2", "1.51.2", "1.47.1", "1.45.0", "1.40.6", "1.35.13", "1.57.0"]
NODE_SDK = ["4.67.3", "4.71.1", "4.68.4", "4.56.0", "4.52.7", "4.73.0"]


def ua_python(r):
    v = r.choice(PY_SDK)
    return ("AsyncOpenAI/Python " if r.random() < 0.3 else "OpenAI/Python ") + v


def ua_node(r):
    return "OpenAI/JS " + r.choice(NODE_SDK)


def ua_misc(r):
    return r.choice([
        "python-requests/2.32.3", "python-requests/2.31.0", "python-httpx/0.27.2", "python-httpx/0.28.1",
        "aiohttp/3.10.10", "axios/1.7.7", "axios/1.6.8", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "Go-http-client/2.0", "Go-http-client/1.1", "okhttp/4.12.0", "Java-http-client/21.0.4",
        "Apache-HttpClient/5.3.1 (Java/17.0.12)", "RestSharp/112.1.0.0", "Faraday v2.12.0", "Ruby",
        "Dart/3.5 (dart:io)", "reqwest/0.12.9",
    ])


def ua_framework(r):
    return r.choice([
        "langchain-openai/0.2.9 OpenAI/Python 1.54.4", "litellm/1.52.0", "litellm/1.48.2",
        "llama-index/0.11.23 OpenAI/Python 1.54.0", "OpenAI/Python 1.55.3 instructor/1.6.4",
        "haystack/2.7.0 OpenAI/Python 1.54.4", "semantic-kernel-python/1.14.0", "Microsoft-SemanticKernel/1.29.0",
        "spring-ai/1.0.0-M3", "vercel-ai-sdk/3.4.33", "OpenAI/JS 4.71.1 langchainjs/0.3.6",
    ])


def ua_chatapp(r):
    return r.choice([
        "ChatBox/1.6.2 (Electron)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) typingdesk/2.1.0 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36",
        "okhttp/4.12.0", "Raycast/1.86.1 (macOS 15.1)", "obsidian-copilot/2.7.3", "Alfred-Workflow/2.4",
        "BetterChatGPT/1.0", "NextChat/2.15.6", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "LibreChat/0.7.5", "open-webui/0.4.6", "Jan/0.5.9", "msty/1.4.0", "OpenAI/Python 1.54.4", "OpenAI/JS 4.71.1",
    ])


def ua_curl(r):
    return r.choice(["curl/8.5.0", "curl/7.81.0", "curl/8.7.1", "curl/8.10.1", "PostmanRuntime/7.42.0",
                     "insomnia/10.1.1", "HTTPie/3.2.4", "Thunder Client (https://www.thunderclient.com)"])


def ua_ide(r):
    return r.choice(["vscode-codeassist/1.9.2 node/20.18.0", "jetbrains-codeassist/1.9.0 (IntelliJ IDEA 2024.3)",
                     "vscode-codeassist/1.8.7 node/20.14.0", "nvim-codeassist/0.6.1", "jetbrains-codeassist/1.9.0 (PyCharm 2024.2.4)"])


# ------------------------------------------------------------------ addresses
CLOUD_PREFIXES = ["3.{}", "18.{}", "34.{}", "35.{}", "52.{}", "54.{}", "13.{}", "20.{}", "40.{}", "44.{}",
                  "104.196", "130.211", "146.148", "51.{}", "172.{}"]
GH_ACTIONS = ["20.{}", "40.{}", "52.{}", "13.{}", "4.{}", "172.{}"]
RESI_FIRST = [24, 47, 50, 67, 68, 71, 73, 75, 76, 82, 83, 86, 87, 90, 91, 92, 93, 95, 98, 99, 109, 112, 114,
              116, 118, 121, 124, 125, 151, 176, 177, 179, 181, 186, 187, 189, 190, 191, 200, 201, 2, 5, 31,
              37, 39, 41, 62, 78, 79, 80, 81, 84, 85, 88, 89, 94, 101, 102, 103, 105, 106, 110, 111, 113, 117,
              119, 120, 122, 123, 175, 180, 182, 183, 197, 210, 211, 218, 219, 220, 221, 222, 223]
VPS_FIRST = ["45.{}", "64.{}", "66.{}", "104.{}", "138.{}", "139.{}", "142.{}", "143.{}", "146.{}", "157.{}",
             "159.{}", "161.{}", "164.{}", "165.{}", "167.{}", "178.{}", "185.{}", "188.{}", "192.{}", "193.{}",
             "194.{}", "195.{}", "198.{}", "206.{}", "209.{}", "5.{}", "51.{}", "91.{}", "95.{}", "141.{}"]


def _pref(r, pat):
    if "{}" not in pat:
        return pat
    while True:
        second = r.randrange(1, 255)
        if not ((pat.startswith("172.") and 16 <= second <= 31) or (pat.startswith("192.") and second == 168)):
            return pat.format(second)


def block24(r, pats):
    return "%s.%d" % (_pref(r, r.choice(pats)), r.randrange(0, 256))


def ips_in(r, blk, k):
    return ["%s.%d" % (blk, r.randrange(2, 254)) for _ in range(k)]


def resi_ip(r):
    if r.random() < 0.12:
        return "2a02:%x:%x:%x::%x" % (r.randrange(0x1000, 0xffff), r.randrange(0, 0xffff), r.randrange(0, 0xffff), r.randrange(1, 0xfff))
    return "%d.%d.%d.%d" % (r.choice(RESI_FIRST), r.randrange(0, 256), r.randrange(0, 256), r.randrange(1, 255))


def vps_ip(r):
    return "%s.%d.%d" % (_pref(r, r.choice(VPS_FIRST)), r.randrange(0, 256), r.randrange(1, 255))


def cloud_ips(r, k):
    blk = block24(r, CLOUD_PREFIXES)
    out = ips_in(r, blk, k)
    if k > 2 and r.random() < 0.5:
        out += ips_in(r, block24(r, CLOUD_PREFIXES), max(1, k // 2))
    return out


# ------------------------------------------------------------------ clocks
TZS = [(-5, 18), (-8, 10), (-6, 5), (0, 7), (1, 20), (2, 5), (5.5, 8), (8, 7), (9, 5), (-3, 5), (3, 3), (10, 3), (1, 2), (7, 2)]


def pick_tz(r):
    return r.choices([t for t, _ in TZS], [w for _, w in TZS])[0]


def local_shape(pattern, h):
    if pattern == "business":
        return [0.03, 0.02, 0.02, 0.02, 0.03, 0.05, 0.15, 0.4, 0.85, 1.0, 1.0, 0.95, 0.7, 0.9, 1.0, 0.95, 0.85, 0.6, 0.35, 0.22, 0.15, 0.1, 0.07, 0.05][h]
    if pattern == "consumer":
        return [0.25, 0.12, 0.06, 0.04, 0.03, 0.04, 0.1, 0.25, 0.45, 0.6, 0.65, 0.7, 0.75, 0.7, 0.7, 0.7, 0.72, 0.75, 0.8, 0.9, 1.0, 0.95, 0.75, 0.45][h]
    if pattern == "dev":
        return [0.15, 0.08, 0.04, 0.03, 0.03, 0.05, 0.1, 0.3, 0.7, 0.95, 1.0, 0.95, 0.7, 0.85, 1.0, 0.95, 0.85, 0.65, 0.45, 0.4, 0.45, 0.45, 0.35, 0.25][h]
    if pattern == "flat":
        return 0.75 + 0.25 * math.cos((h - 14) / 24 * 2 * math.pi)
    if pattern == "night":
        return [0.6, 1.0, 1.0, 0.9, 0.6, 0.3, 0.1, 0.05, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.4][h]
    return 1.0


def weekend_factor(pattern):
    return {"business": 0.12, "consumer": 1.1, "dev": 0.35, "flat": 0.9, "night": 0.5}.get(pattern, 1.0)


class Clock:
    def __init__(self, days):
        self.days = days
        self.hours = days * 24
        self._cache = {}

    def cum(self, tz, pattern):
        key = (tz, pattern)
        if key not in self._cache:
            acc, out = 0.0, []
            for hi in range(self.hours):
                lt = hi + tz
                lh = int(lt) % 24
                dow = (3 + int(lt // 24)) % 7  # T0 is a Thursday
                w = local_shape(pattern, lh) * (weekend_factor(pattern) if dow >= 5 else 1.0)
                acc += w
                out.append(acc)
            self._cache[key] = out
        return self._cache[key]

    def sample(self, r, tz, pattern, lo=0.0, hi=None):
        """One timestamp (seconds after T0) drawn from the pattern, restricted to [lo, hi)."""
        c = self.cum(tz, pattern)
        hi = self.hours * 3600.0 if hi is None else hi
        a = c[int(lo // 3600) - 1] if lo >= 3600 else 0.0
        b = c[min(self.hours, int(math.ceil(hi / 3600))) - 1]
        for _ in range(8):
            x = a + r.random() * (b - a)
            i = bisect.bisect_left(c, x)
            t = i * 3600 + r.random() * 3600
            if lo <= t < hi:
                return t
        return lo + r.random() * (hi - lo)

    def span(self):
        return self.hours * 3600.0


# ------------------------------------------------------------------ token counting and fillers
def ntok(s):
    if not s:
        return 0
    n = len(s)
    b = len(s.encode("utf-8"))
    return max(1, int(n / 4.0 + (b - n) / 3.0 + 0.5))


FILLER = {
    "en": ["Sure, here is a concise overview.", "The key point is that the approach depends on your constraints.",
           "First, identify the inputs and expected outputs.", "In practice, most teams start with a simple baseline.",
           "This works because each step reduces the remaining uncertainty.", "Here is an example to illustrate it.",
           "Keep in mind the trade-off between cost and latency.", "If you share more details I can tailor this further.",
           "Step 1: restate the problem in your own words.", "Step 2: break it into smaller parts and solve each.",
           "The result follows directly from the previous line.", "Overall, the answer is yes, with some caveats.",
           "A common pitfall is ignoring edge cases such as empty input.", "You can verify this by checking a small example.",
           "Below is a short summary followed by the details.", "This also generalises to the multi-region case.",
           "Note that the numbers are approximate.", "Let me know if you want a shorter version."],
    "de": ["Gerne, hier ist eine kurze Übersicht.", "Der wichtigste Punkt ist Folgendes.", "Zuerst sollten Sie die Anforderungen klären.",
           "In der Praxis funktioniert das meistens gut.", "Hier ist ein Beispiel dazu.", "Beachten Sie die Fristen.",
           "Schritt 1: Verschaffen Sie sich einen Überblick.", "Schritt 2: Legen Sie Prioritäten fest.", "Melden Sie sich, wenn Sie Details brauchen."],
    "fr": ["Bien sûr, voici un aperçu.", "Le point essentiel est le suivant.", "Voici un exemple concret.",
           "En pratique, cela dépend du contexte.", "N'hésitez pas si vous avez d'autres questions."],
    "es": ["Claro, aquí tienes un resumen.", "Lo más importante es lo siguiente.", "Aquí tienes un ejemplo.",
           "En la práctica, depende del contexto.", "Avísame si necesitas más detalles."],
    "pt": ["Claro, aqui vai um resumo.", "O ponto principal é o seguinte.", "Veja um exemplo prático.", "Na prática, depende do seu objetivo.",
           "Primeiro, defina o que você quer alcançar.", "Uma alternativa é começar com algo simples.", "Se quiser, posso detalhar mais."],
    "it": ["Certo, ecco una panoramica.", "Il punto chiave è questo.", "Ecco un esempio.", "In pratica dipende dal contesto.", "Se vuoi posso approfondire."],
    "nl": ["Zeker, hier is een overzicht.", "Het belangrijkste punt is dit.", "Hier is een voorbeeld.", "In de praktijk hangt het af van de situatie.", "Laat het weten als je meer wilt weten."],
    "pl": ["Jasne, oto krótkie podsumowanie.", "Najważniejsze jest to.", "Oto przykład.", "W praktyce zależy to od sytuacji.", "Daj znać, jeśli chcesz więcej szczegółów."],
    "ja": ["はい、概要は以下の通りです。", "重要なポイントは次の通りです。", "具体例を挙げます。", "状況によって異なります。"],
    "zh": ["好的，以下是简要概述。", "关键点如下。", "举个例子。", "具体取决于您的情况。", "首先，我们需要明确问题。"],
    "ko": ["네, 간단히 정리하면 다음과 같습니다.", "핵심은 다음과 같습니다.", "예를 들어 보겠습니다.", "상황에 따라 다를 수 있습니다.", "더 궁금한 점이 있으면 말씀해 주세요."],
    "tr": ["Elbette, işte kısa bir özet.", "En önemli nokta şu.", "Bir örnek vereyim.", "Pratikte duruma göre değişir."],
    "id": ["Tentu, berikut ringkasannya.", "Poin utamanya adalah sebagai berikut.", "Contohnya seperti ini.", "Dalam praktiknya, tergantung situasi."],
    "ru": ["Конечно, вот краткий обзор.", "Главное здесь следующее.", "Вот пример.", "На практике всё зависит от контекста.", "Сначала определим исходные данные."],
}
CODE_FILLER = ["def solve(data):", "    result = []", "    for item in data:", "        if not item:", "            continue",
               "        result.append(transform(item))", "    return result", "", "# Example usage", "print(solve([1, 2, 3]))",
               "function main() {", "  const out = items.map((x) => x * 2);", "  return out;", "}"]
MAX_CONTENT_CHARS = 700


def filler(r, lang, tokens, code=False):
    bank = CODE_FILLER if code else FILLER.get(lang, FILLER["en"])
    target = min(MAX_CONTENT_CHARS, int(tokens * (1.3 if lang in ("ja", "zh", "ko") else 4.0)))
    parts, n = [], 0
    order = r.sample(bank, len(bank))  # no sentence twice in a row
    while n < target:
        s = order[len(parts) % len(order)]
        parts.append(s)
        n += len(s) + 1
    sep = "\n" if code else " "
    return sep.join(parts)[:max(target, 8)]


# ------------------------------------------------------------------ slot filling
def rand_date(r):
    return "2026-%02d-%02d" % (r.randrange(9, 13), r.randrange(1, 29))


def company(r):
    return "%s%s %s" % (r.choice(V.COMPANY_A), r.choice(V.COMPANY_B), r.choice(V.COMPANY_C))


def person(r):
    return "%s %s" % (r.choice(V.FIRST_NAMES), r.choice(V.LAST_NAMES))


SLOT_GEN = {
    "p1": person, "p2": person, "co": company, "city": lambda r: r.choice(V.CITIES),
    "date": rand_date, "n": lambda r: str(r.randrange(2, 40)), "m": lambda r: str(r.randrange(12, 990)),
    "pct": lambda r: str(r.randrange(2, 38)), "q": lambda r: str(r.randrange(1, 5)),
    "order": lambda r: "%s-%d" % (r.choice(["ORD", "SO", "A", "#"]), r.randrange(100000, 9999999)),
    "inv": lambda r: "INV-%d-%05d" % (r.randrange(2024, 2027), r.randrange(1, 99999)),
    "email": lambda r: "%s.%s@%s.com" % (r.choice(V.FIRST_NAMES).lower(), r.choice(V.LAST_NAMES).lower().replace(" ", "").replace("'", ""), r.choice(["gmail", "outlook", "proton", "yahoo", "web"])),
    "url": lambda r: "https://%s.%s/%x" % (r.choice(["bit", "tinyurl", "cutt", "promo-deal"]), r.choice(["ly", "com", "xyz"]), r.getrandbits(24)),
    "handle": lambda r: "%s%d" % (r.choice(["crypto", "deals", "seller", "fast"]), r.randrange(10, 999)),
    "proj": lambda r: r.choice(V.PROJECTS), "sector": lambda r: r.choice(V.SECTORS),
    "thing": lambda r: r.choice(V.THINGS), "thing2": lambda r: r.choice(V.THINGS),
    "country": lambda r: r.choice(V.COUNTRIES), "year": lambda r: str(r.choice([2024, 2025, 2026])),
    "cur": lambda r: r.choice(["EUR", "USD", "GBP"]), "t": lambda r: r.choice(V.CHAT_TOPICS),
    "t2": lambda r: r.choice(V.CHAT_TOPICS), "s": lambda r: r.choice(V.SIMPLE_SENTENCES),
    "adj": lambda r: r.choice(V.PRODUCT_ADJ), "prod": lambda r: r.choice(V.PRODUCTS),
    "name": lambda r: r.choice(V.FIRST_NAMES), "topic": lambda r: r.choice(V.KB_TOPICS["hr"]),
}


class Slots(dict):
    def __init__(self, r, **kw):
        super().__init__(**kw)
        self.r = r

    def __missing__(self, k):
        g = SLOT_GEN.get(k)
        v = g(self.r) if g else str(self.r.randrange(2, 50))
        self[k] = v
        return v


def fill(r, tpl, **kw):
    return tpl.format_map(Slots(r, **kw))


# ------------------------------------------------------------------ shared prompt sets
def load_data():
    out = {}
    if not os.path.isdir(DATA_DIR):
        return out
    for fn in os.listdir(DATA_DIR):
        if fn.endswith(".jsonl"):
            rows = []
            with open(os.path.join(DATA_DIR, fn), encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            rows.append(json.loads(line))
                        except ValueError:
                            pass
            out[fn[:-6]] = rows
    return out


# ------------------------------------------------------------------ accounts and records
class Account:
    def __init__(self, g, kind, campaign_id=None):
        r = g.r
        self.id = "acct_" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        self.kind = kind
        self.campaign_id = campaign_id
        self.tz = pick_tz(r)
        self.keys = ["key_" + "%08x" % r.getrandbits(32)]
        self.ua = ua_python(r)
        self.ips = [resi_ip(r)]
        self.rpm = 500
        self.retries = 2       # client retries on 429/5xx
        self.cur_key = None
        self.events = []
        self.lo = 0.0          # active window (seconds after T0)
        self.hi = g.clock.span()

    def add_keys(self, r, k):
        self.keys += ["key_" + "%08x" % r.getrandbits(32) for _ in range(k)]


def tool_call_id(r):
    return "call_" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24))


class Emitter:
    """Builds exchange records and collects them per account."""

    def __init__(self, g):
        self.g = g
        self.r = g.r

    def _latency(self, fam, out_tok, stream, n=1):
        ttft, per = SPEED[fam]
        r = self.r
        ttft *= math.exp(r.gauss(0, 0.35))
        total = ttft + out_tok / max(1, n) * per * math.exp(r.gauss(0, 0.2))
        return round(ttft, 1), round(total, 1)

    def chat(self, a, t, messages, model, out_tok=None, content=None, lang="en", ip=None, key=None, ua=None,
             params=None, tools=None, tool_calls=None, n=1, logprobs=0, code=False, reasoning=0,
             finish=None, endpoint="/v1/chat/completions"):
        r = self.r
        params = params or {}
        req = {"model": model, "messages": messages}
        req.update(params)
        defs = [tl if isinstance(tl, dict) else {"type": "function", "function": {"name": tl, "parameters": V.AGENT_TOOLS[tl]}} for tl in (tools or [])]
        if defs:
            req["tools"] = defs
        if n > 1:
            req["n"] = n
        if logprobs:
            req["logprobs"] = True
            req["top_logprobs"] = logprobs
        max_tok = params.get("max_tokens") or params.get("max_completion_tokens")
        choices, total_out = [], 0
        given = out_tok is not None
        if not given:
            out_tok = int(max(8, r.lognormvariate(math.log(220), 0.8)))
        for i in range(n):
            ot = out_tok if i == 0 else int(max(4, out_tok * r.uniform(0.6, 1.4)))
            fin = finish or "stop"
            if tool_calls and i == 0:
                msg = {"role": "assistant", "content": None, "tool_calls": tool_calls}
                fin = "tool_calls"
                ot = sum(ntok(tc["function"]["arguments"]) for tc in tool_calls) + 8
            else:
                text = content if (content is not None and i == 0) else filler(r, lang, ot, code)
                msg = {"role": "assistant", "content": text}
                if content is not None and i == 0:
                    ot = max(ntok(text), ot if given else 0)
            if max_tok and ot >= max_tok:
                ot, fin = max_tok, "length"
            ch = {"index": i, "message": msg, "finish_reason": fin}
            if logprobs:
                ch["logprobs"] = {"content": self._lp(logprobs)}
            choices.append(ch)
            total_out += ot
        ptok = sum(ntok(m.get("content") or "") + (ntok(json.dumps(m["tool_calls"])) if m.get("tool_calls") else 0) + 4 for m in messages) + 3
        ptok += sum(ntok(json.dumps(d)) for d in defs)
        fam = model_family(model)
        usage = {"prompt_tokens": ptok, "completion_tokens": total_out + reasoning, "total_tokens": ptok + total_out + reasoning}
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        if ptok > 1024 and r.random() < 0.4:
            usage["prompt_tokens_details"] = {"cached_tokens": int(ptok * r.uniform(0.3, 0.9)) // 64 * 64}
        resp = {"id": "chatcmpl-%x" % r.getrandbits(56), "object": "chat.completion", "model": model,
                "choices": choices, "usage": usage}
        ttft, lat = self._latency(fam, total_out + reasoning, params.get("stream"), n)
        return self._add(a, t, endpoint, req, resp, lat, ttft if params.get("stream") else None, ip, key, ua)

    def completion(self, a, t, prompt, model, out_tok, params=None, ip=None, key=None, ua=None, logprobs=0,
                   n=1, echo=False, code=True, lang="en"):
        r = self.r
        req = {"model": model, "prompt": prompt}
        req.update(params or {})
        if logprobs:
            req["logprobs"] = logprobs
        if n > 1:
            req["n"] = n
        if echo:
            req["echo"] = True
        choices, tot = [], 0
        for i in range(n):
            ot = out_tok if i == 0 else int(max(1, out_tok * r.uniform(0.5, 1.5)))
            fin = "length" if (req.get("max_tokens") is not None and ot >= req["max_tokens"]) else "stop"
            if req.get("max_tokens") is not None:
                ot = min(ot, req["max_tokens"])
            text = filler(r, lang, ot, code) if ot > 0 else ""
            if echo:
                text = (prompt if isinstance(prompt, str) else "") + text
            ch = {"index": i, "text": text[:MAX_CONTENT_CHARS + 400], "finish_reason": fin}
            if logprobs:
                lp = self._lp(logprobs, legacy=True)
                ch["logprobs"] = lp
            choices.append(ch)
            tot += ot
        ptok = ntok(prompt if isinstance(prompt, str) else " ".join(prompt))
        resp = {"id": "cmpl-%x" % r.getrandbits(56), "object": "text_completion", "model": model, "choices": choices,
                "usage": {"prompt_tokens": ptok, "completion_tokens": tot, "total_tokens": ptok + tot}}
        ttft, lat = self._latency(model_family(model), tot, req.get("stream"), n)
        return self._add(a, t, "/v1/completions", req, resp, lat, ttft if req.get("stream") else None, ip, key, ua)

    def embed(self, a, t, inputs, model, ip=None, key=None, ua=None):
        req = {"model": model, "input": inputs}
        if isinstance(inputs, str):
            inputs = [inputs]
        ptok = sum(ntok(x) for x in inputs)
        resp = {"object": "list", "model": model,
                "data": [{"object": "embedding", "index": i, "embedding": "<%d floats omitted>" % (3072 if "small" not in model else 1536)} for i in range(len(inputs))],
                "usage": {"prompt_tokens": ptok, "total_tokens": ptok}}
        lat = 25 + ptok * 0.05 + self.r.expovariate(1 / 30.0)
        return self._add(a, t, "/v1/embeddings", req, resp, round(lat, 1), None, ip, key, ua)

    def models(self, a, t, ip=None, key=None, ua=None):
        """GET /v1/models: clients list models at start-up; operators use it to check a key."""
        names = [m for fam in ("large", "small", "reason", "code", "embed") for m in MODELS[fam]]
        resp = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "mx"} for m in names]}
        return self._add(a, t, "/v1/models", {}, resp, round(self.r.uniform(8, 60), 1), None, ip, key, ua)

    def error(self, a, t, endpoint, req, status, code, msg, ip=None, key=None, ua=None):
        ev = self._add(a, t, endpoint, req, None, round(self.r.uniform(4, 40), 1), None, ip, key, ua)
        ev["status"] = status
        ev["error"] = {"type": code, "message": msg}
        ev.pop("response", None)
        ev["_noretry"] = True
        return ev

    def _lp(self, k, legacy=False):
        r = self.r
        words = ["The", " answer", " is", ",", " a", " of", " to", " in", " and", "\n", " def", "(", ")", ":"]
        toks = [r.choice(words) for _ in range(4)]
        if legacy:
            return {"tokens": toks, "token_logprobs": [round(-r.expovariate(2), 4) for _ in toks],
                    "top_logprobs": [{w: round(-r.expovariate(1), 3) for w in r.sample(words, min(k, 5))} for _ in toks]}
        return [{"token": w, "logprob": round(-r.expovariate(2), 4),
                 "top_logprobs": [{"token": x, "logprob": round(-r.expovariate(0.7), 3)} for x in r.sample(words, min(k, 5))]}
                for w in toks]

    def _add(self, a, t, endpoint, req, resp, lat, ttft, ip, key, ua):
        r = self.r
        t += r.random() * 0.02  # concurrent calls never land on exactly the same millisecond
        if key is None:
            if a.cur_key is None or r.random() < 0.04:  # a main key and side keys, used in runs (jobs, services)
                a.cur_key = 0 if len(a.keys) == 1 else min(len(a.keys) - 1, int(r.paretovariate(1.2)) - 1)
            ki = a.cur_key
            key = a.keys[ki]
        else:
            ki = a.keys.index(key) if key in a.keys else 0
        if ip is None:
            # each key (service / environment) mostly egresses through its own part of the account's addresses
            ip = a.ips[(ki * 2 + r.randrange(2)) % len(a.ips)] if r.random() < 0.85 else r.choice(a.ips)
        ev = {"_t": t, "account": a.id, "key_id": key,
              "ip": ip, "user_agent": ua or a.ua, "endpoint": endpoint, "request": req,
              "response": resp, "status": 200, "latency_ms": lat}
        if ttft is not None:
            ev["ttft_ms"] = ttft
        a.events.append(ev)
        return ev


def apply_limits(g, a):
    """Sliding one-minute request limit per account; 429s are retried by SDK-style clients."""
    r = g.r
    evs = a.events
    heap = [(ev["_t"], i, 0, ev) for i, ev in enumerate(evs)]
    heapq.heapify(heap)
    out, window, seq = [], deque(), len(evs)
    while heap:
        t, _, attempt, ev = heapq.heappop(heap)
        ev["_t"] = t
        while window and window[0] <= t - 60:
            window.popleft()
        limited = len(window) >= a.rpm and not ev.get("_noretry")
        server_err = (not limited) and ev.get("status") == 200 and r.random() < 0.0015
        if limited or server_err:
            rej = {k: v for k, v in ev.items() if k not in ("response", "ttft_ms")}
            if limited:
                rej.update(status=429, latency_ms=round(r.uniform(3, 25), 1),
                           error={"type": "rate_limit_exceeded", "message": "Rate limit reached for requests per minute (limit %d). Please retry after a short wait." % a.rpm})
            else:
                rej.update(status=r.choice([500, 502, 503]), latency_ms=round(r.uniform(50, 30000), 1),
                           error={"type": "server_error", "message": "The server had an error while processing your request."})
            out.append(rej)
            if attempt < a.retries:
                back = (0.5 * 2 ** attempt + r.random()) if a.retries <= 3 else r.uniform(5, 40)
                if limited and r.random() < 0.5:
                    back += r.uniform(1, 20)
                seq += 1
                heapq.heappush(heap, (t + back, seq, attempt + 1, ev))
            continue
        window.append(t)
        out.append(ev)
    a.events = out


def finalize(records_by_acct, out_path):
    allrec = []
    for evs in records_by_acct:
        allrec.extend(evs)
    allrec.sort(key=lambda e: e["_t"])
    ids = set()
    rnd = random.Random(len(allrec))
    with open(out_path, "w", encoding="utf-8") as f:
        for ev in allrec:
            t = T0 + ev.pop("_t")
            ev.pop("_noretry", None)
            ms = int((t - int(t)) * 1000)
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % ms
            while True:
                eid = "ex_%016x" % rnd.getrandbits(64)
                if eid not in ids:
                    ids.add(eid)
                    break
            rec = {"id": eid, "ts": ts}
            rec.update(ev)
            if rec.get("response") is None:
                rec.pop("response", None)
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(allrec)
