"""Distillation campaign shapes. Each builder receives all accounts of one campaign."""
import json
import math

import vocab as V
from core import (block24, ips_in, resi_ip, vps_ip, cloud_ips, VPS_FIRST, ua_python, ua_node, ua_misc,
                  ua_chatapp, ua_framework, fill, filler)
from benign import lognorm_int, pick, chat_opening


def any_instruction(g, r, weights=None):
    """A prompt from a broad, mixed instruction pool (datasets plus own templates)."""
    d = g.data
    srcs = ["self", "arena", "alpaca_eval", "seed", "code", "sweep", "roleplay", "gsm", "chat"]
    w = weights or [30, 10, 8, 4, 12, 12, 6, 6, 12]
    s = r.choices(srcs, w)[0]
    if s == "arena" and d.get("arena_hard_v0.1"):
        return r.choice(d["arena_hard_v0.1"])["prompt"]
    if s == "alpaca_eval" and d.get("alpaca_eval_users"):
        return r.choice(d["alpaca_eval_users"])["prompt"]
    if s == "seed" and d.get("alpaca_seed_tasks"):
        return r.choice(d["alpaca_seed_tasks"])["prompt"]
    if s == "code":
        if d.get("gpteacher_codegen") and r.random() < 0.5:
            return r.choice(d["gpteacher_codegen"])["prompt"]
        return code_prompt(r)
    if s == "sweep":
        return sweep_prompt(r)
    if s == "roleplay":
        if d.get("gpteacher_roleplay") and r.random() < 0.6:
            return r.choice(d["gpteacher_roleplay"])["prompt"]
        return r.choice(V.ROLEPLAY_SETUPS)
    if s == "gsm":
        return math_prompt(g, r)
    if s == "chat":
        return chat_opening(g, r, "en")[0]
    return fill(r, r.choice(V.SELF_INSTRUCT_VERBS))


def prompt_queue(g, r, n, weights=None):
    """A campaign's shared work list: distinct prompts, handed out once across all its accounts."""
    seen, out = set(), []
    for _ in range(int(n * 1.6) + 10):
        p = any_instruction(g, r, weights)
        if p not in seen:
            seen.add(p)
            out.append(p)
    r.shuffle(out)
    while len(out) < n:
        out.append(any_instruction(g, r, weights))
    return iter(out)


def code_prompt(r):
    return fill(r, r.choice(V.CODE_PHRASES), lang=r.choice(V.CODE_LANGS), task=r.choice(V.CODE_TASKS), c=r.choice(V.CODE_CONSTRAINTS))


def sweep_prompt(r, domain=None, lang=None):
    domain = domain or r.choice(list(V.SWEEP_DOMAINS))
    x = r.choice(V.SWEEP_DOMAINS[domain])
    p = r.choice(V.SWEEP_TASKS).format(x=x) + r.choice(V.SWEEP_LEVELS)
    if lang:
        p = V.SWEEP_I18N[lang] + p
    return p


def math_prompt(g, r):
    d = g.data
    x = r.random()
    if x < 0.45 and d.get("gsm8k_train"):
        return r.choice(d["gsm8k_train"])["prompt"]
    if x < 0.75:
        return fill(r, r.choice(V.MATH_WORD), a=r.randint(2, 80), b=r.randint(2, 30), c=r.randint(2, 90), p=r.randint(1, 9), q=r.randint(1, 5),
                    bill=r.choice([20, 50, 100]), h=r.randint(2, 12), d=r.randint(2, 9), tax=r.choice([5, 8, 10, 20]))
    names = r.sample(V.FIRST_NAMES, 5)
    return fill(r, r.choice(V.LOGIC_PUZZLES), names=", ".join(names), a=names[0], b=names[1], c=names[2], d=r.randint(100, 900),
                x=r.choice(["bloops", "engineers", "cats"]), y=r.choice(["razzies", "musicians", "mammals"]), z=r.choice(["lazzies", "painters", "pets"]),
                c1=r.choice(V.CITIES), c2=r.choice(V.CITIES), h=r.randint(6, 11), h2=r.randint(6, 11), v=r.randint(60, 140), v2=r.randint(60, 140),
                r1=r.randint(1, 4), d1=r.randint(5, 9), r2=r.randint(1, 6), d2=r.randint(7, 13), p=r.randint(20, 90), k=r.randint(2, 9), n=r.randint(4, 9), m=r.randint(3, 9))


