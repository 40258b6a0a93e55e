"""DIR/README.md for a generated traffic folder: the strategies and what each harvested."""
import os
from collections import Counter

TRAINING_SET = {
    "sybil_chat": "multi-turn chat SFT (code, maths, explanations, writing, role play)",
    "app_mimic": "single-turn instruction SFT across every task family",
    "low_slow": "long multi-turn explanations and code",
    "fabricated_multiturn": "multi-turn SFT with our answer as the final turn",
    "rotating_swarm": "single-turn instruction SFT (paraphrased instruction set)",
    "cover_mix": "multi-turn coding/explanation conversations",
    "eval_disguise": "two-turn (MT-bench-like) SFT, greedy answers",
    "agent_disguise": "agentic coding trajectories (tool calls + code)",
    "reasoning_stealth": "worked maths/logic solutions (reasoning traces)",
    "judge_stealth": "pairwise preferences with rationales, critiques (judge / reward-model data)",
}

STRATEGIES = {
    "sybil_chat": (
        "Many accounts, each an ordinary-looking chat user",
        "Each account keeps human sessions in its own time zone (diurnal curve, reading/typing gaps), opens "
        "2-3 conversations a session with a harvest instruction in a casual register (typos, lower case), and "
        "follows up the way people do (\"now do it in Rust\", \"can you add tests\", \"simpler please\"), so most "
        "requests carry earlier answers. A few everyday chats and \"thanks!\" turns as cover. Every account draws "
        "its own phrasing and its own slice of the task space, residential addresses, common chat clients. "
        "Harvest: multi-turn SFT conversations over code, maths, explanations, writing, puzzles, role play.",
        "all accounts enrolled within ~2 days; uniform harvest-family mix; almost no cheap turns; "
        "always the large model; volume per account at the top of the ordinary range"),
    "app_mimic": (
        "An application's single-template pattern while sweeping capabilities",
        "A made-up SaaS product (\"Quillmate\", \"StudyNest\", ...) with one fixed system prompt and a user template "
        "`[Ask] {end-user text}`, cloud addresses, one SDK, a B2C diurnal curve with Poisson arrivals like "
        "the benign apps. Behind the template the 'end users' are a capability sweep over every task family. "
        "Every answer is capped at 480 tokens (no request 'asks for a long answer'); a cut answer is fetched "
        "by a second request that carries it and says 'continue' (a 'Continue generating' button). "
        "Harvest: single-turn instruction/answer pairs, thousands per account.",
        "one template but topic spread and answer lengths of a general assistant, not of a narrow app; "
        "no conversation ever continues"),
    "low_slow": (
        "Low and slow, human pacing, cover chats",
        "A handful of accounts active every day in human sessions, ~40% everyday cover chats, long answers "
        "obtained by follow-ups (\"go deeper on the second point\") rather than long single requests.",
        "active nearly every day; sessions longer than typical users'"),
    "fabricated_multiturn": (
        "Fabricated multi-turn conversations behind a 'companion platform'",
        "Each request carries a conversation the attacker wrote (1-3 prior user/assistant turns, the "
        "assistant turns produced by the attacker's own cheaper model) and ends with a harvest instruction; "
        "35% of requests continue a previous conversation with our real answer in it, as a chatbot backend "
        "would. Harvest: multi-turn SFT data with our model's answer as the final turn.",
        "the history's assistant turns were never served by us (a server-side check of carried answers "
        "against served ones exposes them); opening turns are short generic chat"),
    "rotating_swarm": (
        "Rotating accounts, keys, addresses and clients; paraphrased instruction set",
        "Short-lived API accounts (1-2 days each, staggered), 1-3 keys each, a fresh residential proxy address "
        "per request, SDK user agents drawn per account, each with its own temperature, "
        "working-hours bursts with lognormal gaps. Prompts are paraphrased renderings of a compositional "
        "instruction set (slots x 10 phrasings x casing/typos) so no two prompts are near-duplicates and no "
        "two accounts share a template (persona/context openers and closers, placed before or after the "
        "request). Answers capped at 480 tokens with a 'continue' request when cut. Harvest: single-turn "
        "instruction data.",
        "a new address on nearly every request; accounts that live one or two days; all single-turn"),
    "cover_mix": (
        "Cover traffic: developer accounts that are half genuine",
        "Working-hours developer accounts; half the conversations are real-looking dev chat (debugging, "
        "follow-ups), the other half harvest conversations across all task families; the script caps answers "
        "at 480 tokens and asks to continue in the conversation.",
        "topic spread wider than a developer's"),
    "eval_disguise": (
        "Disguised as an open-ended benchmark run",
        "A one-off run like an MT-bench style two-turn benchmark: greedy decoding, one worker, a few hours, an "
        "eval-harness client; turn 2 carries turn 1's answer and a follow-up question. Turn-1 answers capped "
        "at 480 tokens with a 'continue' request when cut. The 'benchmark' is the harvest set.",
        "a benchmark that no public suite contains; bursts of several hundred to a thousand open-ended prompts"),
    "agent_disguise": (
        "Coding-agent clients harvesting agent trajectories",
        "Agent user agents (Cline, aider, ...), the agent's long tool-use system prompt, 3-9 tool steps per task "
        "with fabricated tool results; tasks sweep a coding curriculum. Harvest: agentic trajectories "
        "(tool calls + code) for an agent student.",
        "more tasks per day than one developer; tool results are synthetic"),
    "reasoning_stealth": (
        "Reasoning traces without reasoning asks, behind a tutoring app",
        "A made-up tutoring product whose system prompt asks to 'teach the student how to solve the problem: "
        "write out the full solution in order, check the result, and end with Final answer:' - none of the "
        "phrasings the detector treats as a reasoning request (probed: 'step by step', 'show your work', "
        "'explain your reasoning', 'justify', 'think carefully' and their translations are caught; 'write out "
        "the full solution', 'teach me how', 'derive', 'prove' are not). Maths word problems and logic puzzles "
        "from 'students', 25% with a follow-up about a step; answers capped at 480 tokens plus 'continue'. "
        "Harvest: worked solutions (reasoning traces) for maths and logic.",
        "a tutoring app whose system prompt asks for full worked solutions on every request; "
        "problems generated from templates with fresh numbers"),
    "judge_stealth": (
        "Judge/preference data without grading words, behind an A/B draft tool",
        "A made-up 'compare two drafts' product: each request carries a task and one or two candidate answers "
        "(written by the attacker's own student model) and asks which is better and why, or what is wrong and "
        "how to improve it. Probed: 'rate', 'grade', 'score ... JSON' and 'impartial judge' are caught as grading; "
        "'which of these two answers is better', 'compare ... which is clearer', 'is this answer right? what would "
        "you improve?' are not. Each account uses 3 of 5 phrasings. Harvest: pairwise preferences with rationales "
        "and critiques, i.e. judge / reward-model training data.",
        "every request carries one or two long candidate answers to a general-knowledge task; the tool's "
        "'users' compare drafts across every subject"),
}


