"""The marketplace's honest customers, one function per kind; each builds one account and its traffic."""

from __future__ import annotations

import random

import acts as A
import text as T
import world as W

CATEGORIES = list(T.BUILDERS)


def _sdk(rng: random.Random, count: int = 1) -> list[str]:
    return rng.sample(W.SDK_UAS, count)


def _cloud(rng: random.Random, count: int) -> list[str]:
    base = W.ip_from(rng, W.CLOUD_PREFIXES).rsplit(".", 1)[0]
    return W.subnet_ips(rng, base, count) if rng.random() < 0.6 else [W.ip_from(rng, W.CLOUD_PREFIXES)
                                                                         for _ in range(count)]


def _home(rng: random.Random, count: int = 2) -> list[str]:
    prefixes = W.RESIDENTIAL_PREFIXES + (W.IPV6_PREFIXES if rng.random() < 0.25 else [])
    return [W.ip_from(rng, prefixes) for _ in range(count)] + [W.ip_from(rng, W.MOBILE_PREFIXES)]


def _sampling(rng: random.Random) -> dict:
    """What a developer fixes once in code: often nothing, sometimes temperature/top_p/max_tokens."""
    params: dict = {}
    if rng.random() < 0.6:
        params["temperature"] = rng.choice([0, 0.2, 0.3, 0.5, 0.7, 0.7, 0.8, 1.0])
    if rng.random() < 0.15:
        params["top_p"] = rng.choice([0.9, 0.95, 1.0])
    if rng.random() < 0.5:
        params["max_tokens"] = rng.choice([256, 512, 800, 1024, 2048, 4096])
    return params


# ---- individuals -------------------------------------------------------------------------------------------

def dev_hobbyist(world: W.World, org: dict | None = None) -> None:
    rng = world.rng
    uas = rng.sample(W.SDK_UAS + W.BROWSER_UAS[:2] + ["curl/8.5.0"], 2)
    actor = world.actor("dev_hobbyist", ips=_home(rng), uas=uas, ip_mode="spread", ua_mode="sticky",
                        stream_share=rng.choice([0, 0, 0.5, 1.0]), model=rng.choice(W.MODELS["chat"] + W.MODELS["reasoner"]))
    r = actor.rng
    params = _sampling(r)
    weights = [r.random() ** 2 for _ in CATEGORIES]
    first_day = r.randrange(W.DAYS)
    for day in A.active_days(r, r.uniform(0.08, 0.45), r.uniform(0.15, 0.6), first=first_day):
        for t in A.times_on(r, day, actor.tz, "evening", r.randint(1, 3)):
            category = r.choices(CATEGORIES, weights=weights)[0]
            first, recorded = T.prompt(r, category, world.pools)
            A.conversation(world, actor, t, first, category, r.choice([1, 1, 1, 2, 2, 3, 4, 6]), params,
                           gap=(20, 400), median_tokens=r.choice([200, 350, 600]), recorded=recorded)


def power_user(world: W.World, org: dict | None = None) -> None:
    """Heavy reasoning users through a third-party chat frontend: long, hard, multi-turn, every day."""
    rng = world.rng
    frontend = rng.choice(W.FRONTEND_UAS + W.BROWSER_UAS)
    self_hosted = frontend.startswith(("OpenWebUI", "LibreChat", "LobeChat"))
    actor = world.actor("power_user", ips=_cloud(rng, 1) if self_hosted else _home(rng, 2),
                        uas=[frontend], stream_share=0.95, usage_in_stream=0.3,
                        model=rng.choice(W.MODELS["reasoner"] + W.MODELS["chat"][:1]))
    r = actor.rng
    params = {"temperature": r.choice([None, 0.6, 0.7, 1.0]), "max_tokens": r.choice([None, 8192, 16000]),
              "reasoning_effort": r.choice([None, "medium", "high", "high"]) if "reasoner" in actor.model else None,
              "include_reasoning": True if ("reasoner" in actor.model and r.random() < 0.5) else None}
    heavy = r.lognormvariate(0, 0.7)
    focus = r.sample(["math_hard", "code", "debug", "science", "logic", "general", "writing", "math"], 3)
    for day in A.active_days(r, 0.5, 0.4):
        for t in A.times_on(r, day, actor.tz, "consumer", W.poisson(r, 0.8 * heavy) + 1):
            category = r.choice(focus) if r.random() < 0.8 else r.choice(CATEGORIES)
            first, recorded = T.prompt(r, category, world.pools, 0.45)
            reasoning = 1.0 if params["include_reasoning"] else 0.0
            A.conversation(world, actor, t, first, category, r.choice([1, 1, 2, 3, 4, 6, 10]), params,
                           gap=(30, 600), median_tokens=900, recorded=recorded, reasoning_share=reasoning)