def steady_times(g, r, n, lo, hi, jitter=0.6):
    """Machine pacing: roughly constant inter-arrival across [lo, hi) with multiplicative jitter."""
    if n <= 0:
        return []
    gap = (hi - lo) / n
    t, out = lo + r.uniform(0, gap), []
    for _ in range(n):
        out.append(t)
        t += gap * math.exp(r.gauss(0, jitter)) / math.exp(jitter * jitter / 2)
    return [x for x in out if x < g.clock.span()]


def harvest_answer_len(r):
    return lognorm_int(r, 650, 0.5, 60, 4000)


# ------------------------------------------------------------------ shapes
def code_harvest(g, accts):
    """One account pulling code answers around the clock (or in long business-day sessions)."""
    r, E = g.r, g.E
    for a in accts:
        style = r.choice(["247", "workday"])
        a.ips = [vps_ip(r)] if style == "247" else cloud_ips(r, 2)
        a.ua = r.choice(["python-httpx/0.27.2", ua_python(r), "aiohttp/3.10.10"]) if style == "247" else ua_node(r)
        a.rpm = 500
        model = pick(r, r.choice(["large", "large", "reason"]))
        system = r.choice(["You are an expert software engineer. Always return complete, runnable code followed by a thorough explanation.",
                           "You are a senior developer. Answer with full code and explain your design decisions.", None])
        total = lognorm_int(r, 1600, 0.35, 700, 4000)
        mt = r.choice([4096, 4096, 2048, None])
        if style == "247":
            times = steady_times(g, r, total, a.lo, a.hi, 0.9)
        else:
            times = sorted(g.clock.sample(r, a.tz, "business", a.lo, a.hi) for _ in range(total))
        d = g.data.get("gpteacher_codegen") or []
        for t in times:
            prompt = r.choice(d)["prompt"] if d and r.random() < 0.4 else code_prompt(r)
            msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
            p = {"max_tokens": mt} if mt else {}
            if "reason" not in model:
                p["temperature"] = 0.2
            E.chat(a, t, msgs, model, out_tok=harvest_answer_len(r), code=True, params=p,
                   reasoning=lognorm_int(r, 1500, 0.6) if "reason" in model else 0)


def reasoning_harvest(g, accts):
    """Several accounts of one operator harvesting full reasoning traces on maths and logic."""
    r, E = g.r, g.E
    blk = block24(r, ["34.{}", "35.{}", "52.{}", "146.{}", "159.{}"])
    ua = ua_python(r)
    sysp = r.choice(V.REASONING_SYS)
    for a in accts:
        a.ips = ips_in(r, blk, r.randint(1, 3))
        a.ua = ua if r.random() < 0.8 else ua_python(r)
        a.rpm = 500
        model = pick(r, "reason") if r.random() < 0.6 else pick(r, "large")
        include_reasoning = r.random() < 0.5
        total = lognorm_int(r, 600, 0.4, 200, 1600)
        lo = r.uniform(0, g.clock.span() * 0.3)
        for t in steady_times(g, r, total, lo, g.clock.span(), 0.7):
            q = math_prompt(g, r)
            if r.random() < 0.5:
                msgs = [{"role": "system", "content": sysp}, {"role": "user", "content": q}]
            else:
                msgs = [{"role": "user", "content": q + r.choice(V.REASONING_SUFFIX)}]
            p = {"max_tokens": 8192}
            reasoning = 0
            if "reason" in model:
                p["reasoning_effort"] = "high"
                if include_reasoning:
                    p["include_reasoning"] = True
                reasoning = lognorm_int(r, 2200, 0.5, 200, 7000)
            else:
                p["temperature"] = r.choice([0.7, 0.8])
            E.chat(a, t, msgs, model, out_tok=lognorm_int(r, 520, 0.4), params=p, reasoning=reasoning)