def write(args, w, labels):
    kinds = Counter(x["kind"] for x in labels)
    camp = Counter(x["kind"] for x in labels if x["campaign"])
    lines = [f"# Red-team distillation traffic (seed {args.seed}, scale {args.scale})", "",
             f"{len(w.records)} exchanges, {len(labels)} accounts ({sum(camp.values())} campaign accounts in "
             f"{len(camp)} strategies), {4} days from 2026-11-23. `labels.jsonl` gives each account's kind, "
             "`campaign` and `campaign_id` (one per strategy).", "",
             "Made by `/work/gens/redteam/generate.py`; prompts are compositional (slot lists x phrasings), "
             "answers are placeholder text of the sampled length.", "",
             "## What each strategy harvested", "",
             "| strategy | accounts | exchanges | harvest exchanges | harvest answer tokens | tokens / account / day | distinct harvest requests | training set |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for k in STRATEGIES:
        st = w.stats[k]
        per = st["harvest_tokens"] / max(1, camp[k]) / 4
        lines.append(f"| {k} | {camp[k]} | {int(st['exchanges'])} | {int(st['harvest_exchanges'])} | "
                     f"{int(st['harvest_tokens']):,} | {per:,.0f} | {len(w.prompts_seen[k])} | {TRAINING_SET[k]} |")
    tot_ex = sum(w.stats[k]["harvest_exchanges"] for k in STRATEGIES)
    tot_tok = sum(w.stats[k]["harvest_tokens"] for k in STRATEGIES)
    lines += ["", f"All strategies together harvested {int(tot_ex):,} answers, {int(tot_tok):,} answer tokens, in 4 days. "
              "Harvest exchanges exclude cover traffic; 'distinct harvest requests' counts distinct user-turn "
              "sequences (a conversation's later turns are new training examples)."]
    lines += ["", "## Strategies", ""]
    for k, (title, how, tells) in STRATEGIES.items():
        lines += [f"### {k}: {title}", "", how, "", f"Residual tells a next detector could use: {tells}.", ""]
    lines += ["## What probing the scanner as a black box showed (and the campaigns exploit)", "",
              "Found with small probe files scanned by `distillshield scan` (no source read); each finding is a "
              "lever the strategies above use, and a gap the next detector should close:", "",
              "- *Harvest-like* requests are single-turn ones that ask for a long answer: `max_tokens` >= ~1000, "
              "or an answer of >= ~500 tokens (480 is not counted, 520 is; a cut answer, `finish_reason: length`, "
              "at 480 is not). Capping at 480 and fetching the rest with a multi-turn 'continue' request "
              "removes the signal at no cost to the harvest.",
              "- Requests that carry an earlier answer (multi-turn) are not harvest-like, whoever wrote that "
              "answer: fabricated histories count as conversations.",
              "- Reasoning asks are caught by phrase ('step by step', 'show your work(ing)', 'explain your "
              "reasoning', 'justify', 'explain each step', 'think carefully', also in Spanish/German and in a "
              "system prompt) but not 'write out the full solution', 'teach me how to solve it', 'I want to "
              "understand how to get the answer', 'derive', 'prove', 'check your answer', `\\boxed{}`.",
              "- Human session pacing (reading/typing gaps, a diurnal curve in the account's time zone) scores "
              "lower than Poisson or near-regular gaps at the same volume.",
              "- Once the request-level signals are neutral, per-account volume barely moves the score: the "
              "volume frontier below stays unflagged at several times the default volume.",
              "- Linking needs a shared address with the same client, a shared dominant template or near-identical "
              "prompt streams: per-account phrasing, per-account task slices and per-request proxy addresses "
              "leave nothing to link.",
              "- The shipped threshold comes from the shipped reference, so a campaign's own volume of benign-looking "
              "accounts does not move it.", ""]
    frontier = os.path.join(os.path.dirname(os.path.abspath(__file__)), "frontier.md")
    if os.path.exists(frontier):
        lines += open(frontier).read().splitlines() + [""]
    lines += ["## Benign population", "", "| kind | accounts | exchanges |", "|---|---:|---:|"]
    for k, n in sorted(kinds.items()):
        if k not in camp:
            lines.append(f"| {k} | {n} | {int(w.stats[k]['exchanges'])} |")
    lines += ["", "Chat users (multi-turn sessions in their own time zone, many clients), developers (working hours), "
              "students (maths/explanations, long back-and-forth), coding-agent users, eleven kinds of "
              "high-volume applications (summarise, classify, translate, RAG help desk, extraction, IDE "
              "completions, product copy, email rewriting, consumer chatbot backend, moderation, quiz "
              "generation) and one-off benchmark runs (multiple choice with and without log-probabilities, "
              "chain-of-thought maths, code, open-ended).", "", "<!-- detection -->", ""]
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("\n".join(lines))
