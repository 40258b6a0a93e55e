"""Distillation campaigns: eleven shapes a 2026 distiller could run against a model marketplace.

Each function builds every account of one campaign and its traffic; ``cid`` is the campaign's id.
"""

from __future__ import annotations

import random

import acts as A
import benign as B
import text as T
import world as W

GRID = ["math", "math_hard", "code", "logic", "science", "debug", "general", "writing"]
BOXED = ["", "", " Please reason step by step, and put your final answer within \\boxed{}.",
         " Think carefully and show all of your work.", " Explain your reasoning before answering."]


def grid_prompt(rng: random.Random, pools: T.Pools, index: int, grid: list[str] = GRID) -> tuple[str, str, str | None]:
    category = grid[index % len(grid)]
    prompt, recorded = T.prompt(rng, category, pools, 0.45)
    return prompt, category, recorded


def paraphrase(rng: random.Random, task: str) -> str:
    """A self-instruct style variant: reworded opening, a changed constraint, a swapped name or number."""
    openings = ["", "Please ", "Could you ", "I need you to ", "Task: ", "Help me ", "Quickly, "]
    closings = ["", " Be concise.", " Give two examples.", " Use bullet points.", " Explain for a beginner.",
                " Answer in under 150 words.", " Then list common mistakes."]
    body = task.strip()
    for name in T.NAMES:
        if name in body and rng.random() < 0.7:
            body = body.replace(name, rng.choice(T.NAMES))
    digits = [w for w in body.split() if w.isdigit()]
    if digits and rng.random() < 0.6:
        body = body.replace(digits[0], str(int(digits[0]) + rng.randint(1, 9)), 1)
    opening = rng.choice(openings)
    if opening:
        body = opening + body[0].lower() + body[1:]
    return body + rng.choice(closings)


def _n(world: W.World, base: int) -> int:
    return max(2, int(round(base * world.scale * world.rng.uniform(0.8, 1.25))))


# C1 ---------------------------------------------------------------------------------------------------------
def reasoning_trace_farm(world: W.World, cid: str) -> None:
    """Many accounts behind residential proxies harvesting reasoning traces across capability areas."""
    rng = world.rng
    uas = rng.sample(W.BROWSER_UAS, 2) + rng.sample(W.SDK_UAS, 1)
    params = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 8192, "reasoning_effort": "high",
              "include_reasoning": True}
    counter = 0
    for _ in range(_n(world, 10)):
        actor = world.actor("reasoning_trace_farm", cid, ips=[], uas=uas, ip_mode="fresh", ua_mode="spread",
                            fresh_prefixes=W.RESIDENTIAL_PREFIXES + W.MOBILE_PREFIXES, model="relay/reasoner-pro")
        r = actor.rng
        first = r.randint(1, 6)
        for t in A.daily_times(actor, r.uniform(7, 20), "consumer", first=first, last=min(W.DAYS, first + r.randint(9, 18))):
            prompt, category, recorded = grid_prompt(r, world.pools, counter)
            counter += 1
            tokens = A.answer_tokens(r, 900, 0.5)
            world.chat(actor, t, [{"role": "user", "content": prompt + r.choice(BOXED)}], params,
                       answer=A.reply(r, category, tokens, recorded),
                       reasoning=T.reasoning_trace(r, min(A.ANSWER_CAP, tokens * 5)), completion_tokens=tokens)