def trial_user(world: W.World, org: dict | None = None) -> None:
    rng = world.rng
    actor = world.actor("trial_user", ips=_home(rng, 1), uas=[rng.choice(W.SDK_UAS + ["curl/8.5.0"] * 3)])
    r = actor.rng
    t = W.local_day_start(r.randrange(W.DAYS), actor.tz) + W.pick_hour(r, "evening") * 3600
    for _ in range(r.randint(1, 5)):
        category = r.choice(CATEGORIES)
        first, recorded = T.prompt(r, category, world.pools)
        t = A.conversation(world, actor, t, first if r.random() < 0.7 else "hello", category, 1, {},
                           gap=(5, 90), median_tokens=120, recorded=recorded)


# ---- businesses --------------------------------------------------------------------------------------------

SMB_APPS = [
    ("You write product descriptions for an online shop. 80-120 words, warm tone, no superlatives.",
     lambda r: f"Product: {r.choice(T.PRODUCTS)}\nMaterial: {r.choice(['bamboo', 'steel', 'cotton', 'oak', 'recycled PET'])}\n"
               f"Price: {r.randint(5, 300)} EUR\nKeywords: {T.words(r, 4)}"),
    ("You reply to customer reviews on behalf of a small hotel. Be gracious, address specifics, max 90 words.",
     lambda r: f"Rating: {r.randint(1, 5)}/5\nReview: {T.words(r, r.randint(15, 60))}"),
    ("You draft real-estate listings from agent notes.",
     lambda r: f"{r.randint(1, 5)} bed, {r.randint(1, 3)} bath, {r.randint(45, 240)} m2, {T.words(r, 10)}"),
    ("You are the assistant inside a recipe app. Suggest a recipe from the user's ingredients.",
     lambda r: "I have " + ", ".join(r.sample(T.ITEMS + ["rice", "eggs", "spinach", "chickpeas", "feta"], 4))),
    ("You write SEO meta titles and descriptions. Output JSON with title (<60 chars) and description (<155).",
     lambda r: f"Page about {r.choice(T.TOPICS)} for {r.choice(T.COMPANIES)}"),
    ("You help a dental clinic's receptionist draft patient reminders and replies.",
     lambda r: f"Patient {r.choice(T.NAMES)} asks: {T.words(r, r.randint(8, 30))}?"),
    ("You summarise a law firm's client intake forms into a one-paragraph brief.",
     lambda r: T.transcript(r, r.randint(4, 10))),
    ("You are a fitness coaching app. Adjust this week's plan to the user's feedback.",
     lambda r: f"Feedback: {T.words(r, r.randint(10, 40))}. Goal: {r.choice(['5k', 'strength', 'weight loss', 'mobility'])}"),
    ("You generate social posts for a local bakery from the owner's notes.",
     lambda r: f"Today's special: {r.choice(['sourdough', 'croissants', 'rye', 'cinnamon buns'])}; {T.words(r, 8)}"),
    ("You classify inbound emails for a plumbing company and draft a reply.",
     lambda r: T.support_ticket(r)),
]


