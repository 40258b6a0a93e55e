"""Each detection signal moves when, and only when, the behaviour it describes is present."""

from __future__ import annotations

import numpy as np
import pytest

from detect_helpers import exchange, stream_of
from distillshield.detect.features import extract
from distillshield.detect.state import FEATURE_NAMES, AccountState

TOPICS = ["how do I repot a cactus", "what is the capital of Australia", "fix my bash loop over files",
          "explain inflation simply", "best way to learn guitar chords", "why is the sky blue",
          "write a haiku about rain", "how long should I boil an egg", "difference between TCP and UDP",
          "tips for a job interview", "how do vaccines work", "recommend a sci-fi novel"]


def features_of(exchanges) -> dict[str, float]:
    state = AccountState(exchanges[0].account)
    for item in exchanges:
        state.update(extract(item))
    return dict(zip(FEATURE_NAMES, state.feature_vector()))


def test_pacing_rate_and_regularity():
    steady = features_of(stream_of("bot", TOPICS * 5, gap=10.0))
    rng = np.random.default_rng(1)
    human_gaps = np.cumsum(rng.exponential(600, size=60)) * rng.choice([1, 1, 1, 20], size=60)
    human = features_of([exchange("h", TOPICS[i % 12], at=float(t)) for i, t in enumerate(np.sort(human_gaps))])
    assert steady["log_rate_per_hour"] > human["log_rate_per_hour"] + 1
    assert steady["gap_regularity"] > 0.9 > human["gap_regularity"] + 0.3


def test_a_harvest_that_keeps_going_is_active_in_more_hours_than_one_burst_of_the_same_size():
    burst = features_of(stream_of("b", TOPICS * 10, gap=5.0))            # 120 requests in ten minutes
    steady = features_of(stream_of("s", TOPICS * 10, gap=1800.0))        # the same 120 over two and a half days
    assert burst["log_active_hours"] == pytest.approx(np.log1p(1))
    assert steady["log_active_hours"] > burst["log_active_hours"] + 3
    assert burst["log_rate_per_hour"] > steady["log_rate_per_hour"] + 3


def test_round_the_clock_activity_versus_sleeping():
    always = features_of(stream_of("bot", TOPICS * 8, gap=1800.0))            # 96 requests over two days
    office = [exchange("h", TOPICS[i % 12], at=day * 86400 + hour * 3600)
              for i, (day, hour) in enumerate((d, h) for d in range(2) for h in range(9, 18))]
    sleeper = features_of(office)
    assert always["round_the_clock"] == pytest.approx(1.0)
    assert sleeper["round_the_clock"] < 0.45


def test_conversation_structure():
    history = [{"role": "user", "content": "how do I repot a cactus"},
               {"role": "assistant", "content": "Use gloves, a gritty mix and a pot one size up."}]
    chat = features_of([exchange("c", "what mix exactly, and do I water it after?", at=i * 60.0, history=history)
                        for i in range(20)])
    single = features_of(stream_of("s", TOPICS + TOPICS[:8]))
    assert chat["follow_up_share"] > 0.7 and chat["single_turn_share"] < 0.3
    assert single["single_turn_share"] > 0.7 and single["follow_up_share"] < 0.3


def test_templated_prompts_and_paraphrase_sweeps():
    nouns = ["a linked list", "a binary heap", "a trie", "an LRU cache", "a ring buffer", "a bloom filter",
             "a skip list", "a red-black tree", "a hash map", "a B-tree", "a deque", "a union-find"]
    templated = features_of(stream_of("t", [f"Write a Python class implementing {noun} with full tests and docs."
                                             for noun in nouns]))
    varied = features_of(stream_of("v", TOPICS))
    assert templated["template_share"] > varied["template_share"] + 0.4
    assert templated["near_duplicate_share"] > varied["near_duplicate_share"] + 0.3
    assert templated["prefix_variety"] < varied["prefix_variety"]