def hydra_proxy(g, accts):
    """Many throwaway accounts behind one datacenter proxy range, one client build, a shared instruction list."""
    r, E = g.r, g.E
    pool = []
    for _ in range(r.randint(2, 4)):
        pool += ["%s.%d" % (block24(r, VPS_FIRST[:12]), h) for h in range(2, 254)]
    ua = "OpenAI/Python " + r.choice(["1.35.13", "1.40.6", "1.12.0"])
    model = pick(r, "large")
    span = g.clock.span()
    totals = [lognorm_int(r, 130, 0.4, 50, 350) for _ in accts]
    work = prompt_queue(g, r, sum(totals))
    for a, total in zip(accts, totals):
        a.ua = ua
        a.rpm = 60
        a.ips = pool
        start = r.uniform(0, span * 0.75)
        end = min(span, start + r.uniform(0.15, 0.6) * span)
        for t in steady_times(g, r, total, start, end, 1.0):
            prompt = next(work)
            E.chat(a, t, [{"role": "user", "content": prompt}], model, out_tok=harvest_answer_len(r),
                   ip=r.choice(pool), params={"temperature": 0.7, "max_tokens": 2048})


def hydra_residential(g, accts):
    """Accounts on a residential proxy service: new exit IP per request, varied client builds, human-ish hours."""
    r, E = g.r, g.E
    d = g.data
    for a in accts:
        a.ua = r.choice([ua_chatapp(r), ua_python(r), ua_node(r), ua_misc(r), ua_framework(r)])
        a.rpm = 60
        a.ips = [resi_ip(r)]
        model = pick(r, r.choice(["large", "large", "small"]))
        temp = r.choice([None, 0.7, 0.8, 1.0])
        mt = r.choice([None, 1024, 2048, 4096])
        lang_zh = r.random() < 0.35
        total = lognorm_int(r, 170, 0.45, 60, 450)
        pattern = r.choice(["consumer", "business", "dev"])
        for _ in range(total):
            t = g.clock.sample(r, a.tz, pattern, a.lo, a.hi)
            x = r.random()
            if x < 0.3:
                prompt = r.choice(d["gpteacher_roleplay"])["prompt"] if d.get("gpteacher_roleplay") and r.random() < 0.6 else r.choice(V.ROLEPLAY_SETUPS)
            elif x < 0.55:
                prompt = chat_opening(g, r, "en")[0]
            elif x < 0.75 and lang_zh:
                prompt = V.SWEEP_I18N["zh"] + any_instruction(g, r, [40, 0, 10, 10, 10, 20, 0, 10, 0])
            else:
                prompt = any_instruction(g, r)
            p = {"max_tokens": mt} if mt else {}
            if temp is not None:
                p["temperature"] = temp
            E.chat(a, t, [{"role": "user", "content": prompt}], model, out_tok=harvest_answer_len(r), ip=resi_ip(r), params=p)