def smb_integration(world: W.World, org: dict | None = None) -> None:
    """A small business's app: one template, end users' variable input, fixed parameters, business hours."""
    rng = world.rng
    system, fill = rng.choice(SMB_APPS)
    actor = world.actor("smb_integration", ips=_cloud(rng, rng.choice([1, 1, 2, 3])), uas=_sdk(rng),
                        model=rng.choice(W.MODELS["chat"][:2]), stream_share=rng.choice([0, 0, 0.9]))
    r = actor.rng
    params = {"temperature": r.choice([0.4, 0.7, 0.8, 1.0]), "max_tokens": r.choice([300, 400, 600, 1000])}
    if "JSON" in system:
        params["response_format"] = {"type": "json_object"}
    size = r.lognormvariate(0.3, 1.0)
    end_users = [f"u_{W.hex_id(r, 8)}" for _ in range(r.randint(5, 400))] if r.random() < 0.4 else None
    for t in A.daily_times(actor, size, r.choice(["office", "consumer"]), weekend=r.choice([0.2, 0.6, 1.0]),
                           first=r.randrange(3)):
        user_text = fill(r)
        tokens = A.answer_tokens(r, 160, 0.4)
        extra = {"user": r.choice(end_users)} if end_users else {}
        world.chat(actor, t, [{"role": "system", "content": system}, {"role": "user", "content": user_text}],
                   dict(params, **extra), answer=A.reply(r, "json" if "JSON" in system else "writing", tokens),
                   completion_tokens=tokens)


def support_relay(world: W.World, org: dict | None = None) -> None:
    """A SaaS support bot relaying thousands of end users; long system prompt with policies, a lookup tool."""
    rng = world.rng
    company = rng.choice(T.COMPANIES)
    kb = T.business_text(rng, rng.randint(500, 1400))
    system = f"You are {company}'s support assistant. Policies and knowledge base:\n{kb}"
    actor = world.actor("support_relay", ips=_cloud(rng, rng.randint(2, 6)), uas=_sdk(rng), ip_mode="spread",
                        stream_share=0.9, usage_in_stream=0.9, model=rng.choice(W.MODELS["chat"][:2]))
    r = actor.rng
    tools = [A.tool_schema("lookup_order", A.TOOL_LIBRARY["lookup_order"])] if r.random() < 0.5 else None
    params = {"temperature": 0.3, "max_tokens": 600, "tools": tools}
    starts = A.daily_times(actor, r.lognormvariate(0.9, 0.7), "consumer", weekend=0.7)
    for t in starts:
        follow = ["ok but it still doesn't work", "where is my order?", "can I get a refund", "thanks",
                  "how long will that take?", "I already tried that", "can I talk to a human"]
        params_user = dict(params, user="eu_" + W.hex_id(r, 10))
        A.conversation(world, actor, t, T.support_ticket(r), "general", r.choice([1, 2, 2, 3, 4, 6]), params_user,
                       gap=(15, 240), system=system, median_tokens=140, follow_ups=follow)


AGENT_SYSTEMS = ["You are a coding agent working in the user's repository. Use tools; make minimal, tested changes.",
                 "You are an SRE assistant with read-only cluster access. Investigate, then summarise findings.",
                 "You are an operations agent for an online store: orders, refunds and customer emails.",
                 "You are a research agent: search, read, and write a cited brief."]
AGENT_TOOLS = [["read_file", "write_file", "run_shell", "search_code", "run_tests", "list_dir", "git_diff"],
               ["kubectl", "get_metrics", "run_shell", "http_get", "read_file"],
               ["lookup_order", "refund_payment", "send_email", "crm_lookup", "create_ticket"],
               ["web_search", "http_get", "write_file"]]


