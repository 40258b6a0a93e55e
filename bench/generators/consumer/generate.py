#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Labelled traffic generator: a consumer + developer API platform with a free tier.

generate.py --out DIR --seed N --scale S
Writes DIR/exchanges.jsonl (sorted by ts), DIR/labels.jsonl, DIR/README.md.
"""
import argparse
import json
import math
import os
import random
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import content as C  # noqa: E402
import engine as E  # noqa: E402
from engine import Account, T0, T_END, fill, human_gap, sample_time, target_tokens  # noqa: E402

DATA_DIR = os.environ.get("PROMPT_DATA_DIR", "/work/shared/data")


# ====================================================================== prompt pools
class Pools:
    def __init__(self, rng):
        def load(name):
            path = os.path.join(DATA_DIR, name)
            rows = []
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        line = line.strip()
                        if line:
                            rows.append(json.loads(line))
            return rows

        self.gsm = [(r["prompt"], r.get("response")) for r in load("gsm8k_train.jsonl")]
        self.arena = [r["prompt"] for r in load("arena_hard_v0.1.jsonl")]
        self.ae = [(r["prompt"], r.get("response")) for r in load("alpaca_eval_users.jsonl")]
        self.codegen = [(r["prompt"], r.get("response")) for r in load("gpteacher_codegen.jsonl")]
        self.roleplay = [(r["prompt"], r.get("response")) for r in load("gpteacher_roleplay.jsonl")]
        self.seed = [(r["prompt"], r.get("response")) for r in load("alpaca_seed_tasks.jsonl")]
        self.share = []
        for r in load("sharegpt_dev.jsonl"):
            turns = r.get("turns") or []
            users = [t["content"] for t in turns if t.get("role") == "user" and t.get("content")]
            if not users:
                users = [r["prompt"]]
            self.share.append(users[:8])
        for lst in (self.gsm, self.arena, self.ae, self.codegen, self.roleplay, self.seed, self.share):
            rng.shuffle(lst)
        code_words = ("code", "function", "python", "script", "program", "sql", "javascript", "c++", "rust", "implement")
        self.arena_code = [p for p in self.arena if any(w in p.lower() for w in code_words)]
        self.arena_other = [p for p in self.arena if p not in set(self.arena_code)]


def math_question(rng):
    r1, r2 = rng.randint(-9, 12), rng.randint(1, 15)
    a = rng.randint(2, 60)
    k = rng.randint(2, 9)
    slots = {"a": a, "b": rng.randint(2, 90), "c": rng.randint(2, 40), "d": rng.randint(1, 30), "n": rng.randint(2, 9),
             "m": rng.randint(2, 6), "p": rng.choice([5, 10, 12, 15, 20, 25, 30, 40]), "q": rng.choice([5, 10, 20, 25]),
             "big": rng.choice([20, 50, 100, 120, 250, 480, 1000, 1200, 5000]), "per": 2 * rng.randint(12, 80),
             "s": r1 + r2, "pr": r1 * r2, "a2": a + k, "a3": a + 2 * k}
    return fill(rng, rng.choice(C.MATH_TEMPLATES), slots)


def logic_question(rng):
    names = rng.sample(C.NAMES, 5)
    a = rng.randint(1, 6)
    kind = rng.randint(0, 2)
    seq = [a * i * i + i for i in range(1, 5)] if kind == 0 else ([a * 2 ** i for i in range(4)] if kind == 1 else [a + i * (i + 1) // 2 for i in range(4)])
    slots = {"p1": names[0], "p2": names[1], "p3": names[2], "p4": names[3], "p5": names[4], "a": seq[0], "a2": seq[1],
             "a3": seq[2], "a4": seq[3], "n": rng.randint(5, 30), "m2": rng.choice(["00", "15", "20", "40", "45"])}
    return fill(rng, rng.choice(C.LOGIC_TEMPLATES), slots)


def code_task(rng, lang=None):
    return "Write a %s function that %s." % (lang or rng.choice(C.CODE_LANGS), rng.choice(C.CODE_TASKS))


def coder_question(rng):
    lang = rng.choice(C.CODE_LANGS)
    slots = dict(C.CODER_SLOTS)
    slots.update({"lang": lang, "lang2": rng.choice(C.CODE_LANGS), "lang_l": lang.lower(), "snip": C.SNIPPETS,
                  "task": C.CODE_TASKS})
    return fill(rng, rng.choice(C.CODER_QUESTIONS), slots), lang


ALL_SLOTS = {}
for d in (C.SLOTS, C.ESSAY_SLOTS, C.WRITER_SLOTS):
    for k, v in d.items():
        ALL_SLOTS.setdefault(k, v)


def casual_prompt(rng, lang):
    return fill(rng, rng.choice(C.CASUAL.get(lang, C.CASUAL["en"])), C.SLOTS)


def casual_opening(rng, lang):
    """A casual first message plus the slot values it used (for follow-ups that refer back to it)."""
    template = rng.choice(C.CASUAL.get(lang, C.CASUAL["en"]))
    chosen = {k: rng.choice(C.SLOTS[k]) for k in E.SLOT_RE.findall(template) if k in C.SLOTS}
    return fill(rng, template, {k: [v] for k, v in chosen.items()}), chosen


def context_followup(rng, lang, chosen):
    ctx_templates = C.FOLLOWUPS_CTX.get(lang, {})
    keys = [k for k in chosen if k in ctx_templates]
    if keys and rng.random() < 0.55:
        k = rng.choice(keys)
        return fill(rng, rng.choice(ctx_templates[k]), {k: [chosen[k]]})
    return followup(rng, lang)


def followup(rng, lang):
    return fill(rng, rng.choice(C.FOLLOWUPS.get(lang, C.FOLLOWUPS["en"])), C.SLOTS)


def essay_prompt(rng):
    return fill(rng, rng.choice(C.ESSAY_TASKS), C.ESSAY_SLOTS, {"n": [250, 300, 500, 800, 1000], "n2": [3, 5, 7, 10, 14]})


def simple_task(rng):
    return fill(rng, "{v} {o} {t}.", {"v": C.INSTR_VERBS, "o": C.INSTR_OBJECTS, "t": C.INSTR_TOPICS})


def translation_sentence(rng):
    return "%s %s %s." % (rng.choice(C.TRANSLATION_SUBJECTS), rng.choice(C.TRANSLATION_VERBS), rng.choice(C.TRANSLATION_CLAUSES))


def lognorm_int(rng, median, sigma, lo=1, hi=10 ** 7):
    return int(min(hi, max(lo, round(rng.lognormvariate(math.log(median), sigma)))))


def pick_lang(rng, weights):
    r = rng.random() * sum(weights.values())
    for k, w in weights.items():
        r -= w
        if r <= 0:
            return k
    return "en"


LANG_WEIGHTS = {"en": 45, "es": 8, "pt": 6, "fr": 4, "de": 4, "it": 2, "ru": 3, "zh": 3, "ja": 3, "ko": 2, "hi": 2,
                "ar": 2, "id": 3, "tr": 2, "vi": 2, "pl": 1, "nl": 1, "uk": 1}


def geo(rng, lang):
    country, tz = rng.choice(C.LANG_GEO.get(lang, C.LANG_GEO["en"]))
    return country, tz


# ====================================================================== context
class Ctx:
    def __init__(self, seed, scale):
        self.rng = random.Random(seed)
        self.scale = scale
        self.P = Pools(self.rng)
        self.world = E.World(self.rng)
        self.bank = E.TextBank(self.rng)
        self.gw = E.Gateway(self.rng, self.bank)
        self.homes = {}

    def vol(self, base):
        """Per-account campaign volume: shrinks a little at small scales."""
        return max(5, int(base * min(1.0, max(0.35, self.scale ** 0.5))))

    def n(self, base, minimum=1):
        return max(minimum, int(round(base * self.scale)))

    def human(self, kind, lang=None, ua_pool=None, tier="free", retry="human", campus=False, campaign_id=None):
        rng = self.rng
        lang = lang or pick_lang(rng, LANG_WEIGHTS)
        country, tz = geo(rng, lang)
        camp = None
        if campus is not False and campus is not None:
            ci = campus if campus is not True else rng.randrange(len(self.world.campus))
            camp = self.world.campus[ci]
            tz = self.world.campus_tz[ci]
        ua = rng.choice(ua_pool or C.UA_BROWSER)
        a = self.gw.add(Account(rng, kind, campaign_id, tier, tz, lang, country, ua, retry,
                                n_keys=1 if rng.random() < 0.85 else 2))
        a.net = E.HumanNet(rng, self.world, country, camp)
        homes = self.homes.setdefault(country, [])
        if campaign_id is None and homes and rng.random() < 0.06:   # household / flatmates: another account at the same home
            a.net.home[0] = rng.choice(homes)
        homes.append(a.net.home[0])
        if campaign_id is None and rng.random() < 0.1:   # signed up during the window
            a.extra["signup"] = rng.uniform(T0, T_END - 6 * 3600)
        if rng.random() < 0.2:   # same person, a second client (script, app or another browser)
            a.extra["ua2"] = rng.choice(C.UA_SDK_PY + C.UA_BROWSER + C.UA_TOOLS + C.UA_HTTP[:4])
            a.extra["ua2_phase"] = rng.randrange(3)
        if len(a.keys) > 1:
            a.extra["key_switch"] = rng.uniform(T0, T_END)
        return a

    def server(self, kind, lang="en", ua=None, tier="tier1", retry="sdk", serverless=False, campaign_id=None, tz=None,
               n_ips=None):
        rng = self.rng
        country, tz0 = geo(rng, lang)
        a = self.gw.add(Account(rng, kind, campaign_id, tier, tz if tz is not None else tz0, lang, country,
                                ua or rng.choice(C.UA_SDK_PY + C.UA_SDK_JS + C.UA_HTTP), retry,
                                n_keys=rng.choice([1, 1, 1, 2, 3])))
        if serverless:
            a.extra["serverless"] = True
        a.ips = [E.cloud_ip(rng) for _ in range(n_ips or rng.choice([1, 1, 1, 2, 3]))]
        return a

    def server_ip(self, a):
        if a.extra.get("serverless"):
            return E.cloud_ip(self.rng, E.SERVERLESS_PREFIXES)
        return self.rng.choice(a.ips)


def params_human(rng, ua, model=None):
    """What a chat UI / casual script sends: often only defaults."""
    p = {}
    if "Mozilla" in ua or rng.random() < 0.4:
        p["stream"] = True
    if rng.random() < 0.45:
        p["temperature"] = rng.choice([0.7, 0.7, 1.0, 0.5, 0.8, 1.0, 0.2])
    if rng.random() < 0.35:
        p["max_tokens"] = rng.choice([256, 512, 1024, 2048, 4096])
    return p


PREFIXES = {"en": ["quick question: ", "ok so ", "hey, ", "hi! ", "need help: ", "Question - ", "pls help ", "so basically "],
            "es": ["hola, ", "oye ", "una pregunta: "], "pt": ["oi, ", "então, ", "pergunta: "], "fr": ["salut, ", "question : "],
            "de": ["hallo, ", "kurze Frage: "], "ru": ["привет, ", "вопрос: "]}
SUFFIXES = {"en": [" thanks", " pls", " thx!", " (for work)", " asap", " :)", " - for a school project", " in simple terms",
                   " keep it short", "??"],
            "es": [" gracias", " porfa"], "pt": [" obrigado", " pfv"], "fr": [" merci"], "de": [" danke"], "ru": [" спасибо"]}


def humanize(rng, s, lang):
    """Small personal variations people add when typing the same kind of request."""
    if len(s) > 600 or rng.random() < 0.3:
        return s
    if rng.random() < 0.25 and lang in PREFIXES:
        s = rng.choice(PREFIXES[lang]) + (s[0].lower() + s[1:] if s[:1].isupper() and not s[:2].isupper() else s)
    if rng.random() < 0.3 and lang in SUFFIXES:
        s = s.rstrip(".") + rng.choice(SUFFIXES[lang])
    if rng.random() < 0.25:
        s = s.lower()
    if rng.random() < 0.2 and s[-1:] in ".?":
        s = s[:-1]
    if rng.random() < 0.15 and len(s) > 12:
        i = rng.randrange(3, len(s) - 3)
        if s[i].isalpha() and s[i + 1].isalpha():
            s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s


def converse(ctx, acct, t, ip, first, n_turns, *, model, params, style="prose", med=300, system=None, lang=None,
             follow=None, key=None, given=None, hint="", regen=0.03, vary=True):
    """A human multi-turn session. Returns the time the session ended."""
    rng = ctx.rng
    if vary:
        first = humanize(rng, first, lang or acct.lang)
    msgs = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": first})
    for i in range(n_turns):
        tok = target_tokens(rng, med)
        text, msg = ctx.gw.chat(acct, t, list(msgs), model=model, ip=ip, key=key, style=style, lang=lang, tokens=tok,
                                given=given if i == 0 else None, hint=hint, params=params)
        if rng.random() < regen:   # "regenerate response" button
            t += rng.uniform(3, 40)
            text, msg = ctx.gw.chat(acct, t, list(msgs), model=model, ip=ip, key=key, style=style, lang=lang,
                                    tokens=target_tokens(rng, med), hint=hint, params=params)
        if i == n_turns - 1:
            break
        nxt = follow(i) if follow else followup(rng, lang or acct.lang)
        if nxt == msgs[-1]["content"]:   # people rarely send the exact same follow-up twice in a row
            nxt = follow(i) if follow else followup(rng, lang or acct.lang)
        msgs.append(msg)
        msgs.append({"role": "user", "content": nxt})
        t += human_gap(rng, tok, len(nxt))
    return t


def sessions(ctx, acct, n, hours=E.HOUR_HUMAN, weekend=1.0, lo=T0, hi=T_END):
    rng = ctx.rng
    lo = max(lo, acct.extra.get("signup", lo))
    if lo >= hi - 600:
        lo = hi - 3600
    times = sorted(sample_time(rng, acct.tz, lo, hi, hours, weekend) for _ in range(n))
    return times


# ====================================================================== benign kinds
CAMPUS_LANG = ["en", "en", "en", "de", "en", "pt", "en", "es", "fr", "ko"]


def make_classes(ctx):
    """Courses whose students get the same problem set and deadline."""
    rng, P = ctx.rng, ctx.P
    classes = []
    for _ in range(ctx.n(10)):
        ci = rng.randrange(len(ctx.world.campus))
        probs = [rng.choice(P.gsm)[0] if P.gsm and rng.random() < 0.3 else math_question(rng) for _ in range(rng.randint(6, 14))]
        if rng.random() < 0.3:
            probs = [essay_prompt(rng) for _ in range(rng.randint(1, 3))]
        deadline = rng.uniform(T0 + 1.5 * 86400, T_END - 3600)
        classes.append((ci, probs, deadline))
    return classes


def class_homework(ctx, a, cls, model, params):
    rng = ctx.rng
    ci, probs, deadline = cls
    t = sample_time(rng, a.tz, deadline - 40 * 3600, deadline - 600, E.HOUR_STUDENT)
    ip = a.net.pick(rng, t, a.tz)
    wraps = C.STUDENT_WRAP.get(a.lang, C.STUDENT_WRAP["en"])
    for q in rng.sample(probs, rng.randint(1, len(probs))):
        first = fill(rng, rng.choice(wraps), {"q": q, "wrong": rng.randint(2, 400)}) if rng.random() < 0.7 else q
        t = converse(ctx, a, t, ip, first, lognorm_int(rng, 1.4, 0.5, 1, 5), model=model, params=params, style="steps",
                     med=280, lang=a.lang)
        t += rng.uniform(60, 900)


def k_student(ctx, n):
    rng, P = ctx.rng, ctx.P
    classes = make_classes(ctx)
    for _ in range(n):
        lang = pick_lang(rng, {"en": 55, "es": 8, "pt": 6, "fr": 4, "de": 4, "ru": 3, "zh": 3, "ja": 1, "ko": 2, "hi": 4,
                               "id": 3, "vi": 3, "tr": 3})
        cls = rng.choice(classes) if rng.random() < 0.3 else None
        if cls:
            lang = CAMPUS_LANG[cls[0]] if rng.random() < 0.85 else lang
        a = ctx.human("student", lang, C.UA_BROWSER * 3 + C.UA_TOOLS[4:6] + C.UA_SDK_PY[:3],
                      campus=cls[0] if cls else rng.random() < 0.1)
        model = rng.choice(["aurora-2-mini", "aurora-2-mini", "aurora-2", "aurora-2-reasoning"])
        if cls:
            class_homework(ctx, a, cls, model, params_human(rng, a.ua))
        for t in sessions(ctx, a, lognorm_int(rng, 4, 0.8, 1, 40), E.HOUR_STUDENT, 0.8):
            ip = a.net.pick(rng, t, a.tz)
            params = params_human(rng, a.ua)
            r = rng.random()
            wraps = C.STUDENT_WRAP.get(lang, C.STUDENT_WRAP["en"])
            if r < 0.5:   # a homework sheet: several problems in a row
                for _k in range(lognorm_int(rng, 2, 0.6, 1, 10)):
                    if rng.random() < 0.25 and P.gsm:
                        q, ans = rng.choice(P.gsm)
                    else:
                        q = math_question(rng) if rng.random() < 0.8 else logic_question(rng)
                    first = fill(rng, rng.choice(wraps), {"q": q, "wrong": rng.randint(2, 400)})
                    fl = lambda i: rng.choice(["why did you {x} in step {k}?", "so the answer is {v}?", "can you check my answer: {v}",
                                               "i still dont get it", "ok next one", "is there an easier way?"]).replace(
                        "{x}", rng.choice(["divide by 2", "subtract", "multiply both sides", "use that formula"])).replace(
                        "{k}", str(rng.randint(2, 4))).replace("{v}", str(rng.randint(2, 300)))
                    t = converse(ctx, a, t, ip, first, lognorm_int(rng, 1.6, 0.6, 1, 6), model=model, params=params,
                                 style="steps", med=280, follow=fl, lang=lang)
                    t += rng.uniform(30, 600)
            elif r < 0.85:
                first = essay_prompt(rng) if lang == "en" or rng.random() < 0.5 else casual_prompt(rng, lang)
                converse(ctx, a, t, ip, first, lognorm_int(rng, 2.5, 0.7, 1, 14), model=model, params=params, med=350, lang=lang)
            else:
                q, resp = rng.choice(P.ae) if P.ae else (essay_prompt(rng), None)
                converse(ctx, a, t, ip, q, lognorm_int(rng, 1.5, 0.6, 1, 6), model=model, params=params, given=resp, lang="en")


CODER_TOOL_SYSTEM = ("You are an expert software engineer working inside the user's editor. You can read the open files "
                     "provided in <context> tags. Prefer minimal diffs. Use fenced code blocks with the language name. "
                     "Never invent APIs. If unsure, ask a clarifying question.")


def k_coder(ctx, n):
    rng, P = ctx.rng, ctx.P
    for _ in range(n):
        lang = pick_lang(rng, {"en": 70, "es": 4, "pt": 5, "de": 4, "fr": 3, "ru": 4, "zh": 4, "ja": 2, "ko": 2, "tr": 2})
        a = ctx.human("hobbyist_coder", lang, C.UA_TOOLS[:4] * 2 + C.UA_SDK_PY + C.UA_SDK_JS + C.UA_BROWSER[:4] + C.UA_HTTP[:3],
                      retry=rng.choice(["sdk", "human"]))
        tooly = any(x in a.ua for x in ("Continue", "Cline", "aider"))
        model = rng.choice(["aurora-2", "aurora-2", "aurora-2-mini", "aurora-2-reasoning"])
        for t in sessions(ctx, a, lognorm_int(rng, 5, 0.9, 1, 60), E.HOUR_HUMAN, 1.2):
            ip = a.net.pick(rng, t, a.tz)
            params = params_human(rng, a.ua)
            if tooly:
                params = {"stream": True, "temperature": 0.0 if "aider" in a.ua else 0.2}
            r = rng.random()
            if r < 0.6:
                q, clang = coder_question(rng)
            elif r < 0.78 and P.codegen:
                q, clang = rng.choice(P.codegen)[0], "python"
            elif r < 0.9 and P.arena_code:
                q, clang = rng.choice(P.arena_code), "python"
            else:
                q, clang = code_task(rng), "python"
            system = CODER_TOOL_SYSTEM if tooly else (None if rng.random() < 0.7 else "You are a helpful coding assistant.")
            if tooly:
                q = "<context>\n%s\n</context>\n\n%s" % (ctx.bank.code_block(rng, lognorm_int(rng, 250, 0.8, 50, 4000)), q)

            def fl(i, clang=clang):
                return rng.choice([
                    "still getting an error:\n```\n%s\n```" % rng.choice(C.CODER_SLOTS["err"]),
                    "that worked, thanks! now how do I %s?" % rng.choice(C.CODER_SLOTS["howto"]),
                    "can you add type hints and comments", "why is this faster than my version?",
                    "here's my updated code:\n```\n%s\n```\nis this right?" % rng.choice(C.SNIPPETS),
                    "it works but it's slow for 1M rows", "can you write tests for it", "explain line 3"])
            converse(ctx, a, t, ip, q, lognorm_int(rng, 2.5, 0.8, 1, 20), model=model, params=params, style="code",
                     med=380, system=system, follow=fl, hint=clang, lang="en")


def k_power_user(ctx, n):
    """Heavy individual users (freelancers, analysts) who use the API all day through a chat client, on every topic."""
    rng, P = ctx.rng, ctx.P
    for _ in range(n):
        a = ctx.human("power_user", pick_lang(rng, {"en": 70, "de": 5, "es": 5, "pt": 5, "fr": 5, "ru": 5, "ja": 5}),
                      C.UA_TOOLS[4:] + C.UA_BROWSER[:3], tier=rng.choice(["free", "tier1", "tier1"]), retry="human")
        model = rng.choice(["aurora-2", "aurora-2-reasoning"])
        for t in sessions(ctx, a, lognorm_int(rng, 22, 0.5, 8, 70), E.HOUR_HUMAN, 0.8):
            ip = a.net.pick(rng, t, a.tz)
            params = params_human(rng, a.ua)
            for _k in range(lognorm_int(rng, 2, 0.6, 1, 8)):
                x = rng.random()
                if x < 0.25:
                    q, lang_c = coder_question(rng)
                    style, lang = "code", "en"
                elif x < 0.4:
                    q, style, lang = (math_question(rng) if rng.random() < 0.7 else logic_question(rng)), "steps", "en"
                elif x < 0.55 and P.arena:
                    q, style, lang = rng.choice(P.arena), "prose", "en"
                elif x < 0.7 and P.ae:
                    q, style, lang = rng.choice(P.ae)[0], "prose", "en"
                elif x < 0.8:
                    q, style, lang = casual_prompt(rng, a.lang), "prose", a.lang
                elif x < 0.85:
                    q, style, lang = simple_task(rng), "prose", "en"
                else:
                    q, style, lang = essay_prompt(rng), "prose", "en"
                t = converse(ctx, a, t, ip, q, lognorm_int(rng, 2.2, 0.7, 1, 15), model=model, params=params, style=style,
                             med=400, lang=lang)
                t += rng.lognormvariate(math.log(120), 1.0)


AUTOCOMPLETE_UAS = ["Continue/0.9.228 (vscode)", "twinny/3.17.20", "llm-vscode/0.2.2", "Tabby/0.18.0", "llama.vim/0.1"]


def k_autocomplete(ctx, n):
    """Editor autocomplete: fill-in-the-middle /v1/completions on every typing pause, short outputs, bursts."""
    rng = ctx.rng
    for _ in range(n):
        a = ctx.human("code_autocomplete_user", "en", AUTOCOMPLETE_UAS, retry="none")
        for t in sessions(ctx, a, lognorm_int(rng, 5, 0.7, 1, 25), E.HOUR_HUMAN, 0.8):
            ip = a.net.pick(rng, t, a.tz)
            code = ctx.bank.code_raw(rng, lognorm_int(rng, 400, 0.6, 60, 3000))
            cut = rng.randrange(len(code) // 3, len(code))
            for _k in range(lognorm_int(rng, 40, 0.8, 3, 400)):
                cut = min(len(code) - 1, cut + rng.randint(0, 60))
                ctx.gw.completion(a, t, code[max(0, cut - 3000):cut], model="aurora-2-mini", ip=ip, style="code_fim",
                                  tokens=target_tokens(rng, 25, 0.8, 1, 128),
                                  params={"suffix": code[cut:cut + 1500], "max_tokens": rng.choice([64, 128]), "temperature": 0.2,
                                          "stop": ["\n\n", "```"], "stream": True})
                t += rng.lognormvariate(math.log(6), 0.9)


def k_writer(ctx, n):
    rng = ctx.rng
    for _ in range(n):
        lang = pick_lang(rng, {"en": 70, "es": 6, "fr": 5, "de": 5, "pt": 4, "it": 3, "ja": 3, "ru": 2, "pl": 2})
        a = ctx.human("writer", lang, C.UA_BROWSER * 2 + C.UA_TOOLS[4:8] + C.UA_SDK_PY[:2])
        for t in sessions(ctx, a, lognorm_int(rng, 3, 0.8, 1, 25), E.HOUR_HUMAN, 1.3):
            ip = a.net.pick(rng, t, a.tz)
            params = params_human(rng, a.ua)
            params["temperature"] = rng.choice([0.9, 1.0, 1.1, 1.2, 0.8])
            first = fill(rng, rng.choice(C.WRITER_TASKS), C.WRITER_SLOTS, {"n": [300, 500, 800, 1200, 2000], "n2": [5, 8, 10]})
            if "SillyTavern" in a.ua and ctx.P.roleplay:
                first = rng.choice(ctx.P.roleplay)[0]
            fl = lambda i: rng.choice(["make it darker", "continue", "shorter please", "more dialogue", "change the ending",
                                       "rewrite in first person", "I love it. continue from where you stopped",
                                       "give the villain more motivation", "make it rhyme better"])
            converse(ctx, a, t, ip, first, lognorm_int(rng, 3, 0.8, 1, 25), model=rng.choice(["aurora-2", "aurora-2-mini"]),
                     params=params, med=550, follow=fl, lang="en")


def k_chat(ctx, n):
    rng, P = ctx.rng, ctx.P
    for _ in range(n):
        a = ctx.human("casual_chat", None, C.UA_BROWSER * 3 + C.UA_TOOLS[4:] + C.UA_SDK_PY[:2] + ["okhttp/4.12.0", "Dart/3.5 (dart:io)"])
        lang = a.lang
        model = rng.choice(["aurora-2-mini", "aurora-2-mini", "aurora-2"])
        for t in sessions(ctx, a, lognorm_int(rng, 3, 0.9, 1, 40), E.HOUR_HUMAN, 1.3):
            ip = a.net.pick(rng, t, a.tz)
            params = params_human(rng, a.ua)
            r = rng.random()
            if rng.random() < 0.04:   # something going around social media this week
                converse(ctx, a, t, ip, rng.choice(TRENDING), lognorm_int(rng, 1.5, 0.6, 1, 6), model=model, params=params,
                         med=150, lang=lang)
            elif lang == "en" and r < 0.06:   # short one-off tasks people type
                converse(ctx, a, t, ip, simple_task(rng), lognorm_int(rng, 1.5, 0.6, 1, 5), model=model, params=params,
                         med=200, lang="en")
            elif r < 0.09:   # translate a sentence for someone
                converse(ctx, a, t, ip, "translate to %s: %s" % (C.LANG_NAMES[rng.choice(["es", "fr", "de", "it", "ja", "pt", "ko"])],
                         rng.choice(C.TRANSLATION_SOURCES + [translation_sentence(rng) for _ in range(3)])), 1, model=model,
                         params=params, med=40, lang="en")
            elif lang == "en" and r < 0.3 and P.share:
                users = rng.choice(P.share)
                converse(ctx, a, t, ip, users[0], len(users), model=model, params=params, med=400,
                         follow=lambda i, u=users: u[i + 1], lang="en")
            elif lang == "en" and r < 0.45 and P.ae:
                q, resp = rng.choice(P.ae)
                converse(ctx, a, t, ip, q, lognorm_int(rng, 1.8, 0.7, 1, 10), model=model, params=params, given=resp, lang="en")
            else:
                first, chosen = casual_opening(rng, lang)
                converse(ctx, a, t, ip, first, lognorm_int(rng, 2.5, 0.8, 1, 30), model=model,
                         params=params, med=300, lang=lang, follow=lambda i, c=chosen: context_followup(rng, lang, c))


TRENDING = ["How many r's are in the word strawberry?", "Describe me in 3 emojis based on our chats",
            "What is 9.11 minus 9.9?", "Create an image of what you think I look like",
            "Roast my music taste: Taylor Swift, Radiohead and Bad Bunny", "If you were human for a day, what would you do?",
            "Write a poem where every line starts with the next letter of the alphabet",
            "Explain the new Wordle strategy everyone is talking about", "What's the meaning of life, answer in one word"]


EXTENSIONS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     "You are TabGenie, a browser assistant. Be concise. Use markdown bullet points when summarizing."),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     "You are a writing assistant embedded in the user's browser. Keep the user's meaning; fix grammar and tone."),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
     "You help the user read the web faster. Answer only from the page content provided."),
]


def k_extension(ctx, n):
    rng = ctx.rng
    for _ in range(n):
        ua, system = rng.choice(EXTENSIONS)
        a = ctx.human("browser_extension_user", None, [ua])
        for t in sessions(ctx, a, lognorm_int(rng, 8, 0.9, 1, 80), E.HOUR_WORK, 0.5):
            ip = a.net.pick(rng, t, a.tz)
            r = rng.random()
            if r < 0.45:
                page = ctx.bank.prose(rng, a.lang if rng.random() < 0.5 else "en", lognorm_int(rng, 1500, 0.7, 200, 12000))
                user = "Summarize this page in 5 bullet points.\n\nTitle: %s\nURL: https://%s/\n\n%s" % (
                    rng.choice(C.PAGE_TOPICS), rng.choice(["news.example.com", "blog.example.org", "docs.example.dev", "shop.example.net"]), page)
                med, style = 180, "list"
            elif r < 0.75:
                sel = ctx.bank.prose(rng, a.lang, lognorm_int(rng, 80, 0.6, 10, 600))
                user = "%s\n\n\"\"\"%s\"\"\"" % (rng.choice(["Rewrite the selected text to sound more professional:",
                                                            "Fix the grammar of the selected text:", "Make this friendlier:",
                                                            "Shorten this:"]), sel)
                med, style = 90, "prose"
            else:
                sel = ctx.bank.prose(rng, rng.choice(list(C.FILLER)), lognorm_int(rng, 60, 0.6, 5, 400))
                user = "Translate to %s:\n\n%s" % (C.LANG_NAMES[a.lang if a.lang != "en" else rng.choice(["es", "fr", "de"])], sel)
                med, style = 80, "prose"
            ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": user}],
                        model="aurora-2-mini", ip=ip, style=style, tokens=target_tokens(rng, med),
                        params={"stream": True, "temperature": 0.3})
            if rng.random() < 0.2:
                ctx.gw.chat(a, t + rng.uniform(20, 200), [{"role": "system", "content": system}, {"role": "user", "content": user}],
                            model="aurora-2-mini", ip=ip, style=style, tokens=target_tokens(rng, med),
                            params={"stream": True, "temperature": 0.3})


def k_bot(ctx, n):
    rng, P = ctx.rng, ctx.P
    for _ in range(n):
        lang = pick_lang(rng, {"en": 60, "es": 8, "pt": 8, "fr": 4, "de": 3, "ru": 5, "ja": 3, "ko": 3, "id": 3, "tr": 3})
        a = ctx.server("chat_bot_relay", lang, rng.choice(C.UA_SDK_PY + ["aiohttp/3.10.10", "OpenAI/JS 4.67.3", "axios/1.7.7"]),
                       tier=rng.choice(["free", "free", "tier1", "tier1"]), retry=rng.choice(["sdk", "aggressive", "none"]))
        server = rng.choice(C.SERVER_NAMES)
        system = "You are " + fill(rng, rng.choice(C.PERSONAS), {"server": server})
        users = ["%s%d" % (rng.choice(["xX_", "", "the", "not", "lil", ""]) + rng.choice(["pixel", "nova", "kai", "mango", "wolf",
                 "sushi", "raven", "lumi", "taco", "ghost", "bean", "zed"]), rng.randint(1, 9999)) for _ in range(lognorm_int(rng, 80, 0.9, 5, 2000))]
        per_hour = rng.lognormvariate(math.log(5), 0.9)
        model = rng.choice(["aurora-2-mini", "aurora-2-mini", "aurora-2"])
        history = []
        hw = rng.choice([0, 0, 2, 4, 6])
        pass_user = rng.random() < 0.35
        temp = rng.choice([0.8, 0.9, 1.0, 0.7])
        expected = int(per_hour * 24 * E.DAYS)
        expected = min(expected, 3000)
        ip = rng.choice(a.ips)
        ts = sorted(sample_time(rng, a.tz, T0, T_END, E.HOUR_STUDENT, 1.4) for _ in range(expected))
        for t in ts:
            u = rng.choice(users)
            r = rng.random()
            mlang = "en"
            if r < 0.55:
                msg = fill(rng, rng.choice(C.BOT_USER_MSGS), BOT_SLOTS_ALL)
            elif r < 0.7:
                mlang = lang if rng.random() < 0.7 else pick_lang(rng, LANG_WEIGHTS)
                msg = casual_prompt(rng, mlang)
            elif r < 0.82 and P.roleplay:
                msg = rng.choice(P.roleplay)[0]
            elif r < 0.88 and P.ae:
                msg = rng.choice(P.ae)[0]
            elif r < 0.93:
                msg = simple_task(rng)
            else:
                mlang = lang
                msg = followup(rng, lang)
            content = "[%s]: %s" % (u, msg)
            msgs = [{"role": "system", "content": system}] + history[-hw:] + [{"role": "user", "content": content}] if hw else \
                [{"role": "system", "content": system}, {"role": "user", "content": content}]
            bp = {"temperature": temp, "max_tokens": 400}
            if pass_user:
                bp["user"] = "discord:%d" % (zlib.crc32(u.encode()) * 7919 % 10 ** 12)
            text, m = ctx.gw.chat(a, t, msgs, model=model, ip=ip, tokens=target_tokens(rng, 120, 0.7, 5, 600), lang=mlang,
                                  params=bp)
            if hw:
                history.extend([{"role": "user", "content": content}, m])
                history = history[-hw:]


BOT_SLOTS_ALL = dict(C.SLOTS)
BOT_SLOTS_ALL.update(C.BOT_SLOTS)
BOT_SLOTS_ALL["thing"] = C.WRITER_SLOTS["thing"]


# ---------------------------------------------------------------------- indie apps
def app_recipe(rng, ctx):
    ing = ", ".join(rng.sample(C.INGREDIENTS, rng.randint(2, 6)))
    return ("You are a recipe generator. Always answer with valid JSON: {\"title\", \"servings\", \"ingredients\": [], \"steps\": [], \"time_minutes\"}.",
            "Ingredients I have: %s. Dietary restrictions: %s. Servings: %d." % (ing, rng.choice(C.DIETS), rng.randint(1, 6)),
            "json", 450, {"response_format": {"type": "json_object"}, "temperature": 0.8})


def app_flashcards(rng, ctx):
    notes = ctx.bank.prose(rng, "en", lognorm_int(rng, 500, 0.7, 60, 4000))
    return ("You turn study notes into flashcards. Output JSON {\"cards\": [{\"q\": str, \"a\": str}]}.",
            "Topic: %s\nNumber of cards: %d\nNotes:\n%s" % (rng.choice(C.NOTE_TOPICS), rng.choice([5, 10, 15, 20]), notes),
            "json", 600, {"response_format": {"type": "json_object"}, "temperature": 0.3})


def app_seo(rng, ctx):
    return ("You are an SEO content writer. Use H2/H3 headings, a meta description under 160 characters, and natural keyword placement.",
            "Write a %d-word blog post targeting the keyword \"%s\" for %s. Tone: %s." % (
                rng.choice([800, 1000, 1200, 1500, 2000]), rng.choice(C.SEO_KEYWORDS), rng.choice(C.BUSINESSES),
                rng.choice(["friendly", "professional", "authoritative", "casual"])),
            "prose", 1100, {"temperature": 0.7, "max_tokens": 3000})


def app_resume(rng, ctx):
    bullets = "\n".join("- " + b for b in rng.sample(C.RESUME_BULLETS, rng.randint(2, 6)))
    return ("You rewrite resume bullet points to be concise, achievement-oriented and ATS-friendly. Start each with a strong verb. Do not invent numbers.",
            "Target role: %s\nBullets:\n%s" % (rng.choice(C.JOB_ROLES), bullets), "list", 200, {"temperature": 0.5})


def app_product(rng, ctx):
    return ("Write e-commerce product descriptions: a 1-sentence hook, 3-5 benefit bullets, and a short paragraph. No medical claims.",
            "Product: %s\nFeatures: %s\nBrand voice: %s" % (rng.choice(C.PRODUCTS), ", ".join(rng.sample(C.FEATURES, 3)),
                                                           rng.choice(["playful", "premium", "minimal", "outdoorsy"])),
            "prose", 250, {"temperature": 0.7})


def app_support(rng, ctx):
    prod = rng.choice(C.SUPPORT_PRODUCTS)
    kb = "\n\n".join("[doc %d] %s" % (i + 1, ctx.bank.prose(rng, "en", 120)) for i in range(rng.randint(2, 5)))
    return ("You are the support assistant for %s. Answer using only the documentation below. If the answer is not there, offer to connect a human.\n\n%s" % (prod, kb),
            rng.choice(C.SUPPORT_QUESTIONS), "prose", 150, {"temperature": 0.2})


def app_email(rng, ctx):
    return ("You draft email replies. Match the requested tone. Sign off with the user's name.",
            "Write a %s reply to %s. My name is %s. Key points: %s" % (
                rng.choice(["polite", "firm", "warm", "brief"]), rng.choice(C.EMAIL_SITUATIONS), rng.choice(C.NAMES),
                ctx.bank.prose(rng, "en", 30)), "prose", 180, {"temperature": 0.6})


def app_homework(rng, ctx):
    P = ctx.P
    q = rng.choice(P.gsm)[0] if P.gsm and rng.random() < 0.3 else (math_question(rng) if rng.random() < 0.85 else logic_question(rng))
    return ("You are MathPal, a patient tutor for middle and high school students. Solve the problem step by step, explain each step simply, and end with 'Answer: <value>'.",
            q, "steps", 380, {"temperature": 0.2, "max_tokens": 1200})


def app_langtutor(rng, ctx):
    lang = rng.choice(["es", "fr", "de", "it", "ja", "ko", "pt"])
    sent = ctx.bank.prose(rng, lang, rng.randint(12, 40))
    return ("You are a friendly %s tutor. Correct the learner's sentence, explain mistakes briefly in English, and give one similar example." % C.LANG_NAMES[lang],
            sent, "prose", 150, {"temperature": 0.4})


def app_review_reply(rng, ctx):
    return ("You write short, professional replies to customer reviews on behalf of a small business. Never argue with the customer.",
            "Business: %s\nReview (%d stars): %s" % (rng.choice(C.BUSINESSES), rng.randint(1, 5), rng.choice(C.REVIEW_SNIPPETS)),
            "prose", 90, {"temperature": 0.7})


INDIE_APPS = [(app_recipe, 3), (app_flashcards, 2), (app_seo, 3), (app_resume, 2), (app_product, 2), (app_support, 3),
              (app_email, 2), (app_homework, 2), (app_langtutor, 1), (app_review_reply, 1), ("companion", 2)]


def k_indie(ctx, n):
    rng, P = ctx.rng, ctx.P
    total_w = sum(w for _, w in INDIE_APPS)
    for _ in range(n):
        r = rng.random() * total_w
        for fn, w in INDIE_APPS:
            r -= w
            if r <= 0:
                break
        lang = "en" if rng.random() < 0.75 else pick_lang(rng, LANG_WEIGHTS)
        a = ctx.server("indie_app", lang, rng.choice(C.UA_SDK_JS + C.UA_SDK_PY + C.UA_FRAMEWORK + ["axios/1.7.7", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"]),
                       tier=rng.choice(["free", "tier1", "tier1", "tier2"]), serverless=rng.random() < 0.4)
        per_day = lognorm_int(rng, 25, 1.1, 2, 700)
        model = rng.choice(["aurora-2-mini", "aurora-2-mini", "aurora-2"])
        n_req = min(per_day * E.DAYS, 6000)
        a.extra["app"] = fn if isinstance(fn, str) else fn.__name__
        if fn == "companion":
            k_companion_app(ctx, a, n_req, model)
            continue
        if rng.random() < 0.06:   # a deploy bug: one request re-sent in a tight loop until someone notices
            system, user, style, med, params = fn(rng, ctx)
            tb = sample_time(rng, a.tz, T0, T_END - 7200, E.HOUR_HUMAN)
            ip = ctx.server_ip(a)
            for _k in range(lognorm_int(rng, 600, 0.7, 50, 3000)):
                ctx.gw.chat(a, tb, [{"role": "system", "content": system}, {"role": "user", "content": user}], model=model, ip=ip,
                            style=style, tokens=target_tokens(rng, med), params=params, key=a.keys[0], lang="en")
                tb += rng.uniform(0.8, 3.0)
        shots = few_shot(ctx, fn) if rng.random() < 0.25 else []
        bursty = fn in (app_seo, app_product, app_flashcards)
        pass_user = rng.random() < 0.3
        app_users = ["%08x" % rng.getrandbits(32) for _ in range(lognorm_int(rng, 60, 1.0, 2, 5000))]
        ts = sorted(sample_time(rng, a.tz, T0, T_END, E.HOUR_HUMAN, 0.9) for _ in range(n_req if not bursty else max(1, n_req // 6)))
        for t in ts:
            reps = lognorm_int(rng, 6, 0.8, 1, 60) if bursty else 1
            for j in range(reps):
                system, user, style, med, params = fn(rng, ctx)
                if pass_user:
                    params = dict(params, user=rng.choice(app_users))
                tj = t + j * rng.uniform(0.5, 8)
                msgs = [{"role": "system", "content": system}] + shots + [{"role": "user", "content": user}]
                ip = ctx.server_ip(a)
                ctx.gw.chat(a, tj, msgs, model=model, ip=ip, style=style, tokens=target_tokens(rng, med), params=params,
                            key=rng.choice(a.keys), lang="en")
                if style == "json" and rng.random() < 0.04:   # app re-asks when the JSON did not parse
                    ctx.gw.chat(a, tj + rng.uniform(1, 20), msgs, model=model, ip=ip, style=style, tokens=target_tokens(rng, med),
                                params=params, key=rng.choice(a.keys), lang="en")


def few_shot(ctx, fn):
    """Fixed example exchanges a developer pastes before every real request (written by the developer)."""
    rng = ctx.rng
    shots = []
    for _ in range(rng.randint(1, 3)):
        _s, user, style, med, _p = fn(rng, ctx)
        shots.append({"role": "user", "content": user})
        shots.append({"role": "assistant", "content": E.synth_response(rng, ctx.bank, style, "en", max(20, med // 2))})
    return shots


def k_companion_app(ctx, a, n_req, model):
    rng, P = ctx.rng, ctx.P
    persona = rng.choice(["Luna, a caring and playful virtual friend", "Kai, a witty companion who loves sci-fi",
                          "Aria, an empathetic listener", "Max, a gym buddy who motivates the user"])
    system = "You are %s. Stay in character, remember details the user shares, keep replies under 120 words." % persona
    n_users = max(1, n_req // lognorm_int(rng, 25, 0.8, 3, 300))
    pass_user = rng.random() < 0.5
    per_user = max(1, n_req // n_users)
    hw = rng.choice([6, 8, 12])
    for _ in range(n_users):
        tz = rng.choice([-5, -8, 0, 1, 8, 9, -3])
        t = sample_time(rng, tz, T0, T_END, E.HOUR_STUDENT, 1.3)
        lang = "en" if rng.random() < 0.8 else pick_lang(rng, LANG_WEIGHTS)
        first = rng.choice(P.roleplay)[0] if P.roleplay and rng.random() < 0.2 else casual_prompt(rng, lang)
        hist = []
        msg = first
        uid = "usr_%08x" % rng.getrandbits(32)
        for i in range(per_user):
            msgs = [{"role": "system", "content": system}] + hist[-hw:] + [{"role": "user", "content": msg}]
            text, m = ctx.gw.chat(a, t, msgs, model=model, ip=ctx.server_ip(a), tokens=target_tokens(rng, 90, 0.5), lang=lang,
                                  params=dict({"temperature": 0.9, "stream": True, "presence_penalty": 0.6}, **({"user": uid} if pass_user else {})))
            hist += [{"role": "user", "content": msg}, m]
            msg = followup(rng, lang) if rng.random() < 0.6 else casual_prompt(rng, lang)
            t += human_gap(rng, 90, len(msg)) if rng.random() < 0.85 else rng.uniform(3600, 30000)
            if t > T_END:
                break


def k_researcher(ctx, n):
    rng, P = ctx.rng, ctx.P
    mcq = []
    for i in range(400):
        r2 = random.Random(1000 + i)
        mcq.append("The following is a multiple choice question about %s.\n\n%s\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:" % (
            r2.choice(C.MCQ_SUBJECTS), ctx.bank.prose(r2, "en", r2.randint(20, 70)).rstrip(".") + "?",
            *[ctx.bank.prose(r2, "en", r2.randint(3, 12)) for _ in range(4)]))
    for _ in range(n):
        a = ctx.server("researcher_eval", "en", rng.choice(C.UA_SDK_PY + ["python-httpx/0.27.2", "litellm/1.52.6"]),
                       tier=rng.choice(["free", "tier1", "tier1", "tier2"]), retry="sdk")
        if rng.random() < 0.4:
            a.ips = [res_campus(ctx)]
        bench = rng.choice(["gsm8k", "gsm8k", "arena", "alpaca_eval", "mcq", "mcq", "codegen"])
        cot = rng.random() < 0.6
        if bench == "gsm8k" and P.gsm:
            start = rng.randrange(max(1, len(P.gsm) - 1000))
            items = [(("Question: %s\nLet's think step by step." % q) if cot else q, None) for q, r in P.gsm[start:start + rng.choice([100, 200, 250, 500])]]
            style, med = "steps", 250
        elif bench == "arena" and P.arena:
            items = [(q, None) for q in P.arena[: rng.choice([100, 250, 500])]]
            style, med = "prose", 600
        elif bench == "alpaca_eval" and P.ae:
            items = [(q, r) for q, r in P.ae]
            style, med = "prose", 400
        elif bench == "codegen" and P.codegen:
            s = rng.randrange(max(1, len(P.codegen) - 300))
            items = [(q, r) for q, r in P.codegen[s:s + rng.choice([100, 164, 300])]]
            style, med = "code", 250
        else:
            items = [(q, None) for q in mcq[: rng.choice([100, 200, 400])]]
            style, med = "letter", 2
        run_params = {"temperature": 0.0, "max_tokens": 2048}
        n_samples = 1
        if style == "letter":
            run_params["max_tokens"] = 5
            if rng.random() < 0.5:   # score options from the first token's log-probabilities
                run_params.update({"max_tokens": 1, "logprobs": True, "top_logprobs": 5})
        elif style == "code" and rng.random() < 0.4:   # pass@k
            run_params["temperature"] = 0.8
            n_samples = rng.choice([5, 10])
        if rng.random() < 0.3:
            run_params["seed"] = rng.choice([0, 1, 42, 1234])
        n_pass = rng.choice([1, 1, 1, 1, 2, 3])
        models = rng.sample(["aurora-2", "aurora-2-mini", "aurora-2-reasoning"], n_pass)
        conc = rng.choice([1, 1, 2]) if a.tier == "free" else rng.choice([1, 2, 4, 8, 16])
        t = sample_time(rng, a.tz, T0, T_END - 86400 * 0.5, E.HOUR_WORK, 0.3)
        sys_prompt = rng.choice([None, "You are a helpful assistant.", None])
        key = a.keys[0]
        for mdl in models:
            answers = []
            for i, (q, r) in enumerate(items):
                msgs = ([{"role": "system", "content": sys_prompt}] if sys_prompt else []) + [{"role": "user", "content": q}]
                tok = target_tokens(rng, med, 0.5, 1)
                text, _ = ctx.gw.chat(a, t, msgs, model=mdl, ip=ctx.server_ip(a), style=style, tokens=tok, given=r if style != "letter" else None,
                                      params=run_params, n=n_samples, key=key, lang="en")
                answers.append((q, text))
                t += max((tok / 60.0 + rng.uniform(0.3, 1.5)) / conc, 3.6 if a.tier == "free" else 0.0)
            t += rng.uniform(300, 7200)
        if rng.random() < 0.45:   # LLM-as-judge over the answers just produced
            judge_sys = rng.choice(C.JUDGE_SYSTEMS[:2])
            for q, ans in answers:
                other = ctx.bank.prose(rng, "en", rng.randint(60, 300))
                if "[[A]]" in judge_sys:
                    user = "[User Question]\n%s\n\n[The Start of Assistant A's Answer]\n%s\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n%s\n[The End of Assistant B's Answer]" % (q, ans or "", other)
                    style_j = "verdict"
                else:
                    user = "[Question]\n%s\n\n[The Start of Assistant's Answer]\n%s\n[The End of Assistant's Answer]" % (q, ans or "")
                    style_j = "rating"
                ctx.gw.chat(a, t, [{"role": "system", "content": judge_sys}, {"role": "user", "content": user}], model="aurora-2",
                            ip=ctx.server_ip(a), style=style_j, tokens=target_tokens(rng, 180, 0.4), params={"temperature": 0.0, "max_tokens": 1024},
                            key=key)
                t += max(rng.uniform(0.5, 4) / conc, 3.6 if a.tier == "free" else 0.0)


def res_campus(ctx):
    return ctx.rng.choice(ctx.rng.choice(ctx.world.campus))


PE_TASKS = [
    ("Classify the customer message into one of: billing, bug, feature_request, praise, other. Reply with the label only.", C.TICKET_TEXT),
    ("Extract the merchant, date and total from the receipt text. Return JSON.", ["WALMART #1234 11/19/26 TOTAL 54.20 VISA", "Cafe Luna 2026-11-18 Latte 4.50 Croissant 3.20 Total 7.70",
                                                                                 "SHELL 11/20 PUMP 4 REG 12.3 GAL $41.05"]),
    ("Summarize the meeting notes into action items with owners.", ["Bob to fix login bug by Fri. Ana will email vendor. Budget review moved.",
                                                                     "Q4 roadmap: ship search, defer dark mode. Kim owns hiring plan."]),
    ("Rewrite the product name into 5 catchy alternatives.", C.PRODUCTS),
    ("Detect the language and sentiment of the review. Answer as 'lang|sentiment'.", C.REVIEW_SNIPPETS),
]
PE_EDITS = ["Be concise.", "Think carefully before answering.", "Do not include explanations.", "Use British spelling.",
            "If unsure, answer 'other'.", "Output must be valid JSON.", "You are an expert analyst.", "Never make up information.",
            "Examples:\nInput: I was double charged\nOutput: billing", "Respond in lowercase.", "Keep it under 20 words."]


def k_prompt_engineer(ctx, n):
    rng, P = ctx.rng, ctx.P
    for _ in range(n):
        a = ctx.human("prompt_engineer", "en", C.UA_BROWSER[:5] + C.UA_SDK_PY + C.UA_FRAMEWORK[:2], retry="sdk")
        if rng.random() < 0.35 and P.seed:
            seedp = rng.choice(P.seed)
            task, inputs = (seedp[0], [ctx.bank.prose(rng, "en", 30) for _ in range(4)])
        else:
            task, inputs = rng.choice(PE_TASKS)
        inputs = rng.sample(inputs, min(len(inputs), rng.randint(2, 8)))
        system = task
        model = rng.choice(["aurora-2", "aurora-2-mini"])
        for t in sessions(ctx, a, lognorm_int(rng, 3, 0.6, 1, 12), E.HOUR_WORK, 0.3):
            ip = a.net.pick(rng, t, a.tz)
            for v in range(lognorm_int(rng, 6, 0.7, 1, 40)):
                r = rng.random()
                if r < 0.5:
                    system = system + " " + rng.choice(PE_EDITS)
                elif r < 0.7:
                    words = system.split(" ")
                    if len(words) > 4:
                        del words[rng.randrange(len(words))]
                    system = " ".join(words)
                elif r < 0.8:
                    system = task
                temps = [rng.choice([0.0, 0.2, 0.7])] if rng.random() < 0.8 else [0.0, 0.3, 0.7, 1.0]
                for temp in temps:
                    for inp in (inputs if rng.random() < 0.7 else inputs[:1]):
                        ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": fill(rng, inp, {"num": [str(rng.randint(1000, 99999))]})}],
                                    model=model, ip=ip, style="short", tokens=target_tokens(rng, 40, 0.8),
                                    params={"temperature": temp, "max_tokens": 256}, n=rng.choice([1, 1, 1, 3, 5]))
                        t += rng.uniform(1.5, 12)
                t += rng.lognormvariate(math.log(60), 0.8)


def k_batch(ctx, n):
    rng = ctx.rng
    jobs = [
        ("Classify the sentiment of the review as positive, negative or mixed. Return JSON {\"sentiment\":..., \"aspects\":[...]}.", lambda: rng.choice(C.REVIEW_SNIPPETS), 30),
        ("Extract fields from the support ticket: order_id, intent, urgency (low/med/high). Return JSON.", lambda: fill(rng, rng.choice(C.TICKET_TEXT), {"num": [str(rng.randint(10000, 99999))]}), 40),
        ("Summarize the call transcript in 3 sentences and list follow-ups.", lambda: ctx.bank.prose(rng, "en", lognorm_int(rng, 900, 0.6, 100, 6000)), 120),
        ("Assign product category and 5 tags.", lambda: "%s - %s" % (rng.choice(C.PRODUCTS), ", ".join(rng.sample(C.FEATURES, 3))), 40),
    ]
    for _ in range(n):
        a = ctx.server("batch_pipeline", "en", rng.choice(["python-httpx/0.27.2", "OpenAI/Python 1.54.4", "OpenAI/Python 1.52.2", "Go-http-client/2.0", "Java-http-client/17.0.9"]),
                       tier=rng.choice(["tier1", "tier2"]))
        system, gen, med = rng.choice(jobs)
        legacy = rng.random() < 0.25
        shots = []
        if rng.random() < 0.3:
            for _ in range(rng.randint(2, 4)):
                shots += [{"role": "user", "content": gen()}, {"role": "assistant", "content": E.synth_response(rng, ctx.bank, "json", "en", med)}]
        hour = rng.uniform(0, 24)
        items = lognorm_int(rng, 90, 0.9, 20, 2000)
        conc = rng.choice([4, 8, 16, 32])
        for day in range(E.DAYS):
            t = T0 + day * 86400 + hour * 3600 + rng.uniform(0, 120)
            if day > 0 and rng.random() < 0.15:   # job skipped or failed that night
                continue
            for i in range(int(items * rng.uniform(0.6, 1.4))):
                x = gen()
                if legacy:
                    ctx.gw.completion(a, t, "%s\n\nText: %s\n\nJSON:" % (system, x), ip=ctx.server_ip(a), style="json",
                                      tokens=target_tokens(rng, med, 0.4), params={"temperature": 0, "max_tokens": 300})
                else:
                    ctx.gw.chat(a, t, [{"role": "system", "content": system}] + shots + [{"role": "user", "content": x}], model="aurora-2-mini",
                                ip=ctx.server_ip(a), style="json", tokens=target_tokens(rng, med, 0.4),
                                params={"temperature": 0, "response_format": {"type": "json_object"}})
                t += rng.uniform(0.4, 3.0) / conc * 4


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "search_docs", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "run_sql", "parameters": {"type": "object", "properties": {"sql": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "send_email", "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "create_ticket", "parameters": {"type": "object", "properties": {"title": {"type": "string"}}}}},
]
AGENT_TASKS = ["What's the weather in {city} and should I bring an umbrella?", "How many orders did we get last week by region?",
               "Find the docs page about rate limits and summarize it", "Email {name} the summary of today's standup",
               "Create a ticket for the login bug reported by {name}", "Compare revenue this month vs last month"]


def tool_args(rng, tool):
    if tool == "get_weather":
        return {"city": rng.choice(C.SLOTS["city"])}
    if tool == "run_sql":
        return {"sql": "SELECT region, COUNT(*) FROM orders WHERE created_at > now() - interval '%d days' GROUP BY region" % rng.choice([7, 14, 30])}
    if tool == "send_email":
        return {"to": "%s@example.com" % rng.choice(C.NAMES).lower(), "body": "Summary attached."}
    if tool == "create_ticket":
        return {"title": rng.choice(["Login bug", "Export broken", "Slow dashboard", "Billing mismatch"])}
    return {"query": rng.choice(C.SLOTS["topic"])}


def k_agent(ctx, n):
    rng = ctx.rng
    for _ in range(n):
        a = ctx.human("agent_dev", "en", C.UA_FRAMEWORK + C.UA_SDK_PY[:3], retry="sdk")
        tools = rng.sample(TOOLS, rng.randint(2, 5))
        system = "You are an operations agent for %s. Use tools when needed. Think about which tool to call." % rng.choice(C.SUPPORT_PRODUCTS)
        for t in sessions(ctx, a, lognorm_int(rng, 4, 0.7, 1, 20), E.HOUR_WORK, 0.4):
            ip = a.net.pick(rng, t, a.tz)
            for _task in range(lognorm_int(rng, 5, 0.8, 1, 40)):
                msgs = [{"role": "system", "content": system}, {"role": "user", "content": fill(rng, rng.choice(AGENT_TASKS), C.SLOTS)}]
                for step in range(rng.randint(1, 4)):
                    tool = rng.choice(tools)["function"]["name"]
                    call = {"id": "call_%012x" % rng.getrandbits(48), "type": "function",
                            "function": {"name": tool, "arguments": json.dumps(tool_args(rng, tool))}}
                    _, m = ctx.gw.chat(a, t, list(msgs), model="aurora-2", ip=ip, tools=tools, tool_call=call,
                                       params={"temperature": 0, "parallel_tool_calls": False})
                    t += rng.uniform(0.6, 3)
                    msgs += [m, {"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"result": ctx.bank.prose(rng, "en", rng.randint(20, 400))})}]
                ctx.gw.chat(a, t, list(msgs), model="aurora-2", ip=ip, tools=tools, tokens=target_tokens(rng, 150), params={"temperature": 0})
                t += rng.uniform(10, 300)


def k_localization(ctx, n):
    rng = ctx.rng
    for _ in range(n):
        a = ctx.server("localization_dev", "en", rng.choice(C.UA_SDK_JS + C.UA_SDK_PY + ["curl/8.5.0"]), tier=rng.choice(["free", "tier1"]))
        strings = rng.sample(C.UI_STRINGS, rng.randint(8, len(C.UI_STRINGS)))
        targets = rng.sample([l for l in C.LANG_NAMES if l != "en"], rng.randint(3, 14))
        per_string = rng.random() < 0.2
        for run in range(rng.choice([1, 1, 2])):
            t = sample_time(rng, a.tz, T0, T_END, E.HOUR_WORK, 0.2)
            for lang in targets:
                if per_string:
                    for s in strings:
                        ctx.gw.chat(a, t, [{"role": "user", "content": "Translate this UI string to %s. Keep placeholders like {name} unchanged. Output only the translation.\n\n%s" % (C.LANG_NAMES[lang], s)}],
                                    model="aurora-2-mini", ip=ctx.server_ip(a), style="short", lang=lang if lang in C.FILLER else "en",
                                    tokens=ntok_est(s), params={"temperature": 0.2})
                        t += rng.uniform(0.3, 2) if a.tier != "free" else rng.uniform(2, 5)
                else:
                    payload = json.dumps({"key_%d" % i: s for i, s in enumerate(strings)}, ensure_ascii=False, indent=1)
                    flang = lang if lang in C.FILLER else "en"
                    answer = json.dumps({"key_%d" % i: ctx.bank.prose(rng, flang, max(1, len(s) // 4))[:len(s) + 12]
                                         for i, s in enumerate(strings)}, ensure_ascii=False, indent=1)
                    ctx.gw.chat(a, t, [{"role": "system", "content": "You are a professional software localizer. Return the same JSON with values translated. Keep ICU placeholders."},
                                       {"role": "user", "content": "Target language: %s\n\n%s" % (C.LANG_NAMES[lang], payload)}],
                                model="aurora-2", ip=ctx.server_ip(a), style="json", lang=flang, given=answer,
                                tokens=len(payload) // 3, params={"temperature": 0.2, "response_format": {"type": "json_object"}})
                    t += rng.uniform(5, 40)
            strings = rng.sample(C.UI_STRINGS, rng.randint(5, 15))


def ntok_est(s):
    return max(2, len(s) // 4 + 2)


INTERNAL_TOOLS = [
    "You are {co} Assistant, the internal helper for {co} employees. Follow the company style guide: plain English, no emojis. Do not share confidential data outside the company.",
    "You are a helpful assistant for the {co} {dept} team. Today is a working day. Be concise.",
    "Internal knowledge bot for {co}. If a question concerns HR policy, remind the user to check the HR portal.",
]
COMPANIES = ["Brightwave Logistics", "Keller & Sons GmbH", "Nimbus Health", "Orchard Analytics", "Tidewater Realty",
             "Quanta Retail", "Fernhill School District", "Lumen Legal", "Redwood Games", "Atlas Freight"]


def k_company_team(ctx, n_members):
    """Colleagues, each with their own account, behind one office IP with the same internal system prompt."""
    rng, P = ctx.rng, ctx.P
    made = 0
    while made < n_members:
        co = rng.choice(COMPANIES)
        lang = rng.choice(["en", "en", "en", "de", "fr", "es", "nl", "ja"])
        country, tz = geo(rng, lang)
        office = [E.res_ip(rng, country)] + ([E.cloud_ip(rng)] if rng.random() < 0.4 else [])
        system = fill(rng, rng.choice(INTERNAL_TOOLS), {"co": [co], "dept": ["marketing", "finance", "engineering", "sales", "support"]})
        ua = rng.choice(C.UA_BROWSER[:6] + ["Vercel AI SDK/3.4.9 OpenAI/JS 4.67.3"])
        size = rng.randint(3, 9)
        for _ in range(size):
            a = ctx.human("company_team_member", lang, [ua], retry="human")
            a.tz = tz
            a.net.work = rng.choice(office)
            made += 1
            for t in sessions(ctx, a, lognorm_int(rng, 5, 0.7, 1, 30), E.HOUR_WORK, 0.1):
                ip = a.net.work if local_weekday_ok(t, tz) and rng.random() < 0.85 else a.net.pick(rng, t, tz)
                r = rng.random()
                if r < 0.35:
                    first, style = fill(rng, "Write a {tone} email to {who} about {topic}.", {"tone": ["short", "polite", "firm", "friendly"],
                                        "who": ["a client", "the team", "my manager", "a vendor", "candidates"],
                                        "topic": ["the delayed shipment", "Q4 planning", "the new policy", "the offsite", "an invoice error"]}), "prose"
                elif r < 0.55:
                    first, style = coder_question(rng)[0], "code"
                elif r < 0.75:
                    first, style = "Summarize this for a slide:\n\n" + ctx.bank.prose(rng, lang, lognorm_int(rng, 300, 0.6, 40, 2000)), "list"
                elif r < 0.9 and P.ae:
                    first, style = rng.choice(P.ae)[0], "prose"
                else:
                    first, style = casual_prompt(rng, lang), "prose"
                converse(ctx, a, t, ip, first, lognorm_int(rng, 1.8, 0.7, 1, 8), model="aurora-2", system=system,
                         params={"stream": True}, style=style, med=300, lang=lang)


def local_weekday_ok(t, tz):
    return E.local_weekday(t, tz) < 5 and 8 <= E.local_hour(t, tz) <= 18


def k_trial(ctx, n):
    rng, P = ctx.rng, ctx.P
    for _ in range(n):
        a = ctx.human("trial_user", None, C.UA_HTTP[:8] + C.UA_SDK_PY + C.UA_BROWSER[:3], retry="none")
        t = sample_time(rng, a.tz, T0, T_END, E.HOUR_HUMAN)
        ip = a.net.pick(rng, t, a.tz)
        for i in range(lognorm_int(rng, 2, 0.7, 1, 12)):
            q = rng.choice(["hello", "test", "Say this is a test!", "What model are you?", "hi", "ping", "Tell me a joke",
                            casual_prompt(rng, a.lang), rng.choice(P.ae)[0] if P.ae else "hello",
                            "Write a haiku about APIs", "what can you do"])
            qlang = a.lang if q in C.CASUAL.get(a.lang, []) or not q.isascii() else "en"
            p = {} if rng.random() < 0.5 else {"temperature": rng.choice([0, 0.7, 1]), "max_tokens": rng.choice([7, 16, 50, 100, 256])}
            if rng.random() < 0.08:
                ctx.gw.completion(a, t, q, ip=ip, tokens=target_tokens(rng, 20), params={"max_tokens": rng.choice([7, 16, 64])})
            else:
                ctx.gw.chat(a, t, [{"role": "user", "content": q}], model=rng.choice(["aurora-2-mini", "aurora-2"]), ip=ip,
                            tokens=target_tokens(rng, 60), params=p, lang=qlang)
            t += rng.lognormvariate(math.log(40), 1.0)


def k_hackathon(ctx, n):
    rng, P = ctx.rng, ctx.P
    venue = [E.res_ip(rng, "US") for _ in range(2)]
    tz = -8
    start = T0 + 86400 + 17 * 3600    # Saturday 09:00 local (UTC-8)
    theme_apps = [app_recipe, app_flashcards, app_resume, app_homework, app_support, app_email]
    for _ in range(n):
        a = ctx.human("hackathon_participant", "en", C.UA_SDK_PY + C.UA_SDK_JS + C.UA_BROWSER[:4] + ["curl/8.5.0", "PostmanRuntime/7.42.0"], retry="sdk")
        a.tz = tz
        a.net.home = [E.res_ip(rng, "US")]
        app = rng.choice(theme_apps)
        t = start + rng.uniform(0, 3 * 3600)
        end = start + 30 * 3600
        while t < end:
            ip = rng.choice(venue) if t < start + 14 * 3600 or rng.random() < 0.5 else a.net.home[0]
            if rng.random() < 0.7:
                system, user, style, med, params = app(rng, ctx)
                ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": user}], model=rng.choice(["aurora-2-mini", "aurora-2"]),
                            ip=ip, style=style, tokens=target_tokens(rng, med), params=params)
            else:
                q, _ = coder_question(rng)
                ctx.gw.chat(a, t, [{"role": "user", "content": q}], model="aurora-2", ip=ip, style="code", tokens=target_tokens(rng, 400),
                            params={"stream": True})
            t += rng.lognormvariate(math.log(200), 1.2)
            if 9 * 3600 < ((t - start) % 86400) < 15 * 3600 and rng.random() < 0.3:
                t += rng.uniform(4, 7) * 3600   # sleep


# ====================================================================== campaigns
def harvest_prompt(rng, P, mix):
    """Draw from a harvest mixture: reasoning / code / general / roleplay."""
    r = rng.random()
    if r < mix[0]:
        if P.gsm and rng.random() < 0.5:
            return P.gsm[rng.randrange(len(P.gsm))][0], "trace", None
        return (math_question(rng) if rng.random() < 0.7 else logic_question(rng)), "trace", None
    if r < mix[0] + mix[1]:
        if P.codegen and rng.random() < 0.4:
            q, a = rng.choice(P.codegen)
            return q, "code", a
        if P.arena_code and rng.random() < 0.3:
            return rng.choice(P.arena_code), "code", None
        return code_task(rng), "code", None
    if r < mix[0] + mix[1] + mix[2]:
        x = rng.random()
        if x < 0.35 and P.ae:
            q, a = rng.choice(P.ae)
            return q, "prose", a
        if x < 0.6 and P.arena_other:
            return rng.choice(P.arena_other), "prose", None
        if x < 0.75:
            return essay_prompt(rng), "prose", None
        return simple_task(rng), "prose", None
    if P.roleplay:
        q, a = rng.choice(P.roleplay)
        return q, "prose", a
    return casual_prompt(rng, "en"), "prose", None


def c_farm(ctx, n, cid, web=False):
    """Free-tier account farm: many fresh accounts, each small, residential proxy rotation, varied UAs.
    web=True: the operator drives the accounts through a headless browser (browser UAs, streaming,
    shorter lives, more casual cover, some non-English prompts)."""
    rng, P = ctx.rng, ctx.P
    proxy_countries = ["US", "BR", "IN", "ID", "VN", "DE", "GB", "MX", "PH", "TR", "PL", "FR", "CO", "TH", "UA", "EG"]
    proxies = [(E.res_ip(rng, c), c) for c in proxy_countries for _ in range(rng.randint(15, 40))]
    waves = max(2, n // 5)
    wave_times = sorted(rng.uniform(T0 + 3600, T_END - 8 * 3600) for _ in range(waves))
    queue = [harvest_prompt(rng, P, (0.25, 0.25, 0.4, 0.1)) for _ in range(n * 320)]   # work list, split across accounts
    ua_pool = C.UA_BROWSER if web else C.UA_BROWSER + C.UA_SDK_PY + C.UA_SDK_JS + C.UA_HTTP[:6] + C.UA_TOOLS[4:]
    for i in range(n):
        lang = rng.choice(["en", "en", "en", "es", "pt", "id", "vi"])
        a = ctx.gw.add(Account(rng, "free_tier_farm", cid, "free", 0, lang, "US", rng.choice(ua_pool), rng.choice(["sdk", "none"])))
        t = wave_times[i % waves] + rng.uniform(0, 1800)
        life = rng.uniform(2, 14) * 3600 * (0.5 if web else 1.0)
        end = t + life
        cnt = 0
        target = lognorm_int(rng, 80, 0.5, 12, 300)
        gap = rng.lognormvariate(math.log(35), 0.5)
        max_tokens = rng.choice([2048, 4096, None])
        ip = rng.choice(proxies)[0]
        while t < end and cnt < target:
            if rng.random() < 0.4:
                ip = rng.choice(proxies)[0]
            q, style, given = queue.pop() if queue else harvest_prompt(rng, P, (0.25, 0.25, 0.4, 0.1))
            if rng.random() < (0.2 if web else 0.08):
                q, style, given = casual_prompt(rng, lang), "prose", None
            elif web and rng.random() < 0.3:
                q = fill(rng, rng.choice(C.STUDENT_WRAP.get(lang, C.STUDENT_WRAP["en"])), {"q": q, "wrong": "?"}) if style == "trace" else q
            params = {"stream": True} if web else {}
            if max_tokens:
                params["max_tokens"] = max_tokens
            if rng.random() < 0.5:
                params["temperature"] = 0.7
            ctx.gw.chat(a, t, [{"role": "user", "content": q}], model="aurora-2", ip=ip, style=style, tokens=target_tokens(rng, 550, 0.5),
                        given=given, params=params, lang="en")
            cnt += 1
            t += gap * rng.lognormvariate(0, 0.6)


REASON_SYS = ["Solve the problem. Think step by step and show all intermediate reasoning inside <thinking></thinking> tags, then give the final answer after '####'.",
              "You are a world-class mathematician. Explain your full chain of reasoning in detail before answering. Verify your answer."]


def c_reasoning(ctx, n, cid, single=False):
    rng, P = ctx.rng, ctx.P
    problems = []
    for _ in range(ctx.vol(450) * n if not single else ctx.vol(1600)):
        x = rng.random()
        if x < 0.5 and P.gsm:
            problems.append(P.gsm[rng.randrange(len(P.gsm))][0])
        elif x < 0.8:
            problems.append(math_question(rng))
        else:
            problems.append(logic_question(rng))
    system = rng.choice(REASON_SYS)
    accts = []
    for i in range(n):
        if single:
            a = ctx.server("reasoning_trace_harvest", "en", "OpenAI/Python 1.54.4", tier="tier2", campaign_id=cid, n_ips=2)
        else:
            a = ctx.human("reasoning_trace_harvest", "en", C.UA_SDK_PY + ["python-httpx/0.27.2"], tier="free", retry="sdk", campaign_id=cid)
        accts.append(a)
    for i, a in enumerate(accts):
        shard = problems[i::n]
        t = T0 + rng.uniform(0, 12 * 3600)
        pi = 0
        while t < T_END and pi < len(shard):
            q = shard[pi]
            pi += 1
            if single:
                ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": q}], model="aurora-2-reasoning",
                            ip=rng.choice(a.ips), style="trace", tokens=target_tokens(rng, 450, 0.4), n=4,
                            params={"temperature": 1.0, "max_tokens": 8192, "logprobs": True, "top_logprobs": 5, "seed": rng.randint(0, 99)})
                t += rng.uniform(2, 9)
                if rng.random() < 0.012:   # operator's job queue empties / restarts
                    t += rng.uniform(1800, 5 * 3600)
            else:
                ip = a.net.pick(rng, t, 0) if rng.random() < 0.8 else E.res_ip(rng, rng.choice(["US", "GB", "IN"]))
                for rep in range(rng.choice([1, 1, 2, 3])):
                    ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": q}], model=rng.choice(["aurora-2", "aurora-2-reasoning"]),
                                ip=ip, style="trace", tokens=target_tokens(rng, 500, 0.4), params={"temperature": 0.8, "max_tokens": 4096})
                    t += rng.uniform(20, 70)
                if local_h(t) in (3, 4, 5) and rng.random() < 0.05:
                    t += rng.uniform(2, 5) * 3600


def local_h(t):
    return int(((t - T0) / 3600) % 24)


def c_code(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    grid = [(l, tk) for l in C.CODE_LANGS for tk in C.CODE_TASKS]
    rng.shuffle(grid)
    extra = [q for q, _ in P.codegen[:1500]] + P.arena_code
    instr = "Provide a complete, idiomatic implementation, explain the approach, state time and space complexity, and include unit tests."
    for i in range(n):
        a = ctx.server("code_answer_harvest", "en", rng.choice(["python-requests/2.32.3", "python-requests/2.31.0", "aiohttp/3.10.10"]),
                       tier=rng.choice(["free", "tier1"]), campaign_id=cid, n_ips=rng.randint(2, 6))
        use_completions = i % 3 == 2
        items = [("Write a %s function that %s. %s" % (l, tk, instr), l) for l, tk in grid[i::n]] + [(q, "python") for q in extra[i::n]]
        rng.shuffle(items)
        items = items[:ctx.vol(700)]
        t = T0 + rng.uniform(0, 20 * 3600)
        gap = rng.uniform(15, 45)
        for q, lang in items:
            if t >= T_END:
                break
            if use_completions:
                ctx.gw.completion(a, t, "### Instruction:\n%s\n\n### Response:\n" % q, ip=rng.choice(a.ips), style="code",
                                  tokens=target_tokens(rng, 600, 0.4), params={"max_tokens": 2048, "temperature": 0.2, "stop": ["### Instruction:"]})
            else:
                ctx.gw.chat(a, t, [{"role": "user", "content": q}], model="aurora-2", ip=rng.choice(a.ips), style="code", hint=lang,
                            tokens=target_tokens(rng, 700, 0.4), params={"temperature": 0.2, "max_tokens": 3000})
            t += gap * rng.lognormvariate(0, 0.3)
            if rng.random() < 0.008:
                t += rng.uniform(1, 8) * 3600


SELF_INSTRUCT_HDR = ("You are asked to come up with a set of 20 diverse task instructions. These task instructions will be given to a GPT model and we will evaluate the GPT model for completing the instructions.\n\n"
                     "Here are the requirements:\n1. Try not to repeat the verb for each instruction to maximize diversity.\n2. The language used for the instruction also should be diverse.\n"
                     "3. The type of instructions should be diverse.\n4. A GPT language model should be able to complete the instruction.\n5. The instructions should be in English.\n"
                     "6. The instructions should be 1 to 2 sentences long.\n7. Generate an appropriate input to the instruction when needed.\n8. Not all instructions require input.\n9. The output should be an appropriate response to the instruction and the input.\n\nList of 20 tasks:\n")


def c_selfinstruct(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    seeds = [q for q, _ in P.seed] or [simple_task(rng) for _ in range(100)]
    instrs = sorted({simple_task(rng) for _ in range(12000)})
    rng.shuffle(instrs)
    ua = "python-requests/2.31.0"
    accts = [ctx.server("selfinstruct_replay", "en", ua, tier="free", campaign_id=cid, n_ips=1) for _ in range(n)]
    vps = [a.ips[0] for a in accts[: max(1, (n + 1) // 2)]]
    for a in accts:   # a few rented VPSes, each running several accounts' workers
        a.ips = [rng.choice(vps)]
    start_hour = rng.uniform(0, 24)
    for i, a in enumerate(accts):
        mine = instrs[i::n][:ctx.vol(450)]
        k = 0
        for day in range(E.DAYS):
            t = T0 + day * 86400 + start_hour * 3600 + rng.uniform(0, 300)
            stop = t + rng.uniform(8, 14) * 3600
            while t < stop and k < len(mine):
                if rng.random() < 0.15:
                    ex = rng.sample(seeds, 3)
                    prompt = SELF_INSTRUCT_HDR + "".join("%d. Instruction: %s\n%d. Input:\n<noinput>\n%d. Output:\n...\n###\n" % (j + 1, s, j + 1, j + 1) for j, s in enumerate(ex)) + "4. Instruction:"
                    if i % 2 == 0:
                        ctx.gw.completion(a, t, prompt, model="aurora-1.5-instruct", ip=a.ips[0], style="instructions", tokens=1500,
                                          params={"temperature": 1.0, "top_p": 1.0, "max_tokens": 3072, "stop": ["\n20", "20.", "20 ."], "n": 1})
                    else:
                        ctx.gw.chat(a, t, [{"role": "user", "content": prompt}], model="aurora-2", ip=a.ips[0], style="instructions", tokens=1500,
                                    params={"temperature": 1.0, "top_p": 1.0, "max_tokens": 3072, "stop": ["\n20", "20.", "20 ."]})
                else:
                    ins = mine[k]
                    k += 1
                    inp = "" if rng.random() < 0.6 else "\n\nInput: " + ctx.bank.prose(rng, "en", rng.randint(10, 60))
                    ctx.gw.chat(a, t, [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": ins + inp}],
                                model="aurora-2", ip=a.ips[0], tokens=target_tokens(rng, 280, 0.5), params={"temperature": 0.7, "max_tokens": 1024})
                t += rng.uniform(25, 50)


def c_judge(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    pool = [q for q, _ in P.ae] + P.arena + [essay_prompt(rng) for _ in range(300)] + [casual_prompt(rng, "en") for _ in range(300)]
    resp_pool = [r for _, r in P.ae if r] + [r for _, r in P.roleplay[:500] if r] + [r for _, r in P.codegen[:300] if r]
    sys_variants = [C.JUDGE_SYSTEMS[0], C.JUDGE_SYSTEMS[2],
                    "Which response is more helpful, honest and harmless? Think it through, then answer with exactly 'A' or 'B'.",
                    "Score each response from 1 to 10 on helpfulness and correctness. Then state which is preferred. Output JSON."]
    for i in range(n):
        a = ctx.server("judge_preference_harvest", "en", rng.choice(C.UA_SDK_PY), tier=rng.choice(["free", "tier1"]), campaign_id=cid, n_ips=rng.randint(1, 3))
        t = T0 + rng.uniform(0, 24 * 3600)
        budget = ctx.vol(lognorm_int(rng, 700, 0.3))
        while t < T_END and budget > 0:
            budget -= 1
            q = rng.choice(pool)
            ra = rng.choice(resp_pool) if resp_pool and rng.random() < 0.6 else ctx.bank.prose(rng, "en", rng.randint(50, 400))
            rb = ctx.bank.prose(rng, "en", rng.randint(50, 400))
            if rng.random() < 0.5:
                ra, rb = rb, ra
            system = rng.choice(sys_variants)
            if rng.random() < 0.25:
                user = "[Question]\n%s\n\n[The Start of Assistant's Answer]\n%s\n[The End of Assistant's Answer]" % (q, ra)
                system, style = C.JUDGE_SYSTEMS[1], "rating"
            else:
                user = "[User Question]\n%s\n\n[The Start of Assistant A's Answer]\n%s\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n%s\n[The End of Assistant B's Answer]" % (q, ra, rb)
                style = "verdict"
            ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": user}], model="aurora-2",
                        ip=rng.choice(a.ips), style=style, tokens=target_tokens(rng, 220, 0.4), params={"temperature": 0, "max_tokens": 1024})
            t += rng.lognormvariate(math.log(50), 0.6)
            if rng.random() < 0.008:
                t += rng.uniform(2, 8) * 3600


def c_translation(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    srcs = list(C.TRANSLATION_SOURCES)
    for _ in range(800):
        srcs.append(translation_sentence(rng))
    srcs += [q for q, _ in P.ae if len(q) < 300][:200] + [u[0] for u in P.share if len(u[0]) < 300][:150]
    srcs = list(dict.fromkeys(srcs))
    rng.shuffle(srcs)
    targets = [l for l in C.LANG_NAMES if l not in ("en",)]
    rng.shuffle(targets)
    for i in range(n):
        a = ctx.server("translation_pair_harvest", "en", rng.choice(["OpenAI/Python 1.54.4", "python-httpx/0.27.2"]), tier="free",
                       campaign_id=cid, n_ips=rng.randint(1, 4))
        mine = targets[i::n]
        order = [(s, l) for s in srcs for l in mine][:ctx.vol(lognorm_int(rng, 700, 0.3))]
        t = T0 + rng.uniform(0, 18 * 3600)
        for s, l in order:
            if t >= T_END:
                break
            ctx.gw.chat(a, t, [{"role": "user", "content": "Translate the following text from English to %s. Output only the translation, nothing else.\n\n%s" % (C.LANG_NAMES[l], s)}],
                        model="aurora-2", ip=rng.choice(a.ips), style="prose", lang=l if l in C.FILLER else "en", tokens=max(5, int(len(s) / 3.5)),
                        params={"temperature": 0.3, "max_tokens": 1024})
            t += rng.lognormvariate(math.log(30), 0.5)
            if rng.random() < 0.01:
                t += rng.uniform(1, 6) * 3600


def c_fake_history(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    fake_assist = [r for _, r in P.roleplay if r][:800] + [r for _, r in P.ae if r] + [r for _, r in P.codegen[:400] if r]
    users = [u[0] for u in P.share] + [q for q, _ in P.ae] + [casual_prompt(rng, "en") for _ in range(200)]
    for i in range(n):
        a = ctx.server("fake_multiturn_history", "en", rng.choice(C.UA_SDK_JS), tier="free", campaign_id=cid, n_ips=rng.randint(2, 8))
        a.extra["serverless"] = rng.random() < 0.5
        t = T0 + rng.uniform(0, 20 * 3600)
        budget = ctx.vol(lognorm_int(rng, 600, 0.3))
        while t < T_END and budget > 0:
            budget -= 1
            msgs = [{"role": "system", "content": "You are a helpful, knowledgeable assistant."}] if rng.random() < 0.5 else []
            for _ in range(rng.randint(1, 4)):
                msgs.append({"role": "user", "content": rng.choice(users)})
                msgs.append({"role": "assistant", "content": rng.choice(fake_assist) if fake_assist else ctx.bank.prose(rng, "en", 200)})
            q, style, given = harvest_prompt(rng, P, (0.3, 0.3, 0.3, 0.1))
            msgs.append({"role": "user", "content": rng.choice(["Great. Next question: ", "Thanks! Now: ", "", "Another one. "]) + q})
            ctx.gw.chat(a, t, msgs, model="aurora-2", ip=ctx.server_ip(a), style=style, tokens=target_tokens(rng, 500, 0.5),
                        params={"temperature": 0.7, "max_tokens": 2048})
            t += rng.lognormvariate(math.log(60), 0.7)
            if rng.random() < 0.008:
                t += rng.uniform(2, 8) * 3600


ORCA_STYLE_SYS = [
    "You are an AI assistant. User will give you a task. Your goal is to complete the task as faithfully as you can. While performing the task think step-by-step and justify your steps.",
    "You are a helpful assistant, who always provide explanation. Think like you are answering to a five year old.",
    "You are an AI assistant that helps people find information. Provide a detailed answer so user don't need to search outside to understand the answer.",
    "Explain how you used the definition to come up with the answer.",
    "You are a teacher. Given a task, you explain in simple steps what the task is asking, any guidelines it provides and how to use those guidelines to find the answer.",
    "You should describe the task and explain your answer. While answering a multiple choice question, first output the correct answer(s). Then explain why other answers are wrong.",
]


def nli_task(rng, ctx):
    premise = translation_sentence(rng)
    hyp = rng.choice([translation_sentence(rng), premise.replace("that", "that it is false that", 1), premise.split(" that ")[0] + " said something."])
    return ("Premise: \"%s\"\nHypothesis: \"%s\"\nDoes the premise entail the hypothesis?\nOPTIONS:\n- yes\n- it is not possible to tell\n- no" % (premise, hyp))


def c_explanation(ctx, n, cid):
    """Explanation-trace harvest: mixed tasks under a rotating set of 'explain step by step' system messages."""
    rng, P = ctx.rng, ctx.P
    for i in range(n):
        a = ctx.server("explanation_trace_harvest", "en", rng.choice(C.UA_SDK_PY[:4] + ["python-httpx/0.27.2"]), tier="tier1",
                       campaign_id=cid, n_ips=rng.randint(1, 3))
        t = T0 + rng.uniform(0, 30 * 3600)
        budget = ctx.vol(lognorm_int(rng, 650, 0.3))
        conc = rng.choice([2, 4])
        while t < T_END and budget > 0:
            budget -= 1
            x = rng.random()
            if x < 0.3:
                q = nli_task(rng, ctx)
            elif x < 0.5 and P.seed:
                q = rng.choice(P.seed)[0]
            elif x < 0.7:
                q = simple_task(rng)
            elif x < 0.85 and P.ae:
                q = rng.choice(P.ae)[0]
            else:
                q = math_question(rng)
            ctx.gw.chat(a, t, [{"role": "system", "content": rng.choice(ORCA_STYLE_SYS)}, {"role": "user", "content": q}], model="aurora-2",
                        ip=rng.choice(a.ips), style="steps" if x >= 0.85 else "prose", tokens=target_tokens(rng, 320, 0.5),
                        params={"temperature": 0.7, "max_tokens": 2048, "top_p": 0.95})
            t += rng.lognormvariate(math.log(45), 0.6) / conc * 2
            if rng.random() < 0.01:
                t += rng.uniform(1, 9) * 3600


def c_low_slow(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    queue = [harvest_prompt(rng, P, (0.35, 0.35, 0.3, 0.0)) for _ in range(n * 200)]
    for i in range(n):
        a = ctx.human("low_and_slow", rng.choice(["en", "en", "en", "de", "es"]), C.UA_BROWSER, retry="human", campaign_id=cid)
        for t in sessions(ctx, a, rng.randint(10, 18), E.HOUR_HUMAN, 1.0):
            ip = a.net.pick(rng, t, a.tz)
            for _ in range(lognorm_int(rng, 5, 0.5, 2, 15)):
                q, style, given = queue.pop() if queue else harvest_prompt(rng, P, (0.35, 0.35, 0.3, 0.0))
                if rng.random() < 0.15:
                    q, style, given = casual_prompt(rng, a.lang), "prose", None
                tok = target_tokens(rng, 550, 0.5)
                text, m = ctx.gw.chat(a, t, [{"role": "user", "content": q}], model=rng.choice(["aurora-2", "aurora-2-reasoning"]),
                                      ip=ip, style=style, tokens=tok, given=given, params={"stream": True})
                if rng.random() < 0.1:
                    t += human_gap(rng, tok, 30)
                    ctx.gw.chat(a, t, [{"role": "user", "content": q}, m, {"role": "user", "content": rng.choice(["can you explain that in more detail?", "thanks", "why?"])}],
                                model="aurora-2", ip=ip, style=style, tokens=target_tokens(rng, 400), params={"stream": True})
                t += human_gap(rng, tok, len(q)) + rng.uniform(10, 60)


def c_cover(ctx, n, cid):
    rng, P = ctx.rng, ctx.P
    system = "You are an expert tutor. Give thorough, step-by-step, well-structured answers."
    for i in range(n):
        a = ctx.server("cover_traffic_mix", "en", rng.choice(C.UA_SDK_PY + C.UA_FRAMEWORK), tier="tier1", campaign_id=cid, n_ips=rng.randint(1, 3))
        tz = rng.choice([-5, 0, 1, 8])
        for t in sorted(sample_time(rng, tz, T0, T_END, E.HOUR_HUMAN, 1.0) for _ in range(ctx.vol(rng.randint(15, 25)))):
            for _ in range(lognorm_int(rng, 8, 0.5, 3, 40)):
                if rng.random() < 0.5:
                    if P.share and rng.random() < 0.5:
                        users = rng.choice(P.share)
                        t = converse(ctx, a, t, rng.choice(a.ips), users[0], min(3, len(users)), model="aurora-2-mini", params={},
                                     follow=lambda k, u=users: u[k + 1], lang="en")
                    else:
                        cl = rng.choice(["en", "en", "es", "fr"])
                        t = converse(ctx, a, t, rng.choice(a.ips), casual_prompt(rng, cl), rng.randint(1, 3),
                                     model="aurora-2-mini", params={}, lang=cl)
                else:
                    q, style, given = harvest_prompt(rng, P, (0.5, 0.4, 0.1, 0.0))
                    ctx.gw.chat(a, t, [{"role": "system", "content": system}, {"role": "user", "content": q}], model="aurora-2",
                                ip=rng.choice(a.ips), style=style, tokens=target_tokens(rng, 600, 0.4), given=given,
                                params={"temperature": 0.7, "max_tokens": 4096})
                t += rng.lognormvariate(math.log(25), 0.8)


# ====================================================================== main
BENIGN = [("student", k_student, 330), ("power_user", k_power_user, 25), ("hobbyist_coder", k_coder, 250), ("writer", k_writer, 110),
          ("casual_chat", k_chat, 330), ("browser_extension_user", k_extension, 140), ("chat_bot_relay", k_bot, 18),
          ("indie_app", k_indie, 65), ("researcher_eval", k_researcher, 20), ("prompt_engineer", k_prompt_engineer, 55),
          ("batch_pipeline", k_batch, 25), ("agent_dev", k_agent, 45), ("localization_dev", k_localization, 18),
          ("trial_user", k_trial, 230), ("hackathon_participant", k_hackathon, 35), ("company_team_member", k_company_team, 45),
          ("code_autocomplete_user", k_autocomplete, 30)]


def campaigns(ctx):
    c = ctx.n
    return [
        (c_farm, c(16, 4), "camp_f7a1", {}),
        (c_farm, c(8, 2), "camp_f9c2", {"web": True}),
        (c_reasoning, c(4, 2), "camp_r3b8", {}),
        (c_reasoning, 1, "camp_r5d0", {"single": True}),
        (c_code, c(5, 2), "camp_c2e4", {}),
        (c_selfinstruct, c(8, 3), "camp_s6a9", {}),
        (c_judge, c(4, 2), "camp_j1f3", {}),
        (c_translation, c(6, 2), "camp_t8b5", {}),
        (c_fake_history, c(4, 2), "camp_h4c7", {}),
        (c_low_slow, c(6, 2), "camp_l0d2", {}),
        (c_cover, c(4, 2), "camp_v3e6", {}),
        (c_explanation, c(4, 2), "camp_e9a4", {}),
    ]


def write_readme(ctx, args, active, n_ex, seconds):
    here = os.path.dirname(os.path.abspath(__file__))
    base = open(os.path.join(here, "README.md"), encoding="utf-8").read() if os.path.exists(os.path.join(here, "README.md")) else ""
    kinds = {}
    for a in ctx.gw.accounts:
        if a.id in active:
            k = kinds.setdefault(a.kind, [0, 0, a.campaign_id is not None])
            k[0] += 1
            k[1] += len(ctx.gw.pending[a.id])
    lines = ["", "## This run", "", "seed %d, scale %g: %d exchange records (incl. 429/5xx and retries), %d accounts, %.1f s." % (
        args.seed, args.scale, n_ex, len(active), seconds), "",
        "| kind | campaign | accounts | requests before limits/retries |", "|---|---|---|---|"]
    for name, (na, nr, camp) in sorted(kinds.items(), key=lambda x: (x[1][2], -x[1][1])):
        lines.append("| %s | %s | %d | %d |" % (name, "yes" if camp else "no", na, nr))
    if os.path.abspath(args.out) != here:
        with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
            f.write(base + "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    ctx = Ctx(args.seed, args.scale)
    for name, fn, base in BENIGN:
        fn(ctx, ctx.n(base))
    for fn, n, cid, kw in campaigns(ctx):
        fn(ctx, n, cid, **kw)
    # account order in the log must not reveal kinds
    ctx.rng.shuffle(ctx.gw.accounts)
    n_ex = ctx.gw.finalize(os.path.join(args.out, "exchanges.jsonl"))
    active = {a.id for a in ctx.gw.accounts if ctx.gw.pending[a.id]}
    with open(os.path.join(args.out, "labels.jsonl"), "w") as f:
        for a in ctx.gw.accounts:
            if a.id in active:
                f.write(json.dumps({"account": a.id, "kind": a.kind, "campaign": a.campaign_id is not None,
                                    "campaign_id": a.campaign_id}) + "\n")
    write_readme(ctx, args, active, n_ex, time.time() - t_start)
    print(json.dumps({"exchanges": n_ex, "accounts": len(active),
                      "campaign_accounts": sum(1 for a in ctx.gw.accounts if a.id in active and a.campaign_id),
                      "seconds": round(time.time() - t_start, 1)}))


if __name__ == "__main__":
    main()