# C2 ---------------------------------------------------------------------------------------------------------
def self_instruct_expansion(world: W.World, cid: str) -> None:
    """Paraphrased seed-task expansion: ask for new instructions from seeds, then answer each of them."""
    rng = world.rng
    base = W.ip_from(rng, W.CLOUD_PREFIXES).rsplit(".", 1)[0]
    accounts = _n(world, 4)
    addresses = W.subnet_ips(rng, base, 3 * accounts)
    seeds = [row["prompt"] for row in world.pools.rows.get("alpaca_seed_tasks", [])] or \
        [T.BUILDERS[rng.choice(GRID + ["business"])](rng) for _ in range(175)]
    for index in range(accounts):
        actor = world.actor("self_instruct_expansion", cid, ips=addresses[index * 3:index * 3 + 3],
                            uas=["python-requests/2.32.3"], ip_mode="spread", model="relay/frontier-large",
                            tz=0)
        r = actor.rng
        pending: list[str] = []
        for t in A.daily_times(actor, r.uniform(20, 40), "flat", first=r.randint(0, 4)):
            if not pending:
                examples = "\n".join(f"{i + 1}. {paraphrase(r, r.choice(seeds))}" for i in range(3))
                meta = ("You are asked to come up with a set of 20 diverse task instructions. These task "
                        "instructions will be given to a language model. Do not repeat verbs; vary the format; "
                        f"some should include an input.\n\nExamples:\n{examples}\n\nList of 20 tasks:")
                pending = [paraphrase(r, r.choice(seeds)) if r.random() < 0.6 else
                           T.BUILDERS[r.choice(GRID + ["business"])](r) for _ in range(20)]
                listing = "\n".join(f"{i + 1}. {task}" for i, task in enumerate(pending))
                world.chat(actor, t, [{"role": "user", "content": meta}],
                           {"temperature": 1.0, "top_p": 1.0, "max_tokens": 3072}, answer=listing[:A.ANSWER_CAP],
                           completion_tokens=W.tokens_of(listing))
                continue
            task = pending.pop()
            tokens = A.answer_tokens(r, 380)
            world.chat(actor, t, [{"role": "user", "content": task}], {"temperature": 0.7, "max_tokens": 1024},
                       answer=A.reply(r, "general", tokens), completion_tokens=tokens)


# C3 ---------------------------------------------------------------------------------------------------------
SIM_FOLLOW = ["Interesting. How does that relate to {topic}?", "Can you go deeper on the second point?",
              "What would an expert disagree with here?", "Give me a worked example with real numbers.",
              "Now explain it as if I were a {aud} student.", "What are three misconceptions about this?",
              "Summarise our discussion so far in a table.", "Challenge your previous answer: where might it be wrong?",
              "How would you teach this in a 30-minute lesson?", "What follow-up question should I ask next?"]


def synthetic_multiturn(world: W.World, cid: str) -> None:
    """A user-simulator model drives multi-turn chats; our model's answers come back as history."""
    rng = world.rng
    for index in range(_n(world, 5)):
        fast = index % 5 < 3
        actor = world.actor("synthetic_multiturn", cid, ips=[W.ip_from(rng, W.CLOUD_PREFIXES)],
                            uas=["OpenAI/Python 1.58.1"], model=rng.choice(W.MODELS["chat"][:1] + W.MODELS["reasoner"][:1]),
                            stream_share=0 if fast else 0.6)
        r = actor.rng
        follow = [f.format(topic=r.choice(T.TOPICS), aud=r.choice(["high-school", "graduate", "first-year"]))
                  for f in SIM_FOLLOW for _ in range(2)]
        for t in A.daily_times(actor, r.uniform(2.5, 5) if fast else r.uniform(1.2, 3), "flat" if fast else "consumer"):
            category = r.choice(GRID)
            if world.pools.present and r.random() < 0.3:
                row = world.pools.draw(r, "sharegpt_dev")
                first = row["prompt"] if row else T.BUILDERS[category](r)
            else:
                first = T.BUILDERS[category](r)
            A.conversation(world, actor, t, first, category, r.randint(3, 8), {"temperature": 0.8, "max_tokens": 2048},
                           gap=(1, 6) if fast else (25, 150), median_tokens=550, follow_ups=follow)


