"""Watermark schemes: how a key biases the next token, and how a text is scored against a key.

Every scheme draws, for each position, one secret 64-bit value per vocabulary entry:

    seed      = BLAKE2b(key, previous ``context_width`` token ids)      (a keyed PRF, 8 bytes)
    hash(tok) = splitmix64(seed + tok * 0x9E3779B97F4A7C15)             (vectorised over the vocabulary)

The seed is cryptographic; the per-token spread is splitmix64, which is fast enough to run over the
whole vocabulary at each decoding step. A text that was not produced with the key is independent of
these values, so for distinct (context, token) pairs they are independent and uniform: that gives each
scheme an exact null distribution for its score, and an exact p-value, with no normal approximation.
Repeated (context, token) pairs would repeat the same value, so each is scored once.

The distortion-free schemes (``expmin``, ``tournament``) mark a token only where its context has not
already come up in the same answer, as SynthID-Text does (its repeated-context masking): a repeated
context gets a plain draw from the model's distribution. Without it, a context that repeats gets the
same keyed pull each time, which makes answers loop (``expmin`` is deterministic given the context) and
biases the text towards its own earlier choices, so a distribution-preserving scheme would no longer
preserve the distribution of whole answers. Their detection scores the first occurrence of each context
only: exactly the tokens generation marked. Under the null these pairs have distinct contexts, so their
values are independent and the p-value stays exact.

Three schemes:

* ``kgw`` (Kirchenbauer et al. 2023, "A Watermark for Large Language Models"): a keyed green list of
  a fraction ``gamma`` of the vocabulary gets ``delta`` added to its logits. Score: the number of green
  tokens, Binomial(n, gamma) under the null. It changes the output distribution (by ``delta``) but
  keeps sampling random, so ``n`` > 1, seeds and temperature behave as without it.
* ``expmin`` (Aaronson 2022; Kuditipudi et al. 2023): with keyed uniforms r, pick argmax r_i^(1/p_i)
  of the sampling distribution p. Over keys, token i comes out with probability exactly p_i (the
  exponential-minimum trick), so one token's distribution is unchanged; but given the key and context
  the choice is deterministic: the same prompt gets the same answer, whatever the seed, up to the first
  context that repeats in it (a plain draw there).
  Score: sum of -log(1 - r) over chosen tokens, Gamma(n, 1) under the null.
* ``tournament`` (SynthID-Text, Dathathri et al. 2024): ``layers`` keyed fair bits g_l per token;
  2^layers candidates drawn from p play a knock-out tournament on g_1, g_2, ... . Over keys the
  winner is distributed exactly as p, and unlike ``expmin`` it stays random (it is sampled). The
  tournament never has to be played: one layer turns p into p * (1 + g - E_p[g]), exactly the
  winner's distribution. Score: the number of g_l = 1 bits, Binomial(n * layers, 1/2) under the null.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
from dataclasses import dataclass, fields

import numpy as np
from scipy import stats

from distillshield.errors import ConfigError
from distillshield.records import default_of
from distillshield.watermark.sampling import nucleus as _nucleus

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0 ** -53


def _splitmix(values: np.ndarray) -> np.ndarray:
    """splitmix64's output function over a uint64 array (multiplication wraps, as intended)."""
    z = values
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@functools.lru_cache(maxsize=4)
def _vocab_steps(vocab_size: int) -> np.ndarray:
    """token * golden ratio for every token id (what ``token_hashes`` adds to the seed), made once: read-only."""
    steps = np.arange(vocab_size, dtype=np.uint64) * _GOLDEN
    steps.flags.writeable = False
    return steps


def _uniform(hashes: np.ndarray) -> np.ndarray:
    """The top 53 bits as a float in (0, 1), never 0 or 1."""
    return ((hashes >> np.uint64(11)).astype(np.float64) + 0.5) * _TO_UNIT


@dataclass(frozen=True, slots=True)
class TokenScore:
    statistic: float        # the scheme's raw sum (green count, sum of -log(1-r), number of g = 1 bits)
    tokens_scored: int      # distinct (context, token) pairs scored
    p_value: float          # exact: P(statistic at least this large | text independent of the key)
    score: float            # the statistic in null standard deviations above the null mean