def test_exact_repeats_are_counted_once_each():
    repeated = features_of(stream_of("r", TOPICS[:4] * 5))
    assert repeated["exact_repeat_share"] > 0.6


@pytest.mark.parametrize("prompt", [
    "Solve this and explain your reasoning step by step: 17 * 23",
    "Résous ce problème étape par étape : 17 × 23",
    "Resuelve paso a paso: 17 * 23",
    "Löse Schritt für Schritt: 17 * 23",
    "Реши задачу пошагово: 17 * 23",
    "请一步一步地推理：17 * 23",
    "ステップバイステップで解いてください: 17 * 23",
    "단계별로 풀어 주세요: 17 * 23",
])
def test_reasoning_elicitation_in_many_languages(prompt):
    assert extract(exchange("a", prompt)).asks_reasoning
    assert not extract(exchange("a", "What is 17 * 23?")).asks_reasoning


def test_reasoning_asked_in_a_system_prompt():
    item = exchange("a", "17 * 23", history=[{"role": "system", "content": "Think step by step before answering."}])
    assert extract(item).asks_reasoning


@pytest.mark.parametrize("prompt", [
    "You are an impartial judge. Rate the response below on a scale of 1 to 10 using this rubric.",
    "Which response is better, A or B? Answer with the letter.",
    "Evaluate the answer and give a score from 1-10. Score: [",
    "请为下面的回答打分（1-10分）",
])
def test_grading_prompts(prompt):
    assert extract(exchange("a", prompt)).asks_grading
    assert not extract(exchange("a", "Write a short story about a judge.")).asks_grading


def test_harvesting_parameters():
    harvest = features_of(stream_of("h", TOPICS, n=4, logprobs=True, top_logprobs=5, max_tokens=4096,
                                     temperature=1.0))
    plain = features_of(stream_of("p", TOPICS))
    for name in ("multi_sample_share", "logprob_share", "long_answer_share"):
        assert harvest[name] > plain[name] + 0.5, name


def test_sampling_sweeps_show_as_variety():
    sweep = features_of([exchange("s", TOPICS[i % 12], at=i * 30.0, temperature=t / 10)
                         for i, t in enumerate(range(0, 12))])
    fixed = features_of(stream_of("f", TOPICS, temperature=0.7))
    assert sweep["sampling_variety"] > fixed["sampling_variety"] + 2


def test_shares_are_smoothed_for_young_accounts():
    young = features_of(stream_of("y", TOPICS[:2], logprobs=True))
    old = features_of(stream_of("o", TOPICS * 10, logprobs=True))
    assert young["logprob_share"] < old["logprob_share"]


def test_malformed_request_fields_do_not_crash_feature_extraction():
    odd = exchange("a", "x")
    odd.request = {"messages": "not a list", "n": "three", "max_tokens": True, "temperature": "hot"}
    item = extract(odd)
    assert item.n == 1 and item.max_tokens is None and item.temperature is None and item.prompt == ""


def test_harvest_like_requests_are_counted_through_cover_traffic():
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! How can I help?"}]
    cover = [exchange("m", "tell me more", at=i * 60.0, history=history) for i in range(60)]
    harvest = [exchange("m", f"Explain step by step: problem {i}", at=i * 60.0 + 30, max_tokens=2048)
               for i in range(40)]
    mixed = features_of(sorted(cover + harvest, key=lambda e: e.ts))
    chatty = features_of(cover)
    assert mixed["log_harvest_like"] == pytest.approx(np.log1p(40))
    assert chatty["log_harvest_like"] == 0.0


def _answered(item, text: str):
    item.response["choices"][0]["message"]["content"] = text
    return item


