"""Per-account state, updated one exchange at a time in O(1) (amortised), and turned into a feature vector.

Shares are smoothed (``_PRIOR_WEIGHT`` pseudo requests), so ten requests cannot
look as certain as a thousand: signals that only count against an account are
pulled toward zero, never above what was seen, so a young account never looks
more suspect than an old one for want of data.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHashLSH

from distillshield.detect.features import ExchangeFeatures
from distillshield.detect.near_duplicates import BandIndex, Signer

_PRIOR_WEIGHT = 4.0
_MINHASH_PERMUTATIONS = 32
_NEAR_DUPLICATE_JACCARD = 0.5
_SHINGLE_WORDS = 3
_EMBED_SAMPLE = 20
_EMBED_FIRST = 12
_LONG_ANSWER_TOKENS = 1000
_LONG_ANSWER_SEEN = 500
_MAX_TRACKED_KEYS = 4096
_MAX_TRACKED_SHAPES = 64     # a harness sends one shape; a client varying its body per request needs no more
_UNKNOWN_TOPIC_SPREAD = 0.35
_PROMPTS_REMEMBERED = 8192  # distinct prompts an exact repeat is looked for among: an account's memory is bounded
_SERVED_KEYS_KEPT = 256      # recent answers a follow-up may carry back (conversations continue recent answers)
_HISTORY_KEYS_KEPT = 512
_GENERATIVE_MIN_TOKENS = 100
_GENERATIVE_RATIO = 1.5      # answer tokens per token of the newest prompt (about 4 characters a token)
_SHORT_ANSWER_TOKENS = 16

# (name, what it measures, direction) in the order of the feature vector; the scorer and the reasons use
# these names. Direction is what domain knowledge says about a signal: +1 may only raise the score, -1 may
# only lower it, 0 is left to the data (templated traffic is also what ordinary applications send).
FEATURES: tuple[tuple[str, str, int], ...] = (
    ("log_requests", "requests seen (log)", +1),
    # A high rate is what batch jobs, benchmark runs and bots all do: the data decides what it means.
    ("log_rate_per_hour", "requests per active hour (log)", 0),
    ("log_active_hours", "distinct clock hours with activity (log): a harvest keeps going, a benchmark run or a "
                         "batch job is one burst", +1),
    ("round_the_clock", "share of the day's 24 hours with activity, once a day has passed", +1),
    ("gap_regularity", "how regular the gaps between requests are (1 − coefficient of variation, clipped)", +1),
    ("single_turn_share", "requests with one user turn and no earlier answer", +1),
    ("follow_up_share", "requests that carry earlier answers (conversations)", -1),
    ("template_share", "requests sharing the account's most common opening or closing words", 0),
    ("prefix_variety", "distinct openings per request", 0),
    ("near_duplicate_share", "requests that paraphrase an earlier request (MinHash Jaccard ≥ 0.5)", 0),
    ("exact_repeat_share", "requests repeating an earlier prompt word for word", 0),
    ("reasoning_share", "requests asking for step-by-step reasoning", +1),
    ("grading_share", "requests using the model as a grader or judge", +1),
    ("multi_sample_share", "requests asking for several answers (n > 1)", +1),
    ("logprob_share", "requests asking for log-probabilities", +1),
    ("long_answer_share", f"requests allowing answers of {_LONG_ANSWER_TOKENS}+ tokens", +1),
    ("sampling_variety", "distinct (temperature, top_p) settings (log)", +1),
    ("log_answer_tokens", "mean answer length in tokens (log)", +1),
    ("log_prompt_chars", "mean prompt length in characters (log)", 0),
    ("log_harvest_like", "single-turn requests asking for reasoning, grades, samples, log-probabilities or a long "
                         "answer (log of the count: cover traffic dilutes a share, not a count)", +1),
    ("topic_spread", "spread of prompt topics (mean distance of sentence embeddings from their centre)", +1),
    ("fabricated_history_share", "requests carrying earlier answers that were never served to the account (a "
                                 "conversation history written by the client, not held with the model)", +1),
    ("generative_share", f"requests answered with {_GENERATIVE_MIN_TOKENS}+ tokens, more than "
                         f"{_GENERATIVE_RATIO}× the prompt (new text the model wrote, not a transformation of "
                         "the client's content)", +1),
    ("short_answer_share", f"requests answered in {_SHORT_ANSWER_TOKENS} tokens or fewer (labels, completions, "
                           "scores: little to learn from)", -1),
    ("network_churn", "requests sent from a /24 (/48) network the account had not used before (a proxy pool "
                      "rotating addresses; a person moves between a few networks)", +1),
)
FEATURE_NAMES = tuple(name for name, _, _ in FEATURES)
FEATURE_DIRECTIONS = tuple(direction for _, _, direction in FEATURES)


# (bands, rows) for Jaccard >= 0.5, worked out once: MinHashLSH integrates for them on every construction
_LSH_BANDS = (lambda lsh: (lsh.b, lsh.r))(MinHashLSH(threshold=_NEAR_DUPLICATE_JACCARD, num_perm=_MINHASH_PERMUTATIONS))
_SIGNER = Signer(_MINHASH_PERMUTATIONS, seed=1)   # datasketch's MinHash values, permutations drawn once


def _shingles(text: str) -> list[bytes]:
    words = text.lower().split()
    if len(words) < _SHINGLE_WORDS:
        return [" ".join(words).encode()] if words else []
    return [" ".join(words[i:i + _SHINGLE_WORDS]).encode() for i in range(len(words) - _SHINGLE_WORDS + 1)]


def _smoothed(count: float, total: float, prior: float) -> float:
    return (count + _PRIOR_WEIGHT * prior) / (total + _PRIOR_WEIGHT)


@dataclass
class AccountState:
    account: str
    count: int = 0
    refused: int = 0
    first_epoch: float = 0.0
    last_epoch: float = 0.0
    gap_n: int = 0
    gap_mean: float = 0.0
    gap_m2: float = 0.0
    hour_bins: set = field(default_factory=set)
    single_turn: int = 0
    follow_up: int = 0
    reasoning: int = 0
    grading: int = 0
    multi_sample: int = 0
    logprobs: int = 0
    long_answer: int = 0
    harvest_like: int = 0
    near_duplicate: int = 0
    exact_repeat: int = 0
    answer_tokens: int = 0
    answer_known: int = 0
    fabricated_history: int = 0
    generative: int = 0
    short_answer: int = 0
    new_network: int = 0
    prompt_chars: int = 0
    prefixes: Counter = field(default_factory=Counter)
    suffixes: Counter = field(default_factory=Counter)
    sampling_settings: set = field(default_factory=set)
    ips: Counter = field(default_factory=Counter)
    networks: set = field(default_factory=set)            # the /24 (/48) ranges it sent from (bounded)
    user_agents: Counter = field(default_factory=Counter)
    clients: Counter = field(default_factory=Counter)     # client fingerprints (features.client_key)
    shapes: Counter = field(default_factory=Counter)      # request shapes (features.shape_key)
    template_prefixes: Counter = field(default_factory=Counter)   # openings of prompts that go on past them
    template_suffixes: Counter = field(default_factory=Counter)
    prompt_hashes: set = field(default_factory=set)
    embed_sample: list = field(default_factory=list)     # prompts kept for topic embedding
    embeddings: list = field(default_factory=list)        # vectors of embed_sample[:len(embeddings)]
    hourly: Counter = field(default_factory=Counter)      # requests per absolute hour, for timing links
    examples: dict = field(default_factory=dict)          # signal name → one prompt that showed it
    served_keys: dict = field(default_factory=dict)       # recent answers served, as text keys (an ordered set)
    history_keys: dict = field(default_factory=dict)      # earlier answers requests carried, as text keys
    _near_duplicates: BandIndex | None = None        # the first prompts' MinHash bands (MinHashLSH's answers)

    def update(self, item: ExchangeFeatures) -> None:
        if self.count == 0:
            self.first_epoch = item.epoch
        else:
            self._add_gap(max(0.0, item.epoch - self.last_epoch))
        self.count += 1
        self.last_epoch = max(self.last_epoch, item.epoch)
        self.refused += item.refused
        self.hour_bins.add(int(item.epoch // 3600) % 24)
        self.hourly[int(item.epoch // 3600)] += 1
        self.single_turn += item.single_turn
        self.follow_up += item.has_history
        self.multi_sample += item.n > 1
        self.logprobs += item.wants_logprobs
        long_answer = (item.max_tokens or 0) >= _LONG_ANSWER_TOKENS
        self.long_answer += long_answer
        self.harvest_like += item.single_turn and (
            long_answer or item.asks_reasoning or item.asks_grading or item.n > 1 or item.wants_logprobs
            or (item.completion_tokens or 0) >= _LONG_ANSWER_SEEN)
        self.prompt_chars += item.prompt_chars
        if item.completion_tokens is not None:
            self.answer_tokens += item.completion_tokens
            self.answer_known += 1
            self.generative += (item.completion_tokens >= _GENERATIVE_MIN_TOKENS
                                and item.completion_tokens > _GENERATIVE_RATIO * item.prompt_chars / 4)
            self.short_answer += item.completion_tokens <= _SHORT_ANSWER_TOKENS
        self._check_history(item)
        self._note("reasoning", item.asks_reasoning, item.prompt)
        self._note("grading", item.asks_grading, item.prompt)
        self._count_key(self.prefixes, item.prefix_key)
        self._count_key(self.suffixes, item.suffix_key)
        if len(self.sampling_settings) < 64:
            self.sampling_settings.add((item.temperature, item.top_p))
        self._count_key(self.ips, item.ip)
        self._note_network(item.network)
        self._count_key(self.user_agents, item.user_agent)
        self._count_key(self.clients, item.client_key)
        self._count_key(self.shapes, item.shape_key, _MAX_TRACKED_SHAPES)
        if not item.skeleton_only:
            self._count_key(self.template_prefixes, item.prefix_key)
            self._count_key(self.template_suffixes, item.suffix_key)
        self._check_repeats(item.prompt)
        self._sample_for_embedding(item.prompt)

    def _check_history(self, item: ExchangeFeatures) -> None:
        """A follow-up normally carries answers this account was served; a history none of whose answers
        were served (nor carried before, as a fixed few-shot preamble is) was written by the client."""
        keys = item.history_answer_keys
        if keys and not any(key in self.served_keys or key in self.history_keys for key in keys):
            self._note("fabricated_history", True, item.prompt)
        for key in keys:
            _remember(self.history_keys, key, _HISTORY_KEYS_KEPT)
        if item.answer_key is not None:
            _remember(self.served_keys, item.answer_key, _SERVED_KEYS_KEPT)

    def _note_network(self, network: str | None) -> None:
        if network is None or network in self.networks:
            return
        self.new_network += 1
        if len(self.networks) < _MAX_TRACKED_KEYS:
            self.networks.add(network)

    def _note(self, signal: str, present: bool, prompt: str) -> None:
        if present:
            setattr(self, signal, getattr(self, signal) + 1)
            self.examples.setdefault(signal, prompt[:200])

    def _add_gap(self, gap: float) -> None:
        self.gap_n += 1
        delta = gap - self.gap_mean
        self.gap_mean += delta / self.gap_n
        self.gap_m2 += delta * (gap - self.gap_mean)

    @staticmethod
    def _count_key(counter: Counter, key, limit: int = _MAX_TRACKED_KEYS) -> None:
        if key is not None and (key in counter or len(counter) < limit):
            counter[key] += 1

    def _check_repeats(self, prompt: str) -> None:
        digest = hash(prompt)
        if digest in self.prompt_hashes:
            self.exact_repeat += 1
            self.examples.setdefault("exact_repeat", prompt[:200])
            return
        if len(self.prompt_hashes) < _PROMPTS_REMEMBERED:
            self.prompt_hashes.add(digest)
        shingles = _shingles(prompt)
        if not shingles:
            return
        signature = _SIGNER.sign(shingles)
        if self._near_duplicates is None:
            self._near_duplicates = BandIndex(*_LSH_BANDS)
        if self._near_duplicates.seen(signature):
            self.near_duplicate += 1
            self.examples.setdefault("near_duplicate", prompt[:200])
        if len(self.prompt_hashes) <= 2000:
            self._near_duplicates.insert(signature)

    def _sample_for_embedding(self, prompt: str) -> None:
        # The first prompts, then one at each power of two: a sample that only grows (so a checkpoint's
        # topic spread can be computed later, exactly) and still sees what an account turns to later on.
        if not prompt.strip() or len(self.embed_sample) >= _EMBED_SAMPLE:
            return
        if self.count <= _EMBED_FIRST or self.count & (self.count - 1) == 0:
            self.embed_sample.append(prompt)

    # ---------------------------------------------------------------------------------------------
    def pending_embeddings(self) -> list[str]:
        return self.embed_sample[len(self.embeddings):]

    def add_embeddings(self, vectors: np.ndarray) -> None:
        self.embeddings.extend(vectors)

    def topic_spread(self, sampled: int | None = None) -> float:
        """Mean cosine distance of the sampled prompts from their centre (of the first ``sampled`` only)."""
        vectors = self.embeddings[:sampled]
        if len(vectors) < 3:
            return _UNKNOWN_TOPIC_SPREAD
        matrix = np.asarray(vectors)
        centre = matrix.mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        return float(1.0 - (matrix @ centre).mean())

    def feature_vector(self) -> np.ndarray:
        count = self.count
        span_hours = max((self.last_epoch - self.first_epoch) / 3600, 1 / 60)
        active_hours = max(1.0, min(len(self.hourly), span_hours))
        gap_cv = self._smoothed_gap_cv()
        top_template = max(max(self.prefixes.values(), default=0), max(self.suffixes.values(), default=0))
        sampling = len(self.sampling_settings)
        values = {
            "log_requests": math.log1p(count),
            "log_rate_per_hour": math.log1p(count / active_hours),
            "log_active_hours": math.log1p(len(self.hourly)),
            "round_the_clock": len(self.hour_bins) / 24 if span_hours >= 20 else 0.5,
            "gap_regularity": max(0.0, 1.0 - min(gap_cv, 3.0) / 3.0),
            "single_turn_share": _smoothed(self.single_turn, count, 0.5),
            "follow_up_share": _smoothed(self.follow_up, count, 0.5),
            "template_share": _smoothed(top_template, count, 0.1),
            "prefix_variety": _smoothed(len(self.prefixes), count, 0.9),
            "near_duplicate_share": _smoothed(self.near_duplicate, count, 0.02),
            "exact_repeat_share": _smoothed(self.exact_repeat, count, 0.02),
            "reasoning_share": _smoothed(self.reasoning, count, 0.0),
            "grading_share": _smoothed(self.grading, count, 0.0),
            "multi_sample_share": _smoothed(self.multi_sample, count, 0.0),
            "logprob_share": _smoothed(self.logprobs, count, 0.0),
            "long_answer_share": _smoothed(self.long_answer, count, 0.0),
            "sampling_variety": math.log(sampling) if sampling else 0.0,
            "log_answer_tokens": math.log1p(self.answer_tokens / self.answer_known) if self.answer_known else 5.5,
            "log_prompt_chars": math.log1p(self.prompt_chars / count) if count else 0.0,
            "log_harvest_like": math.log1p(self.harvest_like),
            "topic_spread": self.topic_spread(),
            "fabricated_history_share": _smoothed(self.fabricated_history, count, 0.0),
            "generative_share": _smoothed(self.generative, self.answer_known, 0.5),
            "short_answer_share": _smoothed(self.short_answer, self.answer_known, 0.0),
            # the first request always comes from a new network: churn counts the ones after it
            "network_churn": _smoothed(max(self.new_network - 1, 0), max(count - 1, 0), 0.05),
        }
        return np.array([values[name] for name in FEATURE_NAMES], dtype=float)

    def _smoothed_gap_cv(self) -> float:
        """The gaps' coefficient of variation, pulled toward 1 (random arrivals) while there are few gaps:
        four gaps can look regular by chance, and regularity only ever counts against an account."""
        if self.gap_n < 2 or self.gap_mean <= 0:
            return 1.0
        observed = math.sqrt(self.gap_m2 / self.gap_n) / self.gap_mean
        return (self.gap_n * observed + _PRIOR_WEIGHT * 1.0) / (self.gap_n + _PRIOR_WEIGHT)

    def evidence(self) -> dict[str, str]:
        """Human-checkable evidence for each feature, quoted in the reasons of a verdict."""
        count = max(self.count, 1)
        top_prefix = max(self.prefixes.values(), default=0)
        top_suffix = max(self.suffixes.values(), default=0)
        span_hours = (self.last_epoch - self.first_epoch) / 3600
        return {
            "log_requests": f"{self.count} requests over {span_hours:.1f} h",
            "log_rate_per_hour": f"{self.count} requests in {len(self.hourly)} distinct clock hours",
            "log_active_hours": f"active in {len(self.hourly)} distinct clock hours over {span_hours:.1f} h",
            "round_the_clock": f"active in {len(self.hour_bins)} of 24 hours of the day",
            "gap_regularity": f"mean gap {self.gap_mean:.1f} s between requests",
            "single_turn_share": f"{self.single_turn}/{self.count} requests are single-turn",
            "follow_up_share": f"{self.follow_up}/{self.count} requests continue a conversation",
            "template_share": f"{max(top_prefix, top_suffix)}/{self.count} requests share one opening or closing",
            "prefix_variety": f"{len(self.prefixes)} distinct openings in {self.count} requests",
            "near_duplicate_share": f"{self.near_duplicate}/{count} paraphrase an earlier request"
                                    + _example(self.examples.get("near_duplicate")),
            "exact_repeat_share": f"{self.exact_repeat}/{count} repeat an earlier prompt"
                                  + _example(self.examples.get("exact_repeat")),
            "reasoning_share": f"{self.reasoning}/{count} ask for step-by-step reasoning"
                               + _example(self.examples.get("reasoning")),
            "grading_share": f"{self.grading}/{count} ask for a grade or judgement"
                             + _example(self.examples.get("grading")),
            "multi_sample_share": f"{self.multi_sample}/{count} ask for n > 1 answers",
            "logprob_share": f"{self.logprobs}/{count} ask for log-probabilities",
            "long_answer_share": f"{self.long_answer}/{count} allow {_LONG_ANSWER_TOKENS}+ answer tokens",
            "sampling_variety": f"{len(self.sampling_settings)} distinct temperature/top_p settings",
            "log_answer_tokens": f"mean answer {self.answer_tokens / max(self.answer_known, 1):.0f} tokens",
            "log_prompt_chars": f"mean prompt {self.prompt_chars / count:.0f} characters",
            "log_harvest_like": f"{self.harvest_like} of {count} requests are harvest-like",
            "topic_spread": f"topic spread {self.topic_spread():.2f} over {len(self.embeddings)} sampled prompts",
            "fabricated_history_share": f"{self.fabricated_history}/{count} carry a conversation history whose "
                                        "answers were never served" + _example(self.examples.get("fabricated_history")),
            "generative_share": f"{self.generative}/{self.answer_known} answers are new text longer than the prompt",
            "short_answer_share": f"{self.short_answer}/{self.answer_known} answers of {_SHORT_ANSWER_TOKENS} "
                                  "tokens or fewer",
            "network_churn": f"{self.new_network} distinct /24 (/48) networks in {self.count} requests",
        }


def _remember(keys: dict, key: int, kept: int) -> None:
    keys.pop(key, None)
    keys[key] = None
    if len(keys) > kept:
        del keys[next(iter(keys))]


def _example(prompt: str | None) -> str:
    return f', e.g. "{prompt[:120]}"' if prompt else ""


_SUMMED = ("count", "refused", "single_turn", "follow_up", "reasoning", "grading", "multi_sample", "logprobs",
           "long_answer", "harvest_like", "near_duplicate", "exact_repeat", "answer_tokens", "answer_known",
           "prompt_chars", "fabricated_history", "generative", "short_answer", "new_network")


def merge_states(name: str, states: list[AccountState]) -> AccountState:
    """One state for a cluster: its accounts' traffic counted together, so a campaign's combined volume shows."""
    merged = AccountState(account=name)
    for field_name in _SUMMED:
        setattr(merged, field_name, sum(getattr(state, field_name) for state in states))
    merged.first_epoch = min(state.first_epoch for state in states)
    merged.last_epoch = max(state.last_epoch for state in states)
    gap_count = sum(state.gap_n for state in states)
    if gap_count:
        merged.gap_n = gap_count
        merged.gap_mean = sum(state.gap_mean * state.gap_n for state in states) / gap_count
        # Chan et al.'s pairwise update: within-account spread plus the spread between accounts' means
        merged.gap_m2 = sum(state.gap_m2 + state.gap_n * (state.gap_mean - merged.gap_mean) ** 2 for state in states)
    for state in states:
        merged.hour_bins |= state.hour_bins
        merged.hourly.update(state.hourly)
        merged.prefixes.update(state.prefixes)
        merged.suffixes.update(state.suffixes)
        merged.sampling_settings |= state.sampling_settings
        merged.ips.update(state.ips)
        merged.networks |= state.networks
        merged.user_agents.update(state.user_agents)
        merged.clients.update(state.clients)
        merged.shapes.update(state.shapes)
        merged.template_prefixes.update(state.template_prefixes)
        merged.template_suffixes.update(state.template_suffixes)
        merged.embeddings.extend(state.embeddings[:max(2, _EMBED_SAMPLE // len(states))])
        for signal, example in state.examples.items():
            merged.examples.setdefault(signal, example)
    return merged