class Scheme:
    """A keyed watermark: ``bias_logits`` for generation, ``score_tokens`` for detection."""

    name = "scheme"
    context_width: int
    marks_repeated_context = True  # False: a context already seen in the answer gets an unmarked token
    picks_tokens = False           # True: the scheme chooses the next token itself (``pick_token``)

    def __post_init__(self) -> None:
        if not isinstance(self.context_width, int) or not 0 <= self.context_width <= 8:
            raise ConfigError(f"watermark context must be an integer from 0 to 8, got {self.context_width!r}")

    @property
    def spec(self) -> str:
        """``name:param=value,...``: what ``parse_scheme`` reads back, and what detection must be told."""
        return self.name + ":" + ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))

    # the keyed values ---------------------------------------------------------------------------------
    def seed(self, key: bytes, context: tuple[int, ...]) -> int:
        data = struct.pack(f"<{len(context)}q", *context)
        digest = hashlib.blake2b(data, key=key, digest_size=8, person=self.name.encode()[:16])
        return int.from_bytes(digest.digest(), "little")

    def vocab_hashes(self, key: bytes, context: tuple[int, ...], vocab_size: int) -> np.ndarray:
        return _splitmix(np.uint64(self.seed(key, context)) + _vocab_steps(vocab_size))

    def token_hashes(self, key: bytes, context: tuple[int, ...], tokens: np.ndarray) -> np.ndarray:
        return _splitmix(np.uint64(self.seed(key, context)) + tokens.astype(np.uint64) * _GOLDEN)

    def pair_hashes(self, key: bytes, pairs: list[tuple[tuple[int, ...], int]]) -> np.ndarray:
        seeds = np.array([self.seed(key, context) for context, _ in pairs], dtype=np.uint64)
        tokens = np.array([token for _, token in pairs], dtype=np.int64).astype(np.uint64)
        return _splitmix(seeds + tokens * _GOLDEN)

    def scored_pairs(self, token_ids: list[int], prompt_len: int = 0) -> list[tuple[tuple[int, ...], int]]:
        return self.scored_positions(token_ids, prompt_len)[0]

    def scored_positions(self, token_ids: list[int],
                         prompt_len: int = 0) -> tuple[list[tuple[tuple[int, ...], int]], list[int]]:
        """The (context, token) pairs after the prompt that are scored, and where each one is.

        Each distinct pair once; for a scheme that does not mark repeated contexts, only the first
        occurrence of each context (the others were not marked). A token is scored only when its whole
        context is known: the first ``context_width`` tokens of a text given without its prompt are skipped.
        """
        width = self.context_width
        ids = [int(token) for token in token_ids]
        seen: dict[tuple, tuple[tuple[tuple[int, ...], int], int]] = {}
        for position in range(max(prompt_len, width), len(ids)):
            pair = (tuple(ids[position - width:position]), ids[position])
            seen.setdefault(pair if self.marks_repeated_context else pair[0], (pair, position))
        return [pair for pair, _ in seen.values()], [position for _, position in seen.values()]

    def score_tokens(self, token_ids: list[int], key: bytes, prompt_len: int = 0) -> TokenScore:
        pairs = self.scored_pairs(token_ids, prompt_len)
        if not pairs:
            return TokenScore(0.0, 0, 1.0, 0.0)
        statistic = float(self.token_values(self.pair_hashes(key, pairs)).sum())
        return self.score(statistic, len(pairs))

    # what a scheme defines ----------------------------------------------------------------------------
    def token_values(self, hashes: np.ndarray) -> np.ndarray:
        """Each scored token's contribution to the statistic."""
        raise NotImplementedError

    def score(self, statistic: float, tokens_scored: int) -> TokenScore:
        raise NotImplementedError

    def randomized_p_value(self, statistic: float, tokens_scored: int, u: float) -> float:
        """A p-value exactly uniform under the null (``u`` uniform): for calibration checks.

        ``score().p_value`` of a discrete statistic is conservative, P(p <= a) <= a, with steps;
        this spreads each step evenly so that a Kolmogorov-Smirnov test can check the null exactly.
        """
        return self.score(statistic, tokens_scored).p_value

    def bias_logits(self, input_ids: list[int], logits, key: bytes, *, temperature: float = 1.0,
                    top_p: float = 1.0, rng: np.random.Generator | None = None, mark: bool = True):
        """The next token's logits (a 1-D torch tensor) with the mark of ``key`` applied.

        ``input_ids`` is everything before the next token. ``temperature`` and ``top_p`` are the
        sampling the caller will do next. A scheme that picks the token itself (``picks_tokens``)
        returns logits with all mass on its pick, which the caller's sampling keeps.
        """
        token = self.pick_token(input_ids, logits, key, temperature=temperature, top_p=top_p, rng=rng, mark=mark)
        return logits if token is None else _one_hot_logits(logits, token)

    def pick_token(self, input_ids: list[int], logits, key: bytes, *, temperature: float = 1.0,
                   top_p: float = 1.0, rng: np.random.Generator | None = None, mark: bool = True) -> int | None:
        """The next token, for the distortion-free schemes, which draw it from the temperature/top_p
        distribution themselves; None where the caller samples as usual (a scheme that only biases logits,
        greedy decoding, a context not yet complete). ``mark`` False (a repeated context, for schemes that
        do not mark those): an ordinary draw from that distribution, with ``rng``.
        """
        return None

    def _context(self, input_ids) -> tuple[int, ...] | None:
        if len(input_ids) < self.context_width:
            return None
        if self.context_width == 0:
            return ()
        tail = input_ids[-self.context_width:]
        return tuple(int(t) for t in (tail.tolist() if hasattr(tail, "tolist") else tail))