def test_a_conversation_carrying_served_answers_is_not_fabricated_but_a_written_history_is():
    real, history = [], []
    for turn in range(12):
        answer = f"Answer number {turn}: water it sparingly, {turn * 7} days apart, and keep it in the sun."
        real.append(_answered(exchange("chat", f"and then what about step {turn}?", at=turn * 60.0,
                                       history=list(history)), answer))
        history += [{"role": "user", "content": f"and then what about step {turn}?"},
                    {"role": "assistant", "content": "  " + answer.replace(" ", "\n", 3)}]   # re-wrapped by the client
    written = [exchange("fake", f"continue the story {turn}", at=turn * 60.0,
                        history=[{"role": "user", "content": f"tell me a story {turn}"},
                                 {"role": "assistant", "content": f"Once upon a time, hero {turn} set out..."}])
               for turn in range(12)]
    preamble = [{"role": "user", "content": "Classify: great product"}, {"role": "assistant", "content": "positive"}]
    few_shot = [exchange("app", f"Classify: review {turn}", at=turn * 60.0, history=preamble) for turn in range(12)]
    assert features_of(real)["fabricated_history_share"] == 0.0
    assert features_of(few_shot)["fabricated_history_share"] < 0.1      # one fixed preamble, carried every time
    assert features_of(written)["fabricated_history_share"] > 0.7


def test_answers_written_anew_versus_transformations_and_labels():
    generated = features_of(stream_of("g", TOPICS, answer_tokens=600))
    summaries = features_of(stream_of("s", ["Summarise: " + "the quarterly report says revenue grew. " * 40] * 12,
                                      answer_tokens=120))
    labels = features_of(stream_of("l", TOPICS, answer_tokens=3))
    assert generated["generative_share"] > 0.7 > 0.2 > summaries["generative_share"]
    assert labels["short_answer_share"] > 0.7 and generated["short_answer_share"] == 0.0


def test_a_clusters_gap_regularity_counts_the_spread_between_its_accounts():
    """Two perfectly regular accounts, one every 10 s and one every 1000 s: together they are not regular."""
    from distillshield.detect.state import merge_states

    fast = AccountState("fast")
    slow = AccountState("slow")
    for item in stream_of("fast", TOPICS * 2, gap=10.0):
        fast.update(extract(item))
    for item in stream_of("slow", TOPICS * 2, gap=1000.0):
        slow.update(extract(item))
    merged = dict(zip(FEATURE_NAMES, merge_states("c", [fast, slow]).feature_vector()))
    assert features_of(stream_of("fast", TOPICS * 2, gap=10.0))["gap_regularity"] > 0.9
    assert merged["gap_regularity"] < 0.8


def test_an_accounts_memory_of_prompts_is_bounded():
    """Exact repeats are looked for among a bounded number of distinct prompts, so an account's state stops
    growing however many requests it sends (scan memory grows with accounts, not exchanges)."""
    from distillshield.detect.state import _PROMPTS_REMEMBERED

    state = AccountState("big")
    for index in range(_PROMPTS_REMEMBERED + 500):
        state.update(extract(exchange("big", f"prompt number {index}", at=float(index))))
    assert len(state.prompt_hashes) == _PROMPTS_REMEMBERED
    state.update(extract(exchange("big", "prompt number 3", at=1e6)))      # a repeat it remembers
    assert state.exact_repeat == 1


def test_a_proxy_pool_rotating_networks_churns_where_a_person_moving_between_networks_does_not():
    prompts = TOPICS * 3
    rotating = features_of([exchange("p", text, at=i * 60.0, ip=f"{20 + i}.{i * 7 % 250}.9.{i}")
                            for i, text in enumerate(prompts)])
    commuter = features_of([exchange("c", text, at=i * 60.0, ip=("203.0.113.5", "198.51.100.77", "203.0.113.9")[i % 3])
                            for i, text in enumerate(prompts)])    # home, office, home again: two /24s
    one_address = features_of(stream_of("o", prompts))
    assert rotating["network_churn"] > 0.8
    assert commuter["network_churn"] < 0.1 and one_address["network_churn"] < 0.05
    unknown = features_of([exchange("u", text, at=i * 60.0, ip="not-an-address") for i, text in enumerate(prompts)])
    assert unknown["network_churn"] < 0.05     # nothing to count, not a churn