def agent_framework(world: W.World, org: dict | None = None) -> None:
    """An agent built on a framework: long system prompt, tool schemas, tool-call loops of many steps."""
    rng = world.rng
    which = rng.randrange(len(AGENT_SYSTEMS))
    platform = rng.random() < 0.3          # a multi-tenant agent platform, not one developer
    actor = world.actor("agent_framework", ips=_cloud(rng, 3) if platform else _home(rng, 2),
                        uas=_sdk(rng, 2), ip_mode="spread", model=rng.choice(W.MODELS["chat"][:1] + W.MODELS["reasoner"][:1]))
    r = actor.rng
    system = AGENT_SYSTEMS[which] + "\n\n" + T.prose(r, r.randint(300, 900))
    params = {"temperature": r.choice([0, 0.2, None]), "tool_choice": r.choice(["auto", None]),
              "parallel_tool_calls": r.choice([True, None])}
    rate = r.uniform(1.0, 3.0) if platform else r.uniform(0.25, 1.2)
    for t in A.daily_times(actor, rate, "flat" if platform else "office", weekend=0.8 if platform else 0.25):
        task = r.choice(["Fix the failing test in ", "Why is latency up on ", "Handle the refund for order ",
                         "Research and summarise ", "Add pagination to ", "Find who changed "]) + T.words(r, 4)
        A.agent_run(world, actor, t, task, AGENT_TOOLS[which], system, r.randint(2, 10), params, gap=(0.5, 12))


BATCH_JOBS = [
    ("Classify the support ticket. Reply with JSON {label, confidence, summary}.", T.support_ticket, "json"),
    ("Extract seller, date, line items and totals from the invoice as JSON.", T.invoice, "json"),
    ("Summarise the call transcript in 3 bullet points and list action items.",
     lambda r: T.transcript(r, r.randint(8, 30)), "general"),
    ("Redact all personal data in the text; return the redacted text only.",
     lambda r: T.business_text(r, r.randint(300, 1500)), "translation"),
    ("Rate the sentiment of the review: positive, negative or neutral. One word.",
     lambda r: T.words(r, r.randint(10, 60)), "label"),
]


def batch_pipeline(world: W.World, org: dict | None = None) -> None:
    """A nightly or hourly batch job: hundreds of near-identical requests at machine pace, temperature 0."""
    rng = world.rng
    instruction, make_doc, answer_kind = rng.choice(BATCH_JOBS)
    actor = world.actor("batch_pipeline", ips=_cloud(rng, rng.randint(1, 4)), uas=_sdk(rng), ip_mode="spread",
                        model=rng.choice(W.MODELS["chat"][1:2] * 2 + W.MODELS["chat"][:1]), error_rate=0.02)
    r = actor.rng
    legacy = r.random() < 0.2
    params = {"temperature": 0, "max_tokens": r.choice([16, 200, 400, 800]) if answer_kind != "label" else 3,
              "seed": r.choice([None, 42, 1234]),
              "response_format": {"type": "json_object"} if answer_kind == "json" and not legacy else None}
    hour = r.choice([1, 2, 3, 4, 22, 23])
    weekdays_only = r.random() < 0.5
    per_run = int(r.lognormvariate(3.0, 0.9))
    concurrency = r.choice([1, 2, 4, 8])
    for day in range(r.randrange(3), W.DAYS):
        if weekdays_only and W.weekday(day) >= 5:
            continue
        t = W.local_day_start(day, actor.tz) + hour * 3600 + r.uniform(0, 120)
        for i in range(max(5, int(per_run * r.uniform(0.6, 1.4)))):
            doc = make_doc(r)
            tokens = 2 if answer_kind == "label" else A.answer_tokens(r, 120, 0.4)
            text = A.reply(r, answer_kind, tokens)
            if legacy:
                lat = world.complete(actor, t, f"{instruction}\n\n{doc}\n\nAnswer:", params, answer=text,
                                     completion_tokens=tokens, model="relay/frontier-base")
            else:
                lat = world.chat(actor, t, [{"role": "system", "content": instruction},
                                            {"role": "user", "content": doc}], params, answer=text,
                                 completion_tokens=tokens)
            t += lat / concurrency + r.uniform(0, 0.3)