def _binomial(statistic: float, n: int, p: float) -> TokenScore:
    k = int(round(statistic))
    p_value = float(stats.binom.sf(k - 1, n, p))
    z = (k - n * p) / math.sqrt(n * p * (1 - p))
    return TokenScore(float(k), n, min(1.0, p_value), z)


def _binomial_randomized(statistic: float, n: int, p: float, u: float) -> float:
    k = int(round(statistic))
    return float(stats.binom.sf(k, n, p) + u * stats.binom.pmf(k, n, p))


def _sampling_support(logits, temperature: float, top_p: float) -> tuple[np.ndarray, np.ndarray]:
    """The tokens the built-in backend's sampler (``backends.builtin._sample``) can pick, in id order, and their
    probabilities (float64, summing to 1): the nucleus for top_p < 1, else every token of non-zero probability."""
    import torch

    return _nucleus(torch.softmax(logits.detach().cpu().double() / temperature, dim=-1).numpy(), top_p)


def _draw(probs: np.ndarray, rng: np.random.Generator | None) -> int:
    cumulative = np.cumsum(probs)
    draw = (rng or np.random.default_rng()).random() * cumulative[-1]
    return int(min(np.searchsorted(cumulative, draw, side="right"), len(probs) - 1))


def _one_hot_logits(logits, token: int):
    import torch

    out = torch.full_like(logits, float("-inf"))
    out[token] = 0.0
    return out


@dataclass(frozen=True, slots=True)
class KGW(Scheme):
    """Green list: gamma of the vocabulary, delta added to their logits.

    gamma = 0.25: at a fixed delta a smaller green list gives a larger z per green token (the paper's
    analysis, its Fig. 2), and 0.25 keeps a quarter of the vocabulary free of any pull, which hurts
    low-entropy text (code, numbers) least. delta = 2.0: the middle of the paper's range; visible in
    ~25 tokens of ordinary text, with a small perplexity cost. context = 1: a green list keyed on one
    previous token survives edits and paraphrase best and is the easiest for a student model to learn,
    which is what makes distillation detectable ("radioactive"); wider contexts are harder to
    reverse-engineer from many answers but are destroyed by more edits.
    """

    gamma: float = 0.25
    delta: float = 2.0
    context_width: int = 1
    repeats: int = 1        # 0: a context already seen in the answer gets an unmarked token (less repetition)

    name = "kgw"

    @property
    def marks_repeated_context(self) -> bool:
        return bool(self.repeats)

    def __post_init__(self) -> None:
        Scheme.__post_init__(self)
        if not 0 < self.gamma < 1:
            raise ConfigError(f"watermark gamma must be between 0 and 1, got {self.gamma!r}")
        if self.delta < 0:
            raise ConfigError(f"watermark delta must be >= 0, got {self.delta!r}")
        if self.repeats not in (0, 1):
            raise ConfigError(f"watermark repeats must be 0 or 1, got {self.repeats!r}")

    def token_values(self, hashes: np.ndarray) -> np.ndarray:
        return (_uniform(hashes) < self.gamma).astype(np.float64)

    def score(self, statistic: float, tokens_scored: int) -> TokenScore:
        return _binomial(statistic, tokens_scored, self.gamma)

    def randomized_p_value(self, statistic: float, tokens_scored: int, u: float) -> float:
        return _binomial_randomized(statistic, tokens_scored, self.gamma, u)

    def bias_logits(self, input_ids, logits, key, *, temperature=1.0, top_p=1.0, rng=None, mark=True):
        import torch

        context = self._context(input_ids)
        if context is None or not mark:
            return logits
        green = torch.from_numpy(_uniform(self.vocab_hashes(key, context, logits.shape[-1])) < self.gamma)
        return logits.add(green.to(device=logits.device, dtype=logits.dtype), alpha=self.delta)