def instruction_replay(g, accts):
    """Replaying a large instruction set as fast as the limits allow, in a few long jobs."""
    r, E = g.r, g.E
    ua = r.choice([ua_python(r), "python-httpx/0.27.2", "aiohttp/3.10.10"])
    sysp = "You are a helpful assistant."
    work = prompt_queue(g, r, 6000 * len(accts), [35, 5, 15, 15, 10, 5, 10, 5, 0])
    for a in accts:
        a.ua = ua
        a.ips = [vps_ip(r)] + ([vps_ip(r)] if r.random() < 0.5 else [])
        a.rpm = r.choice([60, 200, 500])
        a.retries = 6
        a.add_keys(r, r.randint(0, 5))
        rr = [0]
        prompts = []
        for job in range(r.randint(1, 2)):
            if job == 0 or r.random() < 0.5:
                prompts = [next(work) for _ in range(lognorm_int(r, 500, 0.5, 150, 1200))]
                model = pick(r, "large")
            else:
                model = pick(r, "reason")  # replay the same list against another model
            t = r.uniform(0, g.clock.span() - 3600 * 8)
            rps = min(r.choice([4, 8, 16]) / 5.5, a.rpm / 60.0 * r.uniform(0.9, 1.3))  # runs at, or a little past, its limit
            for i, prompt in enumerate(prompts):
                rr[0] += 1  # round-robin over the account's keys
                p = {"temperature": 0.7, "max_tokens": 2048, "top_p": 1.0} if "reason" not in model else {"max_completion_tokens": 8192}
                E.chat(a, t + i / rps * r.uniform(0.5, 1.5), [{"role": "system", "content": sysp}, {"role": "user", "content": prompt}], model,
                       out_tok=harvest_answer_len(r), params=p, key=a.keys[rr[0] % len(a.keys)],
                       reasoning=lognorm_int(r, 1500, 0.6) if "reason" in model else 0)


def capability_sweep(g, accts):
    """Systematic walk over domain x task x level x language, split across a few accounts."""
    r, E = g.r, g.E
    grid = []
    for dom, xs in V.SWEEP_DOMAINS.items():
        for x in xs:
            for task in V.SWEEP_TASKS:
                for lvl in V.SWEEP_LEVELS:
                    grid.append((dom, task.format(x=x) + lvl))
    langs = [None, None, None] + list(V.SWEEP_I18N)
    blk = block24(r, VPS_FIRST)
    ua = r.choice([ua_python(r), ua_node(r), ua_misc(r)])
    model = pick(r, "large")
    share = len(grid) // len(accts)
    r.shuffle(grid)
    grid.sort(key=lambda it: it[0])  # walks domain by domain
    for i, a in enumerate(accts):
        a.ua = ua
        a.ips = ips_in(r, blk, 2)
        a.rpm = 200
        items = grid[i * share:(i + 1) * share]
        items = items[:lognorm_int(r, 700, 0.3, 250, len(items))]
        start = r.uniform(0, g.clock.span() * 0.4)
        for t, (dom, p) in zip(steady_times(g, r, len(items), start, g.clock.span(), 0.5), items):
            lang = r.choice(langs)
            if lang:
                p = V.SWEEP_I18N[lang] + p
            E.chat(a, t, [{"role": "system", "content": "You are a world-class expert. Answer thoroughly and precisely."}, {"role": "user", "content": p}],
                   model, out_tok=harvest_answer_len(r), lang=lang or "en", params={"temperature": 0.3, "max_tokens": 4096})


def fabricated_pair(g, r):
    d = g.data
    x = r.random()
    if x < 0.35 and d.get("sharegpt_dev"):
        row = r.choice(d["sharegpt_dev"])
        turns = [t for t in row.get("turns", []) if t["role"] in ("user", "assistant")]
        for i in range(len(turns) - 1):
            if turns[i]["role"] == "user" and turns[i + 1]["role"] == "assistant":
                return turns[i]["content"][:3000], turns[i + 1]["content"][:3000]
    if x < 0.6 and d.get("gpteacher_codegen"):
        row = r.choice(d["gpteacher_codegen"])
        return row["prompt"], row.get("response") or filler(r, "en", 200, True)
    if x < 0.75 and d.get("gsm8k_train"):
        row = r.choice(d["gsm8k_train"])
        return row["prompt"], (row.get("response") or "").replace("<<", "").replace(">>", " ")
    q = any_instruction(g, r, [30, 0, 0, 0, 20, 30, 0, 0, 20])
    return q, filler(r, "en", lognorm_int(r, 250, 0.4))


