#!/usr/bin/env python3
"""Red-team traffic: a benign API population plus evasive distillation campaigns.

    generate.py --out DIR --seed N --scale S

writes DIR/exchanges.jsonl (exchange records in time order), DIR/labels.jsonl (one line per account)
and DIR/README.md (strategies and what each harvested). Scale 1 is about 1,400 accounts and ~115k
exchanges over 4 days. Standalone: numpy is not even needed.
"""
import argparse
import json
import math
import os
import random
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import content as C  # noqa: E402

START = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc).timestamp()  # a Monday
DAYS = 4
END = START + DAYS * 86400
CROCK = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# local-hour activity weights
HUMAN = [0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 1.1, 1.2, 1.2, 1.1, 1.1, 1.1, 1.1, 1.1, 1.2, 1.3,
         1.5, 1.6, 1.5, 1.1, 0.6]
WORK = [0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.1, 0.4, 1.2, 1.6, 1.7, 1.5, 1.0, 1.4, 1.6, 1.6, 1.4, 1.0, 0.5,
        0.3, 0.25, 0.2, 0.1, 0.05]
B2C = [0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.8, 0.95, 1.0, 1.05, 1.1, 1.05, 1.0, 1.0, 1.05, 1.1, 1.2,
       1.3, 1.35, 1.25, 1.0, 0.6]

SDK_UAS = ["OpenAI/Python 1.54.0", "OpenAI/Python 1.57.4", "OpenAI/Python 1.61.1", "OpenAI/Python 1.68.2",
           "OpenAI/Python 1.82.0", "AsyncOpenAI/Python 1.59.7", "OpenAI/NodeJS 4.67.3", "OpenAI/NodeJS 4.77.0",
           "OpenAI/NodeJS 5.1.1", "langchain-openai/0.3.9", "python-httpx/0.27.2", "python-requests/2.32.3",
           "axios/1.7.7", "Go-http-client/2.0", "curl/8.5.0"]