# C4 ---------------------------------------------------------------------------------------------------------
def logprob_harvest(world: W.World, cid: str) -> None:
    """Top-k log-probability harvesting for logit distillation, on chat and the legacy completions endpoint."""
    rng = world.rng
    for _ in range(_n(world, 3)):
        actor = world.actor("logprob_harvest", cid, ips=B._cloud(rng, 3), uas=["python-httpx/0.28.1"],
                            ip_mode="spread", model="relay/frontier-large")
        r = actor.rng
        for day in A.active_days(r, 0.55, 0.55, first=r.randint(0, 5)):
            t = W.local_day_start(day, 0) + r.uniform(0, 5) * 3600
            for _ in range(r.randint(20, 70)):
                prompt, category, _ = grid_prompt(r, world.pools, r.randrange(64), ["general", "writing", "science",
                                                                                   "code", "math", "business"])
                tokens = A.answer_tokens(r, 200, 0.4)
                text = A.reply(r, category, tokens)
                if r.random() < 0.75:
                    lat = world.chat(actor, t, [{"role": "user", "content": prompt}],
                                     {"temperature": 1.0, "max_tokens": 512, "logprobs": True, "top_logprobs": 20},
                                     answer=text, completion_tokens=tokens)
                else:
                    lat = world.complete(actor, t, prompt + "\n\n", {"temperature": 1.0, "max_tokens": 256,
                                                                      "logprobs": 5}, answer=text,
                                         completion_tokens=min(tokens, 256), model="relay/frontier-base")
                t += lat / 4 + r.uniform(0.1, 2.0)


# C5 ---------------------------------------------------------------------------------------------------------
def code_solution_harvest(world: W.World, cid: str) -> None:
    """Code solutions at modest per-account rates; one problem list swept across languages and accounts."""
    rng = world.rng
    problems = [rng.choice(T.CODE_TASKS) + rng.choice(T.CODE_EXTRAS) for _ in range(400)]
    if world.pools.rows.get("gpteacher_codegen"):
        problems += [row["prompt"] for row in rng.sample(world.pools.rows["gpteacher_codegen"], 300)]
    accounts = _n(world, 6)
    for index in range(accounts):
        actor = world.actor("code_solution_harvest", cid, ips=B._home(rng, 1), uas=[rng.choice(W.IDE_UAS + W.SDK_UAS[:4])],
                            model="relay/frontier-large", stream_share=0.3)
        r = actor.rng
        for step, t in enumerate(A.daily_times(actor, r.uniform(15, 35), "office", weekend=0.1)):
            problem = problems[(step * accounts + index) % len(problems)]
            lang = T.LANGS[(step + index * 3) % 9]
            text = problem if any(l in problem for l in T.LANGS) else f"{problem}\nLanguage: {lang}."
            tokens = A.answer_tokens(r, 700, 0.4)
            world.chat(actor, t, [{"role": "system", "content": "You are an expert programmer."},
                                  {"role": "user", "content": text}],
                       {"temperature": 0.2, "max_tokens": 4096, "n": 2 if r.random() < 0.2 else None},
                       answer=A.reply(r, "code", tokens), completion_tokens=tokens)