def fake_multiturn(g, accts):
    """Each request is a fresh conversation whose earlier assistant turns were never produced by this API."""
    r, E = g.r, g.E
    ua = r.choice([ua_node(r), ua_python(r)])
    for a in accts:
        a.ua = ua if r.random() < 0.7 else ua_misc(r)
        a.ips = [vps_ip(r), vps_ip(r)]
        a.rpm = 200
        model = pick(r, "large")
        total = lognorm_int(r, 300, 0.4, 100, 800)
        base_p = r.choice([{"temperature": 0.7, "max_tokens": 2048}, {"temperature": 0.7}, {"max_tokens": 1500}])
        lo = r.uniform(0, g.clock.span() * 0.5)
        for t in steady_times(g, r, total, lo, g.clock.span(), 0.8):
            msgs = []
            if r.random() < 0.3:
                msgs.append({"role": "system", "content": "You are a helpful assistant."})
            for _ in range(r.choice([1, 1, 2, 3])):
                u, asst = fabricated_pair(g, r)
                msgs += [{"role": "user", "content": u}, {"role": "assistant", "content": asst}]
            msgs.append({"role": "user", "content": r.choice(V.FAKE_HISTORY_FOLLOWUPS)})
            E.chat(a, t, msgs, model, out_tok=harvest_answer_len(r), params=dict(base_p, stream=r.random() < 0.5))