CHAT_UAS = ["TypingMind/0.2.1", "ChatBox/1.15.2", "Msty/1.13.0", "LibreChat/0.7.5", "OpenWebUI/0.5.4",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"]
AGENT_UAS = ["Cline/3.2.4", "aider/0.70.0", "continue/0.9.246", "opencode/0.1.9", "Roo-Code/3.3.1"]
RESIDENTIAL = [73, 24, 98, 71, 174, 68, 76, 86, 92, 109, 151, 187, 189, 177, 2, 5, 31, 46, 82, 84, 88, 94, 110, 122]
CLOUD = [3, 13, 18, 34, 35, 44, 52, 54, 104, 138, 146, 159, 167]
MODELS_BIG, MODELS_SMALL = "ds-large", "ds-small"
# per-account volume of each campaign strategy relative to its base pacing (tuned against the scanner)
INTENSITY = {"sybil_chat": 2.5, "app_mimic": 1.3, "low_slow": 1.5, "fabricated_multiturn": 1.5,
             "rotating_swarm": 2.0, "cover_mix": 2.5, "eval_disguise": 1.5, "agent_disguise": 2.0,
             "reasoning_stealth": 1.5, "judge_stealth": 1.2}


def ulid(ts, rng):
    ms = int(ts * 1000)
    head = "".join(CROCK[(ms >> (5 * i)) & 31] for i in range(9, -1, -1))
    return head + "".join(rng.choice(CROCK) for _ in range(16))


def iso(ts):
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


class Account:
    def __init__(self, world, kind, campaign_id=None, tz=None, ua=None, ips=None, n_keys=1):
        rng = world.rng
        self.id = "acct_" + "".join(rng.choice("0123456789abcdef") for _ in range(10))
        self.kind, self.campaign_id = kind, campaign_id
        self.tz = tz if tz is not None else rng.choice([-8, -7, -6, -5, -5, -5, -4, -3, 0, 0, 1, 1, 1, 2, 3, 5, 5.5, 7, 8, 9, 10])
        self.ua = ua or rng.choice(SDK_UAS)
        self.ips = ips or [world.ip(residential=True)]
        self.keys = ["".join(rng.choice("0123456789abcdef") for _ in range(12)) for _ in range(n_keys)]
        world.labels.append({"account": self.id, "kind": kind, "campaign": campaign_id is not None,
                             "campaign_id": campaign_id})


class World:
    def __init__(self, seed, scale, intensity=1.0):
        self.rng = random.Random(seed)
        self.scale = scale
        self.intensity = intensity
        self.ans = C.Answers(seed)
        self.records = []   # (ts, json line)
        self.labels = []
        self.stats = defaultdict(lambda: defaultdict(float))
        self.prompts_seen = defaultdict(set)

    # ------------------------------------------------------------ primitives
    def ip(self, residential=True):
        r = self.rng
        first = r.choice(RESIDENTIAL if residential else CLOUD)
        return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def vol(self, strategy):
        """Per-account volume multiplier of a campaign strategy (its tuned default times --intensity)."""
        return INTENSITY.get(strategy, 1.0) * self.intensity

    def n(self, count, minimum=1):
        return max(minimum, int(round(count * self.scale)))

    def emit(self, acct, t, messages=None, *, model=MODELS_BIG, params=None, kind="prose", tokens=300,
             harvest=False, ip=None, ua=None, prompt=None, endpoint="/v1/chat/completions", lang="python",
             status=200):
        """Write one exchange; returns the answer text (so callers can carry it in a conversation)."""
        if not (START <= t < END):
            return None
        r = self.rng
        params = dict(params or {})
        req = {"model": model}
        if prompt is not None:
            endpoint = "/v1/completions"
            req["prompt"] = prompt
            in_chars = len(prompt)
        else:
            req["messages"] = messages
            in_chars = sum(len(m.get("content") or "") for m in messages)
        req.update(params)
        max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
        want = max(1, int(r.lognormvariate(math.log(max(tokens, 2)), 0.45)))
        finish = "stop"
        if max_tokens and want >= max_tokens:
            want, finish = max_tokens, "length"
        self.last_finish = finish
        rec = {"id": "ex_" + ulid(t, r), "ts": iso(t), "account": acct.id, "key_id": r.choice(acct.keys),
               "ip": ip or r.choice(acct.ips), "user_agent": ua or acct.ua, "endpoint": endpoint, "request": req}
        answer = None
        if status == 200:
            answer = self.ans.text(want, kind, lang)
            ptok = max(1, in_chars // 4 + 4 * len(messages or [1]))
            usage = {"prompt_tokens": ptok, "completion_tokens": want, "total_tokens": ptok + want}
            cid = "chatcmpl-" + "".join(r.choice("0123456789abcdef") for _ in range(24))
            if prompt is not None:
                rec["response"] = {"id": cid, "object": "text_completion", "created": int(t), "model": model,
                                   "choices": [{"index": 0, "text": answer, "finish_reason": finish}], "usage": usage}
            else:
                rec["response"] = {"id": cid, "object": "chat.completion", "created": int(t), "model": model,
                                   "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                                "finish_reason": finish}], "usage": usage}
            if params.get("stream"):
                rec["response"]["streamed"] = True
            rec["status"] = 200
            rec["latency_ms"] = round(r.uniform(180, 900) + want * r.uniform(9, 16), 1)
        else:
            rec["status"] = status
            rec["error"] = {"type": "rate_limit_error" if status == 429 else "server_error",
                            "code": "rate_limit_exceeded" if status == 429 else "upstream_error",
                            "message": "Rate limit reached for requests" if status == 429 else "Upstream failure"}
            rec["latency_ms"] = round(r.uniform(2, 30), 1)
        self.last_finish = finish if status == 200 else "error"
        self.records.append((t, json.dumps(rec, ensure_ascii=False, separators=(",", ":"))))
        st = self.stats[acct.kind]
        st["exchanges"] += 1
        if harvest and status == 200:
            st["harvest_exchanges"] += 1
            st["harvest_tokens"] += want
            convo = tuple(m["content"] for m in messages if m["role"] == "user") if messages else (prompt,)
            self.prompts_seen[acct.kind].add(hash(convo))
        return answer

    # ------------------------------------------------------------ time
    def hour_weighted_time(self, day, tz, profile):
        h = self.rng.choices(range(24), weights=profile)[0]
        return START + day * 86400 + ((h - tz) % 24) * 3600 + self.rng.uniform(0, 3600)

    def sessions(self, acct, per_day, p_active, profile, days=None):
        """Start times of an account's sessions: active days, then hours by its profile, in its own time zone."""
        out = []
        for day in (days if days is not None else range(-1, DAYS + 1)):
            if self.rng.random() > p_active:
                continue
            k = max(0, int(self.rng.gauss(per_day, per_day / 2.5) + 0.5))
            out += [self.hour_weighted_time(day, acct.tz, profile) for _ in range(k)]
        return sorted(out)

    def read_gap(self, answer_tokens, prompt_chars):
        """Seconds a person needs to read an answer and type the next message."""
        read = answer_tokens * 0.75 / self.rng.uniform(3.0, 6.0) * self.rng.uniform(0.2, 1.0)
        typing = prompt_chars / self.rng.uniform(2.5, 6.0)
        return 4 + read + typing + self.rng.lognormvariate(math.log(20), 0.9)


SINGLE_CAP = 480   # per-request answer cap of the single-turn strategies: no request 'asks for a long answer'


def harvest_single(w, a, t, msgs, params, kind, tokens, lang="python", ip=None, cont_gap=(2, 40)):
    """One single-turn harvest request capped at SINGLE_CAP tokens; a cut answer is fetched in a second,
    multi-turn request that carries the partial answer and asks to continue (a 'Continue generating' click)."""
    params = dict(params, max_tokens=SINGLE_CAP)
    ans = w.emit(a, t, list(msgs), params=params, kind=kind, tokens=tokens, harvest=True, lang=lang, ip=ip)
    if ans and w.last_finish == "length":
        more = msgs + [{"role": "assistant", "content": ans}, {"role": "user", "content": w.rng.choice(C.CONTINUES)}]
        w.emit(a, t + len(ans) / 4 * 0.012 + w.rng.uniform(*cont_gap), more, params=params, kind=kind,
               tokens=tokens * 0.5, harvest=True, lang=lang, ip=ip)
    return ans


# ============================================================== benign population

def chat_params(w, acct, style):
    r = w.rng
    if style == "ui":
        p = {"stream": True}
        if getattr(acct, "sends_temp", True):
            p["temperature"] = acct.temp
        if acct.max_tokens:
            p["max_tokens"] = acct.max_tokens
        return p
    p = {"temperature": acct.temp}
    if acct.max_tokens:
        p["max_tokens"] = acct.max_tokens
    if acct.stream:
        p["stream"] = True
    return p


def human_conversation(w, acct, t, families, fam_weights, *, system=None, turns_mean=3.0, harvest=False,
                       cheap_p=0.25, style="ui", tokens_scale=1.0, model=None, register="chat",
                       cover_families=None, continue_p=0.0):
    """One multi-turn conversation as a person has it; returns the time it ended."""
    r = w.rng
    model = model or getattr(acct, "model", MODELS_BIG)
    fam = r.choices(families, weights=fam_weights)[0]
    slots, kind, tok = C.family_task(r, fam)
    text = C.render(r, fam, slots, register)
    msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    n_turns = max(1, min(14, int(r.expovariate(1 / turns_mean)) + 1))
    is_harvest = harvest and (cover_families is None or fam not in cover_families)
    for i in range(n_turns):
        mt = tok * tokens_scale * (0.8 if i else 1.0)
        ans = w.emit(acct, t, list(msgs), model=model, params=chat_params(w, acct, style), kind=kind, tokens=mt,
                     harvest=is_harvest, lang=slots.get("lang", "python"))
        if ans is None:
            break
        msgs.append({"role": "assistant", "content": ans})
        if i == n_turns - 1:
            break
        if is_harvest and r.random() < continue_p:
            nxt = r.choice(C.CONTINUES)   # long answers in pieces: no single request asks for a long one
        elif r.random() < cheap_p:
            nxt = r.choice(C.CHEAP_REPLIES)
            if r.random() < 0.6:
                break   # a thanks usually ends it
        else:
            nxt = C._casual(r, C.follow_up(r, fam), 0.6)
        msgs.append({"role": "user", "content": nxt})
        t += w.read_gap(len(ans) / 4, len(nxt))
    return t


def benign_chat_users(w):
    r = w.rng
    fams = ["everyday", "explain", "writing", "code", "math", "roleplay", "puzzle"]
    for _ in range(w.n(950)):
        a = Account(w, "chat_user", ua=r.choice(CHAT_UAS + SDK_UAS[:4]))
        a.temp = r.choice([0.7, 0.7, 1.0, 0.8, 0.5])
        a.sends_temp = r.random() < 0.5
        a.model = MODELS_BIG if r.random() < 0.7 else MODELS_SMALL
        a.max_tokens = r.choice([None, None, None, 1024, 2048, 4096])
        a.stream = True
        if r.random() < 0.3:
            a.ips.append(w.ip())
        heavy = r.random() < 0.1
        weights = [r.gammavariate(0.5, 1.0) + 0.03 for _ in fams]   # most people stick to one or two kinds of use
        for s in w.sessions(a, per_day=r.uniform(2, 6) if heavy else r.uniform(0.4, 2.0),
                            p_active=r.uniform(0.3, 0.9), profile=HUMAN):
            t = s
            for _ in range(1 + int(r.expovariate(1 / (1.5 if heavy else 0.6)))):
                t = human_conversation(w, a, t, fams, weights, turns_mean=r.uniform(1.2, 4.5)) + r.uniform(30, 900)


def benign_developers(w):
    r = w.rng
    fams = ["code", "explain", "math", "writing", "everyday"]
    for _ in range(w.n(220)):
        a = Account(w, "developer", ua=r.choice(SDK_UAS + CHAT_UAS[:5]))
        a.temp, a.max_tokens, a.stream = r.choice([0.2, 0.7, 0.0, 1.0]), r.choice([None, 800, 2000]), r.random() < 0.5
        a.model = MODELS_BIG if r.random() < 0.8 else MODELS_SMALL
        weights = [6, 2, 0.5, 1, 0.5]
        for s in w.sessions(a, per_day=r.uniform(0.8, 3), p_active=0.7, profile=WORK):
            t = s
            for _ in range(1 + int(r.expovariate(1 / 0.8))):
                t = human_conversation(w, a, t, fams, weights, turns_mean=2.5, style="api", register="dev",
                                       cheap_p=0.1) + r.uniform(60, 1500)


def benign_students(w):
    """Homework helpers: maths and explanations, often long back-and-forth, evenings."""
    r = w.rng
    for _ in range(w.n(90)):
        a = Account(w, "student", ua=r.choice(CHAT_UAS))
        a.temp, a.max_tokens, a.stream = 0.7, None, True
        for s in w.sessions(a, per_day=r.uniform(1, 3), p_active=0.6, profile=HUMAN):
            t = s
            for _ in range(1 + int(r.expovariate(1 / 1.5))):
                t = human_conversation(w, a, t, ["math", "explain", "writing", "puzzle"], [5, 3, 2, 1],
                                       turns_mean=3) + r.uniform(20, 300)


def benign_agent_users(w):
    """Developers driving coding agents: long system prompt, tool loops."""
    r = w.rng
    for _ in range(w.n(45)):
        a = Account(w, "agent_user", ua=r.choice(AGENT_UAS))
        for s in w.sessions(a, per_day=r.uniform(1, 4), p_active=0.75, profile=WORK):
            agent_task(w, a, s, harvest=False)


AGENT_SYSTEM = ("You are {name}, a highly skilled software engineer with extensive knowledge in many programming "
                "languages, frameworks, design patterns, and best practices.\n\nTOOL USE\n\nYou have access to a set "
                "of tools. You can use one tool per message.\n# Tools\n## read_file\n## write_to_file\n## replace_in_file\n"
                "## execute_command\n## search_files\n## list_files\n## ask_followup_question\n## attempt_completion\n\n"
                "RULES\n- The current working directory is: {cwd}\n- Do not ask for more information than necessary.\n"
                "SYSTEM INFORMATION\nOperating System: {os}\nDefault Shell: {shell}")


def agent_task(w, a, t, harvest, task_text=None):
    r = w.rng
    system = AGENT_SYSTEM.format(name=r.choice(["Cline", "Roo", "the assistant"]),
                                 cwd=f"/home/{r.choice(C.NAMES).lower()}/{r.choice(['app', 'api', 'web', 'proj', 'svc'])}",
                                 os=r.choice(["Linux 6.8", "macOS 15.1", "Windows 11"]),
                                 shell=r.choice(["/bin/bash", "/bin/zsh", "powershell"]))
    if task_text is None:
        slots, _, _ = C.family_task(r, "code")
        task_text = C.render(r, "code", slots, "dev")
    msgs = [{"role": "system", "content": system},
            {"role": "user", "content": f"<task>\n{task_text}\n</task>\n<environment_details>\n# Current Working Directory Files\n"
                                        + "\n".join(f"src/{x}.{r.choice(['py', 'ts', 'go'])}" for x in r.sample(
                                            ["main", "utils", "db", "api", "models", "cli", "config", "tests"], 4))
                                        + "\n</environment_details>"}]
    params = {"temperature": 0.0, "stream": True, "max_tokens": 8192}
    for _ in range(r.randint(3, 9)):
        ans = w.emit(a, t, list(msgs), params=params, kind="code", tokens=r.choice([180, 260, 420]), harvest=harvest)
        if ans is None:
            return
        msgs.append({"role": "assistant", "content": ans})
        tool = r.choice(["read_file", "execute_command", "replace_in_file", "search_files"])
        result = C.Answers.text(w.ans, r.randint(60, 400), "code")
        msgs.append({"role": "user", "content": f"[{tool}] Result:\n{result}"})
        t += r.uniform(2, 25) + (r.uniform(20, 240) if r.random() < 0.15 else 0)


def app_pacing(w, acct, per_day, profile, days=None, burst=1.0):
    """Request times of an application: its users' diurnal curve, Poisson arrivals, some bursts."""
    r = w.rng
    out = []
    for day in (days if days is not None else range(DAYS)):
        k = int(r.gauss(per_day, per_day * 0.12))
        for _ in range(max(0, k)):
            t = w.hour_weighted_time(day, acct.tz, profile)
            out.append(t)
            if burst > 1 and r.random() < 0.05:
                out += [t + r.uniform(0, 30) for _ in range(int(burst))]
    return sorted(out)


def benign_apps(w):
    r = w.rng
    specs = [  # kind, accounts at scale 1, requests per day (range)
        ("app_summarise", 8, (40, 260)), ("app_classify", 6, (80, 350)), ("app_translate", 6, (30, 180)),
        ("app_rag", 8, (40, 200)), ("app_extract", 5, (40, 240)), ("app_ide", 4, (100, 450)),
        ("app_productdesc", 5, (25, 140)), ("app_email_assist", 5, (25, 100)), ("app_chatbot", 6, (20, 90)),
        ("app_moderation", 3, (80, 320)), ("app_synthetic_quiz", 3, (20, 100)), ("app_essay_feedback", 3, (20, 120)),
    ]
    for kind, count, (lo, hi) in specs:
        for _ in range(w.n(count)):
            a = Account(w, kind, ua=r.choice(SDK_UAS[:12]), ips=[w.ip(False) for _ in range(r.randint(1, 4))],
                        tz=r.choice([-5, -8, 0, 1, 8, 5.5]), n_keys=r.randint(1, 3))
            per_day = r.uniform(lo, hi) * min(1.0, 0.35 + w.scale)  # apps keep their shape at small scale
            profile = B2C if kind in ("app_chatbot", "app_email_assist", "app_translate") else r.choice([B2C, WORK])
            days = range(DAYS) if r.random() < 0.8 else range(r.randint(0, 2), DAYS)
            app_traffic(w, a, kind, app_pacing(w, a, per_day, profile, days, burst=r.choice([1, 5, 20])))


def app_traffic(w, a, kind, times):
    r = w.rng
    brand = r.choice(["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark"])
    temp = r.choice([0.0, 0.2, 0.3, 0.7])
    lang = r.choice(C.LANGUAGES)
    # each company words its own prompts: two apps of one kind never share a template
    summ = r.choice(["Summarize the following review in one sentence:", "Write a one-line summary of this customer review.",
                     "TL;DR of this review for the product team:", "What is the customer's main point? One sentence.",
                     "Condense this review to a single sentence:"])
    labels = r.sample(["billing", "account_access", "bug", "feature_request", "cancellation", "other", "shipping",
                       "refund", "technical", "sales"], r.randint(4, 7))
    cls = r.choice(["Classify this support ticket into one of: {L}. Reply with the label only.\nTicket: {T}",
                    "Route the message to a team ({L}). Output only the team name.\n\nMessage: {T}",
                    "Categories: {L}\nText: {T}\nCategory:",
                    "You label inbound emails. Allowed labels: {L}.\n---\n{T}\n---\nLabel:"])
    mail = r.choice(["Rewrite this email to sound more {X}:", "Make this message more {X}. Keep it short.",
                     "Polish this draft ({X} tone):", "Can you make my email {X}? Here it is:"])
    quiz = r.choice(["Create {n} multiple-choice quiz questions about {c} for {aud}. Mark the correct answer.",
                     "Write {n} MCQs on {c} (audience: {aud}), four options each, answer key at the end.",
                     "Generate a {n}-question quiz about {c} for {aud}.", "Quiz time! {n} questions on {c}, level: {aud}."])
    essay = r.sample(["Give me feedback on my essay", "How can I improve this paragraph?", "Is my argument convincing?",
                      "Which parts of this are weakest?", "Please review my draft", "Any comments on this?",
                      "Help me make this stronger"], 3)
    for t in times:
        status = 429 if r.random() < 0.004 else 200
        if kind == "app_summarise":
            m = [{"role": "system", "content": f"You summarise customer reviews for {brand}."},
                 {"role": "user", "content": f"{summ}\n\n{C.review(r)}"}]
            w.emit(a, t, m, model=MODELS_SMALL, params={"temperature": temp, "max_tokens": 80}, tokens=35, status=status)
        elif kind == "app_classify":
            m = [{"role": "user", "content": cls.format(L=", ".join(labels), T=C.ticket(r))}]
            w.emit(a, t, m, model=MODELS_SMALL, params={"temperature": 0, "max_tokens": 5}, kind="short", tokens=2, status=status)
        elif kind == "app_translate":
            m = [{"role": "system", "content": f"Translate the user's text from English to {lang}. Output only the translation."},
                 {"role": "user", "content": C.passage(r, r.randint(1, 5))}]
            w.emit(a, t, m, model=MODELS_SMALL, params={"temperature": 0.2}, tokens=90, status=status)
        elif kind == "app_rag":
            q = C.render(r, "explain", C.family_task(r, "explain")[0], "chat")
            m = [{"role": "system", "content": f"You are the {brand} help center assistant. Answer only from the context.\n\n"
                                               f"Context:\n{C.passage(r, r.randint(5, 14))}"},
                 {"role": "user", "content": r.choice([q, C.ticket(r)])}]
            w.emit(a, t, m, params={"temperature": temp, "max_tokens": 400, "stream": True}, tokens=160, status=status)
        elif kind == "app_extract":
            m = [{"role": "system", "content": "Extract invoice_number, date, total, vendor as JSON."},
                 {"role": "user", "content": f"INVOICE {r.randint(1000, 99999)}\nVendor: {brand} {r.choice(['GmbH', 'Inc', 'Ltd'])}\n"
                                             f"Date: 2026-{r.randint(1, 11):02d}-{r.randint(1, 28):02d}\n{C.passage(r, 2)}\n"
                                             f"Total due: {r.randint(10, 9000)}.{r.randint(0, 99):02d}"}]
            w.emit(a, t, m, model=MODELS_SMALL, params={"temperature": 0, "response_format": {"type": "json_object"}},
                   kind="json", tokens=45, status=status)
        elif kind == "app_ide":
            ident = r.choice(["user", "order", "config", "cache", "token", "item", "price"])
            pre = "\n".join(f"def {ident}_{r.randint(1, 99)}(x):\n    return x + {r.randint(1, 9)}" for _ in range(r.randint(1, 6)))
            w.emit(a, t, prompt=pre + f"\n\ndef load_{ident}(path):\n    ", model=MODELS_SMALL,
                   params={"temperature": 0.2, "max_tokens": r.choice([16, 32, 64]), "stop": ["\n\n"], "stream": True},
                   kind="code", tokens=20, status=status)
        elif kind == "app_productdesc":
            p = r.choice(C.PRODUCTS)
            m = [{"role": "system", "content": f"You write product copy for {brand}'s online store. Upbeat, no superlatives."},
                 {"role": "user", "content": f"Product: {p}\nFeatures: {', '.join(r.sample(C.ASPECTS, 3))}\n"
                                             f"Write a {r.choice([60, 80, 120])}-word description."}]
            w.emit(a, t, m, params={"temperature": 0.8, "max_tokens": 300}, tokens=120, status=status)
        elif kind == "app_email_assist":
            m = [{"role": "user", "content": f"{mail.format(X=r.choice(C.TONES))}\n\n{C.ticket(r)} {C.passage(r, 2)}"}]
            w.emit(a, t, m, params={"temperature": 0.7, "stream": True}, tokens=140, status=status)
        elif kind == "app_chatbot":
            # a consumer chatbot backend: many end users' conversations relayed through one account
            t2 = t
            msgs = [{"role": "system", "content": f"You are Pip, {brand}'s friendly assistant. Keep answers short."}]
            fam = r.choice(["everyday", "explain", "roleplay", "writing"])
            slots, kd, tok = C.family_task(r, fam)
            msgs.append({"role": "user", "content": C.render(r, fam, slots, "chat")})
            for _ in range(r.randint(1, 6)):
                ans = w.emit(a, t2, list(msgs), params={"temperature": 0.8, "max_tokens": 500, "stream": True},
                             kind=kd, tokens=tok * 0.6)
                if ans is None:
                    break
                msgs += [{"role": "assistant", "content": ans}, {"role": "user", "content": C.follow_up(r, fam)}]
                t2 += w.read_gap(len(ans) / 4, 30)
        elif kind == "app_moderation":
            m = [{"role": "system", "content": "You are a content moderator. Does the comment violate the community "
                                               "guidelines? Answer yes or no, then one short reason."},
                 {"role": "user", "content": C.review(r)}]
            w.emit(a, t, m, model=MODELS_SMALL, params={"temperature": 0, "max_tokens": 40}, tokens=18, status=status)
        elif kind == "app_essay_feedback":
            draft = w.ans.text(r.randint(120, 400))
            m = [{"role": "system", "content": f"You are {brand} Writing Coach. Give students kind, specific feedback."},
                 {"role": "user", "content": f"{r.choice(essay)}\n\n{draft}"}]
            w.emit(a, t, m, params={"temperature": 0.5, "max_tokens": 700}, tokens=260, status=status)
        elif kind == "app_synthetic_quiz":
            c = r.choice(C.CONCEPTS)
            m = [{"role": "user", "content": quiz.format(n=r.choice([3, 5]), c=c, aud=r.choice(C.AUDIENCES))}]
            w.emit(a, t, m, params={"temperature": 0.9, "max_tokens": 700}, tokens=330, status=status)


def benign_benchmarks(w):
    """One-off evaluation runs: a fixed format, greedy decoding, everything within hours."""
    r = w.rng
    for i in range(w.n(8)):
        a = Account(w, "benchmark_run", ua=r.choice(["lm-eval-harness/0.4.5", "OpenAI/Python 1.54.0", "python-httpx/0.27.2",
                                                      "inspect_ai/0.3.52"]), ips=[w.ip(False)])
        style = r.choice(["mcq", "cot_math", "code", "open", "mcq_logprobs"])
        start = START + r.uniform(0, DAYS - 0.5) * 86400
        n = int(r.uniform(200, 1000) * min(1, 0.35 + w.scale))
        rate = r.uniform(0.3, 3.0)  # requests per second
        t = start
        for j in range(n):
            t += r.expovariate(rate)
            if style in ("mcq", "mcq_logprobs"):
                c = r.choice(C.CONCEPTS)
                prompt = (f"The following is a multiple choice question.\n\nQuestion: Which statement about {c} is correct?\n"
                          + "\n".join(f"{L}. {C.passage(r, 1)}" for L in "ABCD") + "\nAnswer:")
                p = {"temperature": 0, "max_tokens": 1}
                if style == "mcq_logprobs":
                    p.update(logprobs=True, top_logprobs=5)
                w.emit(a, t, [{"role": "user", "content": prompt}], params=p, kind="short", tokens=1)
            elif style == "cot_math":
                q = C._math(r)
                w.emit(a, t, [{"role": "user", "content": f"Question: {q}\nLet's think step by step. "
                                                          f"At the end, write 'The answer is N'."}],
                       params={"temperature": 0, "max_tokens": 512}, tokens=220)
            elif style == "code":
                slots, _, _ = C.family_task(r, "code")
                w.emit(a, t, [{"role": "user", "content": f"Complete the following {slots['lang']} function so that it can "
                                                          f"{slots['task']}. Return only code."}],
                       params={"temperature": 0, "max_tokens": 768}, kind="code", tokens=260)
            else:
                fam = r.choice(["explain", "writing", "code", "math"])
                w.emit(a, t, [{"role": "user", "content": C.render(r, fam, C.family_task(r, fam)[0], "api")}],
                       params={"temperature": 0, "max_tokens": 2048}, tokens=400)


# ============================================================== campaigns

HARVEST_FAMS = ["code", "math", "explain", "writing", "puzzle", "roleplay"]
HARVEST_W = [3.0, 2.0, 2.0, 1.5, 1.0, 0.5]


def campaign_sybil_chat(w):
    """Many accounts, each an ordinary-looking chat user; the harvest is the conversation itself."""
    r = w.rng
    cid = "c_sybil_chat"
    enrol = START + r.uniform(-0.5, 0.5) * 86400
    for _ in range(w.n(45, 4)):
        a = Account(w, "sybil_chat", cid, ua=r.choice(CHAT_UAS + SDK_UAS[:4]), tz=r.choice([-8, -5, -5, 0, 1, 2, 5.5, 8]))
        a.temp, a.max_tokens, a.stream = r.choice([0.7, 0.7, 1.0]), r.choice([None, None, 800]), True
        a.sends_temp = r.random() < 0.5
        if r.random() < 0.4:
            a.ips.append(w.ip())
        first = enrol + r.uniform(0, 1.5) * 86400
        weights = [x * r.uniform(0.5, 1.5) for x in HARVEST_W]
        for s in w.sessions(a, per_day=r.uniform(2.0, 4.0) * w.vol("sybil_chat"), p_active=0.85, profile=HUMAN):
            if s < first:
                continue
            t = s
            for _ in range(1 + int(r.expovariate(1 / 1.2))):
                t = human_conversation(w, a, t, HARVEST_FAMS + ["everyday"], weights + [0.6], turns_mean=2.6,
                                       harvest=True, cheap_p=0.08, continue_p=0.15,
                                       cover_families={"everyday"}) + r.uniform(20, 400)


def campaign_app_mimic(w):
    """Looks like a writing-assistant SaaS (one system prompt, one user template) sweeping capabilities."""
    r = w.rng
    products = [("Quillmate", "a writing and productivity assistant"), ("StudyNest", "a homework and study helper"),
                ("DevPal", "a coding helper for beginners"), ("Brightly", "an all-purpose assistant for small businesses")]
    for i in range(w.n(3, 2)):
        name, what = products[i % len(products)]
        a = Account(w, "app_mimic", "c_app_mimic", ua=r.choice(SDK_UAS[:9]), ips=[w.ip(False) for _ in range(2)],
                    tz=r.choice([-5, 0, 1]), n_keys=2)
        system = f"You are {name}, {what}. Be clear, accurate and friendly. Use markdown where helpful."
        per_day = r.uniform(250, 500) * w.vol("app_mimic") * min(1, 0.35 + w.scale)
        weights = [x * r.uniform(0.3, 2) for x in HARVEST_W]
        for t in app_pacing(w, a, per_day, B2C):
            fam = r.choices(HARVEST_FAMS, weights=weights)[0]
            slots, kind, tok = C.family_task(r, fam)
            text = C.render(r, fam, slots, "chat")  # the app's end users typed these
            mode = r.choice(["Ask", "Ask", "Write", "Explain"])
            m = [{"role": "system", "content": system},
                 {"role": "user", "content": f"[{mode}] {text}"}]
            harvest_single(w, a, t, m, {"temperature": 0.7, "stream": True}, kind, tok, slots.get("lang", "python"))


def campaign_low_slow(w):
    """A handful of patient accounts: human sessions every day, cover chats, long answers via follow-ups."""
    r = w.rng
    for _ in range(w.n(8, 2)):
        a = Account(w, "low_slow", "c_low_slow", ua=r.choice(CHAT_UAS))
        a.temp, a.max_tokens, a.stream = 0.7, None, True
        for s in w.sessions(a, per_day=r.uniform(2, 4) * w.vol("low_slow"), p_active=0.95, profile=HUMAN):
            t = s
            for _ in range(1 + int(r.expovariate(1 / 1.0))):
                t = human_conversation(w, a, t, HARVEST_FAMS + ["everyday"], HARVEST_W + [3.0], turns_mean=3.5,
                                       harvest=True, cheap_p=0.15, continue_p=0.3,
                                       cover_families={"everyday"}) + r.uniform(60, 900)


def campaign_fabricated_multiturn(w):
    """A 'companion chatbot platform': every request carries a conversation the attacker wrote itself."""
    r = w.rng
    for i in range(w.n(4, 2)):
        a = Account(w, "fabricated_multiturn", "c_fabricated", ua=r.choice(["OpenAI/NodeJS 4.77.0", "OpenAI/NodeJS 5.1.1",
                                                                            "OpenAI/Python 1.61.1"]),
                    ips=[w.ip(False) for _ in range(r.randint(1, 3))], tz=r.choice([-5, -8, 0]))
        persona = r.choice(["Nova", "Sage", "Milo", "Aria", "Kai"])
        system = f"You are {persona}, a warm, knowledgeable companion. Answer thoroughly and naturally."
        per_day = r.uniform(200, 450) * w.vol("fabricated_multiturn") * min(1, 0.35 + w.scale)
        live = []  # conversations the platform continues with our real answers
        for t in app_pacing(w, a, per_day, B2C):
            if live and r.random() < 0.35:
                msgs, fam = live.pop(r.randrange(len(live)))
                msgs.append({"role": "user", "content": C.follow_up(r, fam)})
            else:
                fam = r.choices(HARVEST_FAMS + ["everyday"], weights=HARVEST_W + [1.0])[0]
                msgs = [{"role": "system", "content": system}]
                for _ in range(r.randint(1, 3)):  # fabricated prior turns (written by the attacker's own model)
                    f0 = r.choice(["everyday", "explain", "writing"])
                    msgs.append({"role": "user", "content": C.render(r, f0, C.family_task(r, f0)[0], "chat")})
                    msgs.append({"role": "assistant", "content": w.ans.text(r.randint(40, 160))})
                msgs.append({"role": "user", "content": C.render(r, fam, C.family_task(r, fam)[0], "chat")})
            slots_kind = "code" if fam == "code" else "prose"
            ans = w.emit(a, t, list(msgs), params={"temperature": 0.8, "max_tokens": 1000, "stream": True},
                         kind=slots_kind, tokens=300, harvest=True)
            if ans and len(msgs) < 12 and r.random() < 0.6:
                live.append((msgs + [{"role": "assistant", "content": ans}], fam))
                if len(live) > 40:
                    live.pop(0)


def campaign_rotating_swarm(w):
    """Short-lived API accounts, each its own slice of a paraphrased instruction set, IPs rotated per request."""
    r = w.rng
    n = w.n(40, 6)
    for i in range(n):
        a = Account(w, "rotating_swarm", "c_swarm", ua=r.choice(SDK_UAS), n_keys=r.randint(1, 3),
                    tz=r.choice([-8, -5, 0, 1, 8]))
        temp = r.choice([0.6, 0.7, 0.8, 1.0])
        first_day = r.uniform(-0.5, DAYS - 1.5)
        days = [int(first_day + k) for k in range(r.randint(1, 2))]
        weights = [x * r.uniform(0.3, 2) for x in HARVEST_W]
        for s in w.sessions(a, per_day=r.uniform(2, 5) * w.vol("rotating_swarm"), p_active=1.0, profile=WORK, days=days):
            t = s
            for _ in range(r.randint(2, 14)):
                fam = r.choices(HARVEST_FAMS, weights=weights)[0]
                slots, kind, tok = C.family_task(r, fam)
                text = C.contextualize(r, C.render(r, fam, slots, "api"))
                harvest_single(w, a, t, [{"role": "user", "content": text}], {"temperature": temp}, kind, tok,
                               slots.get("lang", "python"), ip=w.ip())
                t += r.lognormvariate(math.log(300), 0.9)


def campaign_cover_mix(w):
    """Developer-looking accounts: half their traffic is genuine-looking dev chat, harvest rides along."""
    r = w.rng
    for _ in range(w.n(8, 2)):
        a = Account(w, "cover_mix", "c_cover_mix", ua=r.choice(SDK_UAS[:10]))
        a.temp, a.max_tokens, a.stream = 0.7, 480, r.random() < 0.5   # its script caps answers; 'continue' gets the rest
        for s in w.sessions(a, per_day=r.uniform(2, 5) * w.vol("cover_mix"), p_active=0.8, profile=WORK):
            t = s
            for _ in range(1 + int(r.expovariate(1 / 1.2))):
                if r.random() < 0.5:
                    t = human_conversation(w, a, t, ["code", "explain", "everyday"], [5, 1, 1], turns_mean=2.5,
                                           style="api", register="dev", cheap_p=0.15)
                else:
                    t = human_conversation(w, a, t, HARVEST_FAMS, HARVEST_W, turns_mean=2.0, style="api",
                                           register="dev", harvest=True, cheap_p=0.05, continue_p=0.3)
                t += r.uniform(60, 1200)


def campaign_eval_disguise(w):
    """Looks like an MT-bench-style two-turn benchmark run (one burst, greedy) over a harvest instruction set."""
    r = w.rng
    for i in range(w.n(3, 2)):
        a = Account(w, "eval_disguise", "c_eval_disguise", ua=r.choice(["OpenAI/Python 1.54.0", "inspect_ai/0.3.52"]),
                    ips=[w.ip(False)])
        start = START + r.uniform(0.2, DAYS - 0.7) * 86400
        n = int(r.uniform(300, 700) * w.vol("eval_disguise") * min(1, 0.35 + w.scale))
        rate = r.uniform(0.02, 0.05) * w.vol("eval_disguise")   # questions per second: one or two workers
        t = start
        params = {"temperature": 0}
        for _ in range(n):
            t += r.expovariate(rate)
            fam = r.choices(HARVEST_FAMS, weights=HARVEST_W)[0]
            slots, kind, tok = C.family_task(r, fam)
            msgs = [{"role": "user", "content": C.render(r, fam, slots, "api")}]
            ans = harvest_single(w, a, t, msgs, params, kind, tok, slots.get("lang", "python"))
            if ans:   # the benchmark's second turn, sent once the first answer is back
                msgs += [{"role": "assistant", "content": ans}, {"role": "user", "content": C.follow_up(r, fam)}]
                w.emit(a, t + len(ans) / 4 * 0.012 + r.uniform(0.5, 3), msgs, params=params, kind=kind,
                       tokens=min(tok, 330) * 0.8, harvest=True, lang=slots.get("lang", "python"))


def campaign_agent_disguise(w):
    """Coding-agent clients whose 'tasks' sweep a coding curriculum: harvests agent trajectories."""
    r = w.rng
    for _ in range(w.n(5, 2)):
        a = Account(w, "agent_disguise", "c_agent_disguise", ua=r.choice(AGENT_UAS))
        for s in w.sessions(a, per_day=r.uniform(4, 8) * w.vol("agent_disguise"), p_active=0.9, profile=WORK):
            t = s
            for _ in range(r.randint(1, 3)):
                agent_task(w, a, t, harvest=True)
                t += r.uniform(300, 1800)


def campaign_reasoning_stealth(w):
    """A 'tutoring app' that harvests worked solutions (reasoning traces) without any of the usual reasoning asks."""
    r = w.rng
    names = ["Mentora", "Tutorly", "SolveIt", "Brainy"]
    for i in range(w.n(3, 2)):
        a = Account(w, "reasoning_stealth", "c_reasoning_stealth", ua=r.choice(SDK_UAS[:9]),
                    ips=[w.ip(False) for _ in range(r.randint(1, 3))], tz=r.choice([-5, -8, 0, 1, 5.5]), n_keys=2)
        system = (f"You are {names[i % len(names)]}, a patient maths and logic tutor. Teach the student how to solve "
                  "the problem: write out the full solution in order, check the result, and end with 'Final answer:'.")
        per_day = r.uniform(200, 400) * w.vol("reasoning_stealth") * min(1, 0.35 + w.scale)
        for t in app_pacing(w, a, per_day, B2C):
            fam = "math" if r.random() < 0.75 else "puzzle"
            slots, kind, tok = C.family_task(r, fam)
            msgs = [{"role": "system", "content": system}, {"role": "user", "content": C.render(r, fam, slots, "chat")}]
            ans = harvest_single(w, a, t, msgs, {"temperature": 0.3, "stream": True}, kind, tok * 1.3)
            if ans and r.random() < 0.25:   # the 'student' asks about a step: one more worked explanation
                msgs += [{"role": "assistant", "content": ans}, {"role": "user", "content": C.follow_up(r, fam)}]
                w.emit(a, t + w.read_gap(len(ans) / 4, 40), msgs, params={"temperature": 0.3, "stream": True,
                       "max_tokens": SINGLE_CAP}, kind=kind, tokens=tok, harvest=True)


def campaign_judge_stealth(w):
    """An 'A/B draft comparison' tool that harvests pairwise preferences and critiques (judge/reward-model data)
    without any rate/grade/score/judge wording."""
    r = w.rng
    names = ["DraftDuel", "PickPro", "Versus Writer"]
    q_labels = ["Question:", "Task:", "Prompt:", "The request was:", "Original question -", "Q:"]
    c_labels = [("Answer 1:", "Answer 2:"), ("Reply A:", "Reply B:"), ("(1)", "(2)"), ("Draft X:", "Draft Y:"),
                ("Option A -", "Option B -"), ("First version:", "Second version:")]
    pair_asks = ["Which of these two answers is better, and why?", "Which one is clearer and more accurate?",
                 "Which one would you send, and what would you change?", "Which response handles this better? Explain briefly.",
                 "Tell me which one you prefer and what the other one gets wrong.", "Which is more helpful for the person asking?"]
    single_asks = ["Is this answer right? What would you improve?", "What's missing or wrong here, and how could it be better?",
                   "How would you improve this answer?", "Does this answer hold up? Point out any mistakes."]

    def account_forms():
        ql, (c1, c2) = r.choice(q_labels), r.choice(c_labels)
        pa, sa = r.choice(pair_asks), r.choice(single_asks)
        pair = (f"{pa}\n\n{ql} {{q}}\n\n{c1}\n{{a}}\n\n{c2}\n{{b}}" if r.random() < 0.5
                else f"{ql} {{q}}\n\n{c1}\n{{a}}\n\n{c2}\n{{b}}\n\n{pa}")
        single = f"{ql} {{q}}\nAnswer: {{a}}\n\n{sa}"
        return [pair, pair, single]

    for i in range(w.n(3, 2)):
        a = Account(w, "judge_stealth", "c_judge_stealth", ua=r.choice(SDK_UAS[:9]),
                    ips=[w.ip(False) for _ in range(r.randint(1, 2))], tz=r.choice([-5, -8, 0, 1]), n_keys=2)
        system = f"You are {names[i % len(names)]}, an assistant that helps people choose between drafts and improve them."
        per_day = r.uniform(150, 300) * w.vol("judge_stealth") * min(1, 0.35 + w.scale)
        my_forms = account_forms()
        for t in app_pacing(w, a, per_day, B2C):
            fam = r.choices(HARVEST_FAMS, weights=HARVEST_W)[0]
            q = C.render(r, fam, C.family_task(r, fam)[0], "api")
            cand = [w.ans.text(r.randint(60, 220), "code" if fam == "code" else "prose") for _ in range(2)]
            text = r.choice(my_forms).format(q=q, a=cand[0], b=cand[1])
            harvest_single(w, a, t, [{"role": "system", "content": system}, {"role": "user", "content": text}],
                           {"temperature": 0.2}, "prose", 230)


BENIGN = [benign_chat_users, benign_developers, benign_students, benign_agent_users, benign_apps, benign_benchmarks]
CAMPAIGNS = [campaign_sybil_chat, campaign_app_mimic, campaign_low_slow, campaign_fabricated_multiturn,
             campaign_rotating_swarm, campaign_cover_mix, campaign_eval_disguise, campaign_agent_disguise,
             campaign_reasoning_stealth, campaign_judge_stealth]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--intensity", type=float, default=1.0,
                    help="multiply every campaign account's volume (for finding the detection frontier)")
    ap.add_argument("--campaigns-only", action="store_true", help="skip the benign population (probing)")
    args = ap.parse_args(argv)
    t0 = time.time()
    w = World(args.seed, args.scale, args.intensity)
    for fn in ([] if args.campaigns_only else BENIGN) + CAMPAIGNS:
        fn(w)
    os.makedirs(args.out, exist_ok=True)
    w.records.sort(key=lambda x: x[0])
    with open(os.path.join(args.out, "exchanges.jsonl"), "w") as f:
        for _, line in w.records:
            f.write(line + "\n")
    active = {json.loads(line)["account"] for _, line in w.records}
    labels = [x for x in w.labels if x["account"] in active]
    with open(os.path.join(args.out, "labels.jsonl"), "w") as f:
        for lab in labels:
            f.write(json.dumps(lab) + "\n")
    import readme
    readme.write(args, w, labels)
    n_camp = sum(x["campaign"] for x in labels)
    print(f"wrote {len(w.records)} exchanges of {len(labels)} accounts ({n_camp} campaign) to {args.out} "
          f"in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