def edu_platform(world: W.World, org: dict | None = None) -> None:
    """A tutoring platform: maths and science step by step on a reasoning model, quiz generation, school hours."""
    rng = world.rng
    grade = rng.randint(4, 12)
    actor = world.actor("edu_platform", ips=_cloud(rng, 2), uas=_sdk(rng), ip_mode="spread", stream_share=0.8,
                        model=rng.choice(W.MODELS["reasoner"]))
    r = actor.rng
    system = (f"You are a patient tutor for grade {grade} students. Never just give the answer: explain each step, "
              f"check understanding, and use simple language.")
    show_steps = r.random() < 0.5
    params = {"reasoning_effort": r.choice(["medium", "high"]), "include_reasoning": True if show_steps else None,
              "max_tokens": r.choice([2048, 4096, 8192])}
    students = [f"stu_{W.hex_id(r, 8)}" for _ in range(r.randint(40, 900))]
    follow = ["I don't get step 2", "why do we divide there?", "can you check my answer: 42", "ok thanks",
              "is there another way?", "what would change if the numbers were bigger?"]
    for t in A.daily_times(actor, r.lognormvariate(2.1, 0.5), "school", weekend=0.3):
        if r.random() < 0.1:     # a teacher generating a quiz
            topic = r.choice(T.SCIENCE + ["fractions", "percentages", "linear equations", "the water cycle"])
            first = f"Create {r.choice([5, 8, 10, 15])} quiz questions with answers about {topic} for grade {grade}."
            A.conversation(world, actor, t, first, "writing", 1, dict(params, user="teacher_" + W.hex_id(r, 4)),
                           gap=(10, 60), system=system, median_tokens=700)
            continue
        category = r.choice(["math", "math", "math", "science", "math_hard" if grade > 9 else "math", "logic"])
        first, recorded = T.prompt(r, category, world.pools, 0.5)
        A.conversation(world, actor, t, first, category, r.choice([1, 2, 2, 3, 4]),
                       dict(params, user=r.choice(students)), gap=(20, 300), system=system, median_tokens=500,
                       follow_ups=follow, recorded=recorded, reasoning_share=1.0 if show_steps else 0.0)


def translation_agency(world: W.World, org: dict | None = None) -> None:
    """A translation agency: client documents arrive as projects, chunked and translated into a few languages."""
    rng = world.rng
    actor = world.actor("translation_agency", ips=_cloud(rng, 1) + _home(rng, 1), uas=_sdk(rng, 1),
                        model=rng.choice(W.MODELS["chat"][:1]), error_rate=0.01)
    r = actor.rng
    targets = r.sample(T.HUMAN_LANGS, r.randint(1, 5))
    params = {"temperature": r.choice([0, 0.2, 0.3]), "max_tokens": 2048}
    glossary = "\nGlossary: " + "; ".join(f"{T.words(r, 1)} -> keep" for _ in range(5)) if r.random() < 0.5 else ""
    for day in A.active_days(r, 0.3, 0.05):
        for start in A.times_on(r, day, actor.tz, "office", 1):
            company, chunks, t = r.choice(T.COMPANIES), r.randint(5, 40), start
            lang_set = r.sample(targets, r.randint(1, len(targets)))
            for _ in range(chunks):
                source = f"[{company}] " + T.business_text(r, r.randint(200, 1400))
                for lang in lang_set:
                    system = f"Translate from English to {lang}. Preserve formatting and placeholders.{glossary}"
                    tokens = int(W.tokens_of(source) * r.uniform(1.0, 1.6))
                    t += world.chat(actor, t, [{"role": "system", "content": system},
                                               {"role": "user", "content": source}], params,
                                    answer=A.reply(r, "translation", tokens), completion_tokens=tokens)
                    t += r.uniform(0.2, 3)