# C6 ---------------------------------------------------------------------------------------------------------
def app_cover(world: W.World, cid: str) -> None:
    """A legitimate-looking study app whose account mixes real end-user traffic with harvesting."""
    rng = world.rng
    for _ in range(_n(world, 2)):
        app = rng.choice(["StudyBuddy", "HomeworkPal", "AskMentor", "Quizly"])
        system = f"You are {app}, a friendly study helper. Answer clearly and completely."
        actor = world.actor("app_cover", cid, ips=B._cloud(rng, 2), uas=B._sdk(rng), ip_mode="spread",
                            model="relay/frontier-large", stream_share=0.7)
        r = actor.rng
        students = [f"u_{W.hex_id(r, 8)}" for _ in range(r.randint(100, 600))]
        harvest_share = r.uniform(0.35, 0.55)
        counter = 0
        for t in A.daily_times(actor, r.uniform(40, 80), "school", weekend=0.5):
            if r.random() < harvest_share:
                prompt, category, recorded = grid_prompt(r, world.pools, counter)
                counter += 1
                prompt += r.choice(["", "", " Explain in detail with examples.", " Be thorough."])
                tokens = A.answer_tokens(r, 800, 0.5)
            else:
                category = r.choice(["math", "science", "writing"])
                prompt, recorded = T.prompt(r, category, world.pools, 0.2)
                tokens = A.answer_tokens(r, 300, 0.5)
            world.chat(actor, t, [{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                       {"temperature": 0.7, "max_tokens": 2000, "user": r.choice(students)},
                       answer=A.reply(r, category, tokens, recorded), completion_tokens=tokens)


# C7 ---------------------------------------------------------------------------------------------------------
def low_and_slow(world: W.World, cid: str) -> None:
    """Many ordinary-looking accounts, nothing shared, each at a hobbyist's volume; together a full sweep."""
    rng = world.rng
    grid = ["math_hard", "code", "science", "logic", "debug", "general", "math"]
    counter = rng.randrange(100)
    for _ in range(_n(world, 18)):
        actor = world.actor("low_and_slow", cid, ips=B._home(rng, 2), uas=[rng.choice(W.SDK_UAS + W.BROWSER_UAS)],
                            ip_mode="spread", stream_share=rng.choice([0, 0.5, 1.0]),
                            model=rng.choice(W.MODELS["chat"] + W.MODELS["reasoner"]))
        r = actor.rng
        params = B._sampling(r)
        for day in A.active_days(r, r.uniform(0.35, 0.7), r.uniform(0.3, 0.7), first=r.randint(0, 4)):
            for t in A.times_on(r, day, actor.tz, "evening", r.randint(1, 5)):
                prompt, category, recorded = grid_prompt(r, world.pools, counter, grid)
                counter += 1
                turns = 2 if r.random() < 0.2 else 1
                A.conversation(world, actor, t, prompt, category, turns, params, gap=(40, 300),
                               median_tokens=700, recorded=recorded)


# C8 ---------------------------------------------------------------------------------------------------------
def key_rotation_burst(world: W.World, cid: str) -> None:
    """Night bursts through many keys, rotating user agents and cloud addresses on every request."""
    rng = world.rng
    uas = rng.sample(W.SDK_UAS, 10)
    for _ in range(_n(world, 4)):
        actor = world.actor("key_rotation_burst", cid, ips=[], uas=uas, keys=rng.randint(8, 20), ip_mode="fresh",
                            fresh_prefixes=W.CLOUD_PREFIXES, ua_mode="spread", model="relay/frontier-large")
        r = actor.rng
        for day in A.active_days(r, 0.5, 0.6, first=r.randint(0, 3)):
            t = W.local_day_start(day, r.choice([0, 8, -5])) + r.uniform(0, 4) * 3600
            for _ in range(r.randint(40, 110)):
                category = r.choice(["general", "writing", "business", "science", "code"])
                prompt, recorded = T.prompt(r, category, world.pools, 0.4)
                tokens = A.answer_tokens(r, 450)
                lat = world.chat(actor, t, [{"role": "user", "content": prompt}],
                                 {"temperature": r.choice([0.7, 0.8]), "max_tokens": 2048},
                                 answer=A.reply(r, category, tokens, recorded), completion_tokens=tokens)
                t += lat / 3 + r.uniform(2, 40)


# C9 ---------------------------------------------------------------------------------------------------------
def preference_sampling(world: W.World, cid: str) -> None:
    """Best-of-n samples and pairwise judgements: preference data for a student's RL stage."""
    rng = world.rng
    for _ in range(_n(world, 3)):
        actor = world.actor("preference_sampling", cid, ips=B._cloud(rng, 2), uas=["OpenAI/Python 1.61.0"],
                            ip_mode="spread", model="relay/frontier-large")
        r = actor.rng
        last: list[tuple[str, str]] = []
        for t in A.daily_times(actor, r.uniform(10, 25), "flat", first=r.randint(0, 6)):
            if last and r.random() < 0.35:
                question, answer_a = last.pop()
                answer_b = T.prose(r, r.randint(200, 700))
                judge = (f"Compare the two responses to the question. Output a score from 1-10 for each and a "
                         f"rationale, then the winner.\n\nQuestion: {question}\n\n[Response A]\n{answer_a}\n\n"
                         f"[Response B]\n{answer_b}")
                world.chat(actor, t, [{"role": "user", "content": judge}], {"temperature": 0, "max_tokens": 800},
                           answer=f"A: {r.randint(3, 10)}/10, B: {r.randint(2, 9)}/10. {T.prose(r, 500)}")
                continue
            category = r.choice(GRID)
            prompt, recorded = T.prompt(r, category, world.pools, 0.4)
            n = r.choice([4, 4, 8])
            answers = [A.reply(r, category, A.answer_tokens(r, 350)) for _ in range(n)]
            world.chat(actor, t, [{"role": "user", "content": prompt}],
                       {"temperature": 1.0, "top_p": 1.0, "n": n, "max_tokens": 1500}, n_answers=answers)
            last.append((prompt, answers[0][:900]))


# C10 --------------------------------------------------------------------------------------------------------
def agent_trajectory_harvest(world: W.World, cid: str) -> None:
    """Agentic tool-use trajectories from fabricated environments: many tool sets, fast fake tool results."""
    rng = world.rng
    names = list(A.TOOL_LIBRARY)
    for _ in range(_n(world, 4)):
        actor = world.actor("agent_trajectory_harvest", cid, ips=B._cloud(rng, 2), uas=B._sdk(rng, 1),
                            ip_mode="spread", model=rng.choice(["relay/frontier-large", "relay/reasoner-pro"]))
        r = actor.rng
        for t in A.daily_times(actor, r.uniform(3, 6), "flat", first=r.randint(0, 5)):
            tools = r.sample(names, r.randint(3, 6))
            system = (f"You are an autonomous assistant. Available tools: {', '.join(tools)}. "
                      f"Think, call tools, and finish with a final answer.")
            task = r.choice(["Please ", "", "Can you "]) + T.BUILDERS[r.choice(["general", "business", "code"])](r)
            A.agent_run(world, actor, t, task, tools, system, r.randint(3, 8), {"temperature": 0.7}, gap=(0.2, 2.0))


# C11 --------------------------------------------------------------------------------------------------------
def parallel_corpus(world: W.World, cid: str) -> None:
    """A 'localisation service' fanning every unrelated source passage out to many languages."""
    rng = world.rng
    for _ in range(_n(world, 3)):
        actor = world.actor("parallel_corpus", cid, ips=B._cloud(rng, 1), uas=B._sdk(rng), model="relay/frontier-large")
        r = actor.rng
        langs = r.sample(T.HUMAN_LANGS, r.randint(10, 20))
        for day in A.active_days(r, 0.8, 0.3, first=r.randint(0, 4)):
            t = W.local_day_start(day, actor.tz) + W.pick_hour(r, "office") * 3600
            for _ in range(r.randint(2, 6)):
                category = r.choice(GRID)
                source, recorded = T.prompt(r, category, world.pools, 0.4)
                passage = recorded[:1200] if recorded else T.prose(r, r.randint(200, 1000))
                for lang in r.sample(langs, r.randint(6, len(langs))):
                    tokens = int(W.tokens_of(passage) * r.uniform(1.0, 1.7))
                    t += world.chat(actor, t, [{"role": "system", "content": f"Translate into {lang}. Output only "
                                                                             f"the translation."},
                                               {"role": "user", "content": passage}],
                                    {"temperature": 0.3, "max_tokens": 2048},
                                    answer=A.reply(r, "translation", tokens), completion_tokens=tokens)
                    t += r.uniform(0.5, 6)


CAMPAIGNS = {"reasoning_trace_farm": reasoning_trace_farm, "self_instruct_expansion": self_instruct_expansion,
             "synthetic_multiturn": synthetic_multiturn, "logprob_harvest": logprob_harvest,
             "code_solution_harvest": code_solution_harvest, "app_cover": app_cover, "low_and_slow": low_and_slow,
             "key_rotation_burst": key_rotation_burst, "preference_sampling": preference_sampling,
             "agent_trajectory_harvest": agent_trajectory_harvest, "parallel_corpus": parallel_corpus}