def low_and_slow(g, accts):
    """Accounts that look like individual chat users: few requests a day, residential IPs, chat clients; single-shot expert prompts."""
    r, E = g.r, g.E
    span = g.clock.span()
    for a in accts:
        a.ua = ua_chatapp(r)
        a.rpm = 60
        model = pick(r, r.choice(["large", "large", "reason"]))
        pattern = r.choice(["consumer", "business"])
        per_day = r.uniform(12, 45)
        start = r.uniform(0, span * 0.35)
        days = (span - start) / 86400
        n = int(per_day * days)
        ip_day = {}
        for _ in range(n):
            t = g.clock.sample(r, a.tz, pattern, start, span)
            day = int(t // 86400)
            if day not in ip_day:
                ip_day[day] = resi_ip(r)
            x = r.random()
            if x < 0.5:
                prompt = sweep_prompt(r)
            elif x < 0.7:
                prompt = code_prompt(r)
            elif x < 0.85:
                prompt = math_prompt(g, r) + r.choice(["", "", " Explain your reasoning in detail."])
            else:
                prompt = any_instruction(g, r)
            p = {"stream": True}
            if r.random() < 0.5:
                p["max_tokens"] = 4096
            msgs = [{"role": "user", "content": prompt}]
            ev = E.chat(a, t, msgs, model, out_tok=harvest_answer_len(r), ip=ip_day[day], params=p,
                        reasoning=lognorm_int(r, 1200, 0.6) if "reason" in model else 0)
            if r.random() < 0.2:  # an occasional genuine follow-up to look like a person
                msgs = msgs + [{"role": "assistant", "content": ev["response"]["choices"][0]["message"]["content"]},
                               {"role": "user", "content": r.choice(V.FOLLOWUPS_EN + V.FAKE_HISTORY_FOLLOWUPS[:3])}]
                E.chat(a, t + ev["latency_ms"] / 1000 + r.uniform(20, 200), msgs, model, out_tok=harvest_answer_len(r), ip=ip_day[day], params=p,
                       reasoning=lognorm_int(r, 1200, 0.6) if "reason" in model else 0)


def logprob_harvest(g, accts):
    """Soft-label harvesting: many samples per prompt with token log-probabilities."""
    r, E = g.r, g.E
    ips = cloud_ips(r, 3)
    ua = ua_python(r)
    for a in accts:
        a.ua = ua
        a.ips = ips
        a.rpm = 500
        total = lognorm_int(r, 550, 0.4, 200, 1300)
        legacy = r.random() < 0.5
        lo = r.uniform(0, g.clock.span() * 0.4)
        for t in steady_times(g, r, total, lo, g.clock.span(), 0.6):
            if legacy:
                pre = fill(r, r.choice(V.LOGPROB_PREFIXES), t=r.choice(V.CHAT_TOPICS + V.THINGS))
                E.completion(a, t, pre, pick(r, "small"), lognorm_int(r, 200, 0.4), params={"temperature": 1.0, "max_tokens": 256},
                             logprobs=5, n=r.choice([4, 5, 8]), code=False)
            else:
                prompt = any_instruction(g, r)
                E.chat(a, t, [{"role": "user", "content": prompt}], pick(r, r.choice(["large", "small"])), out_tok=harvest_answer_len(r),
                       params={"temperature": 1.0, "max_tokens": 1024}, n=r.choice([2, 4, 6]), logprobs=20)


TOOL_VERBS = ["get", "search", "create", "update", "delete", "list", "book", "convert", "calculate", "send", "translate", "schedule", "fetch", "analyze"]
TOOL_NOUNS = ["stock_price", "flights", "invoice", "customer", "weather_forecast", "restaurant", "currency", "route", "calendar_event",
              "support_ticket", "patient_record", "shipment", "exchange_rate", "news", "product_inventory", "hotel", "recipe", "repo_issue"]
TOOL_TASKS = [
    "I need to fly from {city} to {c2} on {date} and book a hotel near the airport. Handle everything.",
    "Check the inventory for {prod} and reorder if below {n} units, then email the supplier.",
    "Convert {m} {cur} to JPY and schedule a payment reminder for {date}.",
    "Find the latest news on {co}, summarise it and create a ticket for the PR team.",
    "Look up customer {email}, update their address to {city}, and send a confirmation.",
    "What's the weather in {city} for the next 3 days? Book an indoor restaurant if it rains.",
    "Analyze last month's shipments to {country} and flag anything delayed over {n} days.",
]


def synthetic_tools(r, k):
    tools = []
    for _ in range(k):
        name = "%s_%s" % (r.choice(TOOL_VERBS), r.choice(TOOL_NOUNS))
        props = {p: {"type": r.choice(["string", "string", "number", "integer", "boolean"]), "description": "The %s." % p.replace("_", " ")}
                 for p in r.sample(["id", "query", "date", "city", "amount", "currency", "email", "limit", "status", "destination", "origin", "units"], r.randint(1, 4))}
        tools.append({"type": "function", "function": {"name": name, "description": "%s %s." % (name.split("_")[0].capitalize(), name.split("_", 1)[1].replace("_", " ")),
                                                       "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}})
    return tools


def tool_use_harvest(g, accts):
    """Harvesting agentic behaviour: random synthetic tool sets, multi-domain tasks, fabricated tool results."""
    r, E = g.r, g.E
    ua = ua_python(r)
    blk = block24(r, ["34.{}", "35.{}", "52.{}", "3.{}"])
    for a in accts:
        a.ua = ua
        a.ips = ips_in(r, blk, 2)
        a.rpm = 500
        model = pick(r, "large")
        total = lognorm_int(r, 450, 0.4, 150, 1200)
        lo = r.uniform(0, g.clock.span() * 0.4)
        for t in steady_times(g, r, total, lo, g.clock.span(), 0.6):
            tools = synthetic_tools(r, r.randint(3, 9))
            msgs = [{"role": "system", "content": r.choice(["You are a helpful assistant with access to tools. Think about which tools to call.",
                                                            "You are an autonomous agent. Use the available functions to complete the user's request."])},
                    {"role": "user", "content": fill(r, r.choice(TOOL_TASKS), c2=r.choice(V.CITIES))}]
            for _ in range(r.choice([0, 0, 1, 2])):
                fn = r.choice(tools)["function"]
                cid = "call_%024x" % r.getrandbits(96)
                msgs += [{"role": "assistant", "content": None, "tool_calls": [{"id": cid, "type": "function", "function": {"name": fn["name"], "arguments": json.dumps({p: fill(r, "{n}") for p in fn["parameters"]["properties"]})}}]},
                         {"role": "tool", "tool_call_id": cid, "content": json.dumps({"result": fill(r, r.choice(["{n} items found", "ok", "booked for {date}", "rate {pct}.{n}"]))})}]
            req_extra = {"temperature": 0.7, "max_tokens": 2048, "tool_choice": "auto"}
            if r.random() < 0.5:
                fn = r.choice(tools)["function"]
                tc = [{"id": "call_%024x" % r.getrandbits(96), "type": "function", "function": {"name": fn["name"], "arguments": json.dumps({p: fill(r, "{n}") for p in fn["parameters"]["properties"]})}}]
                E.chat(a, t, msgs, model, tool_calls=tc, params=req_extra, tools=tools)
            else:
                E.chat(a, t, msgs, model, out_tok=lognorm_int(r, 300, 0.5), params=req_extra, tools=tools)


def disguised_app(g, accts):
    """Harvesting behind the facade of a consumer app: product system prompt, end-user ids, cloud egress, diurnal load."""
    r, E = g.r, g.E
    brand = r.choice(V.COMPANY_A) + r.choice(V.COMPANY_B)
    system = r.choice([
        "You are %s, the AI study companion in the %s app. Be thorough and helpful. Current date: {date}." % (r.choice(["Quill", "Sage", "Nova"]), brand),
        "You are the assistant of %s, an all-in-one productivity app. Answer every question completely and in detail." % brand,
    ])
    ua = ua_node(r)
    for a in accts:
        a.ips = cloud_ips(r, r.randint(3, 6))
        a.ua = ua
        a.rpm = 3000
        total = lognorm_int(r, 1000, 0.4, 400, 2500)
        users = ["%s_%d" % (brand.lower()[:6], r.randrange(10 ** 6)) for _ in range(total // 2)]
        base_p = r.choice([{"stream": True, "temperature": 0.7, "max_tokens": 4096}, {"stream": True, "temperature": 0.7, "max_tokens": 1024}, {"stream": True}])
        for _ in range(total):
            t = g.clock.sample(r, a.tz, "consumer", a.lo, a.hi)
            prompt = any_instruction(g, r, [20, 10, 8, 4, 15, 20, 5, 10, 8])
            msgs = [{"role": "system", "content": fill(r, system, date=g.date_of(t))}, {"role": "user", "content": prompt}]
            E.chat(a, t, msgs, pick(r, "large"), out_tok=harvest_answer_len(r),
                   params=dict(base_p, user=r.choice(users)))


# name: (builder, number of campaigns, accounts per campaign at scale 1, minimum accounts)
CAMPAIGNS = {
    "code_harvest_single": (code_harvest, 2, 1, 1),
    "reasoning_trace_harvest": (reasoning_harvest, 1, 4, 2),
    "hydra_proxy_shared_client": (hydra_proxy, 1, 16, 4),
    "hydra_residential_varied": (hydra_residential, 1, 10, 3),
    "instruction_replay": (instruction_replay, 1, 3, 2),
    "capability_sweep": (capability_sweep, 1, 3, 2),
    "fake_multiturn_history": (fake_multiturn, 1, 5, 2),
    "low_and_slow": (low_and_slow, 1, 12, 3),
    "logprob_n_harvest": (logprob_harvest, 1, 3, 2),
    "tool_use_harvest": (tool_use_harvest, 1, 3, 2),
    "disguised_consumer_app": (disguised_app, 1, 2, 2),
}