@dataclass(frozen=True, slots=True)
class ExpMin(Scheme):
    """Exponential minimum: the token maximising r^(1/p), deterministic given key and context.

    context = 2: a context met earlier in the answer is left unmarked, and one-token contexts (" the",
    ",") recur so often that many tokens would go unmarked; two-token contexts recur far less and still
    survive edits.
    """

    context_width: int = 2

    name = "expmin"
    marks_repeated_context = False
    picks_tokens = True

    def token_values(self, hashes: np.ndarray) -> np.ndarray:
        return -np.log1p(-_uniform(hashes))

    def score(self, statistic: float, tokens_scored: int) -> TokenScore:
        p_value = float(stats.gamma.sf(statistic, tokens_scored))
        return TokenScore(statistic, tokens_scored, p_value, (statistic - tokens_scored) / math.sqrt(tokens_scored))

    def pick_token(self, input_ids, logits, key, *, temperature=1.0, top_p=1.0, rng=None, mark=True):
        context = self._context(input_ids)
        if context is None or temperature <= 0:
            return None  # greedy decoding is one point mass: nothing to mark without changing it
        support, probs = _sampling_support(logits, temperature, top_p)
        if not mark:
            return int(support[_draw(probs, rng)])
        r = _uniform(self.token_hashes(key, context, support))
        return int(support[np.argmax(np.log(r) / probs)])  # log(r^(1/p)): the same argmax


@dataclass(frozen=True, slots=True)
class Tournament(Scheme):
    """Tournament sampling with ``layers`` keyed fair bits per token; random, distortion-free over keys.

    layers = 16: each layer adds n fair coin flips to the null and some signal; on simulated
    distributions from high to low entropy the unweighted count's power grows up to about 16 layers
    and then levels off (SynthID uses 30 with a weighted score, which has no exact null).
    """

    layers: int = 16
    context_width: int = 1

    name = "tournament"
    marks_repeated_context = False
    picks_tokens = True

    def __post_init__(self) -> None:
        Scheme.__post_init__(self)
        if not isinstance(self.layers, int) or not 1 <= self.layers <= 64:
            raise ConfigError(f"watermark layers must be an integer from 1 to 64, got {self.layers!r}")

    def _bits(self, hashes: np.ndarray) -> np.ndarray:
        """g_l for l < layers: the low bits of each hash, one column per layer."""
        shifts = np.arange(self.layers, dtype=np.uint64)
        return ((hashes[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)

    def token_values(self, hashes: np.ndarray) -> np.ndarray:
        return self._bits(hashes).sum(axis=-1, dtype=np.float64)

    def score(self, statistic: float, tokens_scored: int) -> TokenScore:
        result = _binomial(statistic, tokens_scored * self.layers, 0.5)
        return TokenScore(result.statistic, tokens_scored, result.p_value, result.score)

    def randomized_p_value(self, statistic: float, tokens_scored: int, u: float) -> float:
        return _binomial_randomized(statistic, tokens_scored * self.layers, 0.5, u)

    def pick_token(self, input_ids, logits, key, *, temperature=1.0, top_p=1.0, rng=None, mark=True):
        context = self._context(input_ids)
        if context is None or temperature <= 0:
            return None
        support, probs = _sampling_support(logits, temperature, top_p)
        if not mark:
            return int(support[_draw(probs, rng)])
        # tokens below 1e-15 are left out: all of them together hold < 1e-10 of the mass (a 49k vocabulary),
        # and the rest of the vocabulary is usually a small part of it, so this is ~10x faster
        likely = probs > 1e-15
        support, probs = support[likely], probs[likely] / probs[likely].sum()
        bits = self._bits(self.token_hashes(key, context, support)).T.astype(np.float64)  # one row per layer
        for g in bits:
            probs *= (1.0 - probs @ g) + g  # the winner of one knock-out between two draws from probs
        return int(support[_draw(probs, rng)])


SCHEMES: dict[str, type[Scheme]] = {"kgw": KGW, "expmin": ExpMin, "tournament": Tournament}
# the `watermark` setting's default, chosen there (records/settings.py says why)
DEFAULT_SCHEME = default_of("watermark")
_ALIASES = {"context": "context_width"}


def parse_scheme(spec: str) -> Scheme:
    """``kgw``, ``kgw:delta=3``, ``tournament:layers=6,context=2``... → a scheme with its parameters."""
    name, _, params = spec.strip().partition(":")
    if name not in SCHEMES:
        raise ConfigError(f"watermark scheme must be one of {', '.join(SCHEMES)}, got {name!r}")
    cls = SCHEMES[name]
    types = {f.name: f.type for f in fields(cls)}
    values: dict = {}
    for item in filter(None, (part.strip() for part in params.split(","))):
        param, _, text = item.partition("=")
        param = _ALIASES.get(param.strip(), param.strip())
        if param not in types:
            raise ConfigError(f"watermark scheme {name} takes {', '.join(types)}, got {param!r}")
        try:
            values[param] = int(text) if types[param] in (int, "int") else float(text)
        except ValueError:
            raise ConfigError(f"watermark parameter {param} must be a number, got {text!r}") from None
    return cls(**values)