def eval_team(world: W.World, org: dict | None = None) -> None:
    """An internal evaluation team: the same fixed suites re-run over days and across models, at machine pace."""
    rng = world.rng
    suite = org["suite"] if org else None
    actor = world.actor("eval_team", ips=org["ips"] if org else _cloud(rng, 2), uas=org["uas"] if org else _sdk(rng, 2),
                        ip_mode="spread", error_rate=0.01)
    r = actor.rng
    if suite is None:
        suite = make_suite(r, world.pools)
    models = r.sample(W.MODELS["chat"] + W.MODELS["reasoner"], r.randint(1, 3))
    mc = r.random() < 0.5
    for day in A.active_days(r, 0.2, 0.03):
        t = W.local_day_start(day, actor.tz) + W.pick_hour(r, "office") * 3600
        for model in r.sample(models, r.randint(1, len(models))):
            items = suite if r.random() < 0.6 else r.sample(suite, len(suite) // 3)
            concurrency = r.choice([4, 8, 16])
            for prompt, category in items:
                if mc and category == "mc":
                    params = {"temperature": 0, "max_tokens": 1, "logprobs": True, "top_logprobs": 5}
                    lat = world.chat(actor, t, [{"role": "user", "content": prompt}], params, answer=r.choice("ABCD"),
                                     completion_tokens=1, model=model)
                else:
                    n = 5 if category == "code" and r.random() < 0.3 else None
                    params = {"temperature": 0.8 if n else 0, "n": n, "max_tokens": 2048, "seed": 0}
                    tokens = A.answer_tokens(r, 400)
                    lat = world.chat(actor, t, [{"role": "user", "content": prompt}], params,
                                     answer=A.reply(r, category if category != "mc" else "label", tokens),
                                     completion_tokens=tokens, model=model)
                t += lat / concurrency


def make_suite(rng: random.Random, pools: T.Pools) -> list[tuple[str, str]]:
    suite = []
    for _ in range(rng.randint(40, 200)):
        category = rng.choice(["math", "code", "science", "logic", "general", "mc", "mc"])
        if category == "mc":
            question = T.science(rng)
            options = "\n".join(f"{letter}) {T.words(rng, 4)}" for letter in "ABCD")
            suite.append((f"{question}\n{options}\nAnswer with a single letter.", "mc"))
        else:
            suite.append((T.prompt(rng, category, pools, 0.5)[0], category))
    return suite


def labelling_shop(world: W.World, org: dict | None = None) -> None:
    """A data-labelling shop: pre-labels with confidence (logprobs), grades annotators' answers, drafts options."""
    rng = world.rng
    actor = world.actor("labelling_shop", ips=org["ips"] if org else _cloud(rng, 1), uas=org["uas"] if org else _sdk(rng),
                        tz=org["tz"] if org else rng.choice([5.5, 8, 7, 1, 3]), model=rng.choice(W.MODELS["chat"][:2]))
    r = actor.rng
    labels = r.choice([["positive", "negative", "neutral"], ["toxic", "ok"], ["billing", "bug", "account", "other"],
                       ["spam", "not_spam"]])
    for t in A.daily_times(actor, r.lognormvariate(2.5, 0.6), "office", weekend=0.15):
        roll = r.random()
        if roll < 0.6:
            item = T.words(r, r.randint(8, 50)) if r.random() < 0.5 else T.support_ticket(r)
            world.chat(actor, t, [{"role": "system", "content": f"Label the text as one of: {', '.join(labels)}."},
                                  {"role": "user", "content": item}],
                       {"temperature": 0, "max_tokens": 3, "logprobs": True, "top_logprobs": len(labels)},
                       answer=r.choice(labels), completion_tokens=1)
        elif roll < 0.85:
            q, _ = T.prompt(r, r.choice(CATEGORIES), world.pools, 0.3)
            human = T.prose(r, r.randint(150, 700))
            world.chat(actor, t, [{"role": "user", "content": f"Grade the annotator's answer 1-5 against the "
                                                               f"guidelines, with one sentence of justification.\n\n"
                                                               f"Question: {q}\n\nAnswer: {human}"}],
                       {"temperature": 0, "max_tokens": 120}, answer=f"{r.randint(1, 5)} - {T.sentence(r)}")
        else:
            item = T.words(r, r.randint(10, 30))
            world.chat(actor, t, [{"role": "user", "content": f"Extract all people, organisations and places as JSON "
                                                               f"lists.\n\n{item}"}],
                       {"temperature": 0, "response_format": {"type": "json_object"}},
                       answer=A.reply(r, "json", 40))


def content_agency(world: W.World, org: dict | None = None) -> None:
    """A marketing agency: many variations of the same copy, headlines, rewrites in several tones."""
    rng = world.rng
    actor = world.actor("content_agency", ips=org["ips"] if org else _home(rng, 1),
                        uas=org["uas"] if org else [rng.choice(W.BROWSER_UAS + W.SDK_UAS)],
                        tz=org["tz"] if org else None, model=rng.choice(W.MODELS["chat"][:2]))
    r = actor.rng
    for t in A.daily_times(actor, r.lognormvariate(0.8, 0.7), "office", weekend=0.1):
        product, brand = r.choice(T.PRODUCTS), r.choice(T.COMPANIES)
        ask = r.choice([f"Give me 10 headline variations for {brand}'s {product} campaign.",
                        f"Rewrite this paragraph in {r.choice([3, 4, 5])} different tones:\n\n{T.business_text(r, 400)}",
                        f"Paraphrase the following so it doesn't read like our last post:\n\n{T.business_text(r, 300)}",
                        f"Write a 600-word blog post about {r.choice(T.TOPICS)} that mentions {brand}.",
                        f"Turn these notes into a press release: {T.words(r, 30)}"])
        n = r.choice([None, None, None, 3])
        tokens = A.answer_tokens(r, 500)
        A.conversation(world, actor, t, ask, "writing", r.choice([1, 1, 2, 3]),
                       {"temperature": r.choice([0.9, 1.0, 1.1]), "n": n}, gap=(30, 400), median_tokens=tokens)


def ide_plugin(world: W.World, org: dict | None = None) -> None:
    """A developer's IDE plugin: bursts of short fill-in-the-middle completions while typing, some chat."""
    rng = world.rng
    actor = world.actor("ide_plugin", ips=_home(rng, 2), uas=[rng.choice(W.IDE_UAS)], ip_mode="spread",
                        model="relay/code-fim-small", speed_ms_per_token=6)
    r = actor.rng
    lang = r.choice(T.LANGS[:10])
    for day in A.active_days(r, 0.45, 0.1):
        for start in A.times_on(r, day, actor.tz, "office", r.randint(1, 2)):
            t = start
            for _ in range(r.randint(2, 15)):
                prefix = "\n".join(f"    {T.words(r, r.randint(2, 6)).replace(' ', '_')} = {r.randint(0, 99)}"
                                   for _ in range(r.randint(3, 25)))
                params = {"suffix": "\n    return result\n", "max_tokens": r.choice([64, 128, 256]),
                          "temperature": 0.2, "stop": ["\n\n"]}
                t += world.complete(actor, t, f"# {lang}\ndef {T.words(r, 1)}():\n{prefix}\n", params,
                                    answer=f"    result = {T.words(r, 2).replace(' ', '_')}()", completion_tokens=r.randint(4, 60))
                t += r.expovariate(1 / 25)
            if r.random() < 0.3:
                A.conversation(world, actor, t, T.code_debug(r) if r.random() < 0.5 else T.code_task(r, lang), "code",
                               r.randint(1, 3), {"temperature": 0.2}, gap=(20, 200), model="relay/frontier-large")


BENIGN = {"dev_hobbyist": dev_hobbyist, "power_user": power_user, "trial_user": trial_user,
          "smb_integration": smb_integration, "support_relay": support_relay, "agent_framework": agent_framework,
          "batch_pipeline": batch_pipeline, "edu_platform": edu_platform, "translation_agency": translation_agency,
          "eval_team": eval_team, "labelling_shop": labelling_shop, "content_agency": content_agency,
          "ide_plugin": ide_plugin}
