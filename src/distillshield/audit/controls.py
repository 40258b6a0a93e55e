"""What makes a verdict worth reading: the audit checks its own evidence before it speaks.

* **The scheme** is the one the gateway logged on the served exchange records (``watermark: {scheme,
  key_id}``), not today's settings: ``choose_scheme``.
* **The positive control** scores the served answers themselves, each account's answers with that account's
  key, under the scheme tested. Our built-in model marked them as it served them, so they must carry the
  mark; if they do not (the watermark was off, the wrong scheme, the wrong key file, a key rotated away),
  no test of the suspect could have found anything, and the audit says so instead of "no evidence".
* **Power**: the smallest share of a suspect's choices that must carry the mark, as strongly as our served
  answers carry it, for each radioactivity test to find it with probability 0.9 at the level it is held to.
* **The outcome**: evidence, no evidence with adequate power, or inconclusive, with its reasons.

The power model is the tests' own statistic. Each scored pair's value (``Scheme.token_values``) is, for a
model never trained on our answers, a draw from the scheme's null (kgw: green with probability gamma). A
student that reproduces our mark in a share ``x`` of its choices draws, for those, from the distribution of
the values of our served answers (kgw: green with the served answers' green fraction), and from the null
for the rest. The test rejects when the sum over its ``n`` pairs reaches the exact null's critical value at
its level; the chance of that under the mixture is the power: exact (binomial) for ``kgw``, a normal
approximation of the sum of ``n`` mixture values for the other schemes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from distillshield.audit.evidence import ServedData
from distillshield.errors import ConfigError
from distillshield.watermark import DEFAULT_SCHEME, KGW, SCHEMES, ExpMin, Scheme, Tournament, parse_scheme, tokenize

POWER_TARGET = 0.9
OUTCOMES = ("evidence", "no_evidence", "inconclusive")


# -- which scheme: what the gateway logged ---------------------------------------------------------------
@dataclass(frozen=True)
class LoggedMark:
    """What the served exchange records say about the mark on their answers."""
    answers: int                    # answered records read
    logged: int                     # of which carry a ``watermark`` field
    schemes: dict[str, int]         # scheme spec -> answers logged with it
    key_ids: dict[str, int]         # master key id -> answers logged with it

    @classmethod
    def of(cls, served: ServedData) -> LoggedMark:
        marks = [item.watermark for item in served.items if item.watermark]
        return cls(len(served.items), len(marks), dict(Counter(str(m.get("scheme")) for m in marks)),
                   dict(Counter(str(m.get("key_id")) for m in marks if m.get("key_id"))))

    @property
    def scheme(self) -> str | None:
        """The scheme most answers were logged with, or None when none was logged."""
        return max(self.schemes, key=self.schemes.get) if self.schemes else None

    def to_json(self) -> dict:
        return asdict(self)


def choose_scheme(served: ServedData, given: str | None, setting: str) -> tuple[Scheme, str]:
    """The scheme to test and where it came from: ``given`` (``--scheme``) when there is one, else the scheme the
    gateway logged on the records, else ``setting`` (today's ``watermark`` setting; the default scheme if off)."""
    if given:
        return parse_scheme(given), "given (--scheme)"
    logged = LoggedMark.of(served).scheme
    if logged:
        return parse_scheme(logged), "logged on the exchange records"
    spec = DEFAULT_SCHEME if setting == "off" else setting
    today = "off, so the default scheme" if setting == "off" else setting
    return parse_scheme(spec), f"the records log none: today's watermark setting, {today}"


# -- the positive control -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PositiveControl:
    """The served answers scored with their own accounts' keys: do they carry the mark the audit looks for?"""
    passed: bool
    scheme: str
    scheme_source: str
    p_value: float                  # exact, pooled over the accounts' keys (the key version that marks best)
    level: float
    answers: int
    accounts: int
    pairs: int                      # distinct (context, token) pairs per account, summed
    key_version: int | None         # index of the master key version that marks them (0: newest); None: none does
    mark_strength: float            # the served pairs' mean value (kgw: their green fraction)
    null_mean: float                # that mean for unmarked text (kgw: gamma)
    logged: LoggedMark
    cause: str = ""                 # why it failed, the likeliest first
    marked_under: list[str] = field(default_factory=list)   # other schemes the answers do carry
    values_variance: float = 0.0    # the served pairs' value variance: the power model's marked distribution

    def to_json(self) -> dict:
        data = asdict(self)
        data["logged"] = self.logged.to_json()
        del data["values_variance"]
        return data

    @property
    def sentence(self) -> str:
        if self.passed:
            return (f"Positive control passed: the {self.answers} served answers carry the mark of their accounts' keys "
                    f"under {self.scheme} (p {_p(self.p_value)} over {self.pairs} pairs; mean value "
                    f"{self.mark_strength:.3f} against {self.null_mean:.3f} unmarked).")
        return (f"Positive control failed: the {self.answers} served answers do not carry the mark of their accounts' "
                f"keys under {self.scheme} (p {_p(self.p_value)} over {self.pairs} pairs). {self.cause}")


def _p(value: float) -> str:
    """``= 0.012``, or ``< 1e-300`` for a tail too small for a float (exactly 0 after underflow)."""
    return "< 1e-300" if value < 1e-300 else f"= {value:.3g}"


def positive_control(served: ServedData, keys: dict[str, list[bytes]], scheme: Scheme, tokenizer, *,
                     level: float, scheme_source: str = "", key_ids: list[str] | None = None) -> PositiveControl:
    """Score the served answers with their accounts' keys (every master key version; the best counts) and say why
    they are unmarked when they are. ``key_ids``: the key file's versions' ids, newest first (to name a wrong
    key file when the records logged another)."""
    logged = LoggedMark.of(served)
    tested = [item for item in served.items if item.account in keys]
    # the answers logged with the scheme tested (a hardened account's may carry another); all, when none are
    items = [item for item in tested if (item.watermark or {}).get("scheme") == scheme.spec] or tested
    pairs = _pairs_by_account(items, scheme, tokenizer)
    versions = min((len(keys[account]) for account in pairs), default=0)
    best = None
    for version in range(versions):
        values = _values(pairs, keys, scheme, version)
        result = scheme.score(float(values.sum()), len(values)) if len(values) else None
        if result is not None and (best is None or result.p_value < best[1].p_value):
            best = (version, result, values)
    null_mean = null_moments(scheme)[0]
    if best is None:
        return PositiveControl(False, scheme.spec, scheme_source, 1.0, level, len(items), len(pairs), 0, None, 0.0,
                               null_mean, logged, _cause(logged, scheme, key_ids, [], bool(items)))
    version, result, values = best
    passed = result.p_value <= level
    marked_under = [] if passed else _marked_under(served, keys, scheme, tokenizer, level)
    return PositiveControl(passed, scheme.spec, scheme_source, result.p_value, level, len(items), len(pairs),
                           len(values), version if passed else None, float(values.mean()), null_mean, logged,
                           "" if passed else _cause(logged, scheme, key_ids, marked_under, True), marked_under,
                           float(values.var()))


def _pairs_by_account(items, scheme: Scheme, tokenizer) -> dict[str, list]:
    """Each account's distinct scored pairs over its answers (an answer's first tokens lack their context)."""
    found: dict[str, dict] = {}
    for item in items:
        pairs = found.setdefault(item.account, {})
        for pair in scheme.scored_pairs(tokenize(item.answer, tokenizer)):
            pairs.setdefault(pair, None)
    return {account: list(pairs) for account, pairs in found.items() if pairs}


def _values(pairs: dict[str, list], keys: dict[str, list[bytes]], scheme: Scheme, version: int) -> np.ndarray:
    parts = [scheme.token_values(scheme.pair_hashes(keys[account][version], account_pairs))
             for account, account_pairs in pairs.items()]
    return np.concatenate(parts) if parts else np.zeros(0)


def _marked_under(served: ServedData, keys, tested: Scheme, tokenizer, level: float) -> list[str]:
    """The schemes (each at its defaults, and the default scheme) under which the answers do carry the mark."""
    found = []
    for spec in dict.fromkeys([DEFAULT_SCHEME, *SCHEMES]):
        scheme = parse_scheme(spec)
        if scheme.spec == tested.spec:
            continue
        pairs = _pairs_by_account([i for i in served.items if i.account in keys], scheme, tokenizer)
        versions = min((len(keys[a]) for a in pairs), default=0)
        for version in range(versions):
            values = _values(pairs, keys, scheme, version)
            if len(values) and scheme.score(float(values.sum()), len(values)).p_value <= level:
                found.append(scheme.spec)
                break
    return found


def _cause(logged: LoggedMark, scheme: Scheme, key_ids: list[str] | None, marked_under: list[str],
           scored: bool) -> str:
    if not scored:
        return "There were no answers to score: none of the served answers belongs to an account whose key is tested."
    if logged.answers and not logged.logged:
        head = ("The exchange records log no watermark: the watermark was off when these answers were served (or a "
                "gateway older than that record, or an upstream backend, which the gateway does not mark, served them).")
    elif key_ids is not None and logged.key_ids and not set(logged.key_ids) & set(key_ids):
        head = (f"Wrong key file: the records say the answers were marked with master key "
                f"{', '.join(sorted(logged.key_ids))}, and the key file holds {', '.join(key_ids) or 'no key'}.")
    elif logged.scheme and logged.scheme != scheme.spec:
        head = f"Wrong scheme: the records say the answers were marked with {logged.scheme}, the audit tested {scheme.spec}."
    else:
        head = ("The key file does not hold the key that marked them (a different or rotated key), or the watermark "
                "was off.")
    if marked_under:
        head += f" They do carry the mark under {', '.join(marked_under)}: audit with --scheme {marked_under[0]}."
    return head + " No test of the suspect could have found the mark, so its tests are no evidence either way."


# -- power ------------------------------------------------------------------------------------------------
def null_moments(scheme: Scheme) -> tuple[float, float]:
    """Mean and variance of one pair's value for text independent of the key."""
    if isinstance(scheme, KGW):
        return scheme.gamma, scheme.gamma * (1 - scheme.gamma)
    if isinstance(scheme, Tournament):
        return scheme.layers / 2, scheme.layers / 4
    if isinstance(scheme, ExpMin):
        return 1.0, 1.0
    raise ConfigError(f"no null moments for scheme {scheme.spec}")


def critical_value(scheme: Scheme, pairs: int, level: float) -> float:
    """The smallest statistic over ``pairs`` pairs whose exact p-value is at most ``level``."""
    if isinstance(scheme, KGW):
        return float(stats.binom.isf(level, pairs, scheme.gamma) + 1)
    if isinstance(scheme, Tournament):
        return float(stats.binom.isf(level, pairs * scheme.layers, 0.5) + 1)
    return float(stats.gamma.isf(level, pairs))


def detection_probability(scheme: Scheme, pairs: int, level: float, share: float, marked_mean: float,
                          marked_variance: float) -> float:
    """P(the test over ``pairs`` pairs rejects at ``level``) when a ``share`` of them carry the served mark."""
    if pairs <= 0:
        return 0.0
    critical = critical_value(scheme, pairs, level)
    mean0, var0 = null_moments(scheme)
    if isinstance(scheme, KGW):
        green = mean0 + share * (marked_mean - mean0)
        return float(stats.binom.sf(critical - 1, pairs, min(max(green, 0.0), 1.0)))
    mean = mean0 + share * (marked_mean - mean0)
    variance = (1 - share) * var0 + share * marked_variance + share * (1 - share) * (marked_mean - mean0) ** 2
    return float(stats.norm.sf(critical, loc=pairs * mean, scale=math.sqrt(max(pairs * variance, 1e-12))))


def smallest_share(scheme: Scheme, pairs: int, level: float, marked_mean: float, marked_variance: float,
                   target: float = POWER_TARGET) -> float | None:
    """The smallest share of choices carrying the served mark that the test finds with probability ``target``
    (None: not even a suspect whose every choice carries it)."""
    power = lambda share: detection_probability(scheme, pairs, level, share, marked_mean, marked_variance)  # noqa: E731
    if marked_mean <= null_moments(scheme)[0] or power(1.0) < target:
        return None
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if power(middle) < target else (low, middle)
    return high


@dataclass(frozen=True)
class PowerEstimate:
    """How strong a mark one radioactivity test could have found."""
    test: str
    pairs: int                      # (context, token) pairs it scored
    level: float                    # the raw p-value it needed: alpha over the tests combined and the keys tested
    share: float | None             # smallest share of choices carrying the served mark found with probability 0.9
    mean_value: float | None        # the suspect's mean pair value at that share (kgw: its green fraction)
    target: float = POWER_TARGET

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def sentence(self) -> str:
        if self.share is None:
            return (f"{self.test}: with {self.pairs} pairs at level {self.level:.2g}, not even a suspect whose every "
                    f"choice carries the mark as strongly as our served answers would be found.")
        return (f"{self.test}: a suspect that reproduces the served answers' mark in at least {self.share:.1%} of its "
                f"choices (mean value {self.mean_value:.3f}) would be found with probability {self.target:g} "
                f"({self.pairs} pairs, level {self.level:.2g}).")


def power_of(name: str, pairs: int, level: float, scheme: Scheme, control: PositiveControl) -> PowerEstimate:
    share = smallest_share(scheme, pairs, level, control.mark_strength, control.values_variance)
    mean0 = null_moments(scheme)[0]
    mean = None if share is None else mean0 + share * (control.mark_strength - mean0)
    return PowerEstimate(name, pairs, level, share, mean)


# -- negative controls and the outcome -----------------------------------------------------------------------
@dataclass(frozen=True)
class NegativeControl:
    """A model certainly not trained on our answers, audited on the same data and keys."""
    name: str
    suspect: dict
    combined_p_value: float
    tests: dict[str, float]         # test name -> p-value

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    outcome: str                    # one of OUTCOMES
    headline: str
    reasons: list[str]

    def to_json(self) -> dict:
        return asdict(self)


def decide(*, alpha: float, combined: float, attributed: list[dict], control: PositiveControl,
           power: list[PowerEstimate], negatives: list[NegativeControl], adequate_share: float) -> Outcome:
    """Evidence (the level reached, the controls held), no evidence (they held and the tests could have found a
    mark in ``adequate_share`` of the suspect's choices), or inconclusive (a control failed, or power too low)."""
    reasons = []
    if not control.passed:
        reasons.append(control.sentence)
    for negative in negatives:
        if negative.combined_p_value <= alpha:
            reasons.append(f"Negative control {negative.name} (never trained on our answers) was found at the {alpha:g} "
                           f"level (combined p = {negative.combined_p_value:.3g}): the tests' null does not hold here.")
    if reasons:
        return Outcome("inconclusive", f"Inconclusive: the audit's controls failed, so the suspect's tests (combined "
                                       f"p = {combined:.3g}) are no evidence either way.", reasons)
    if combined <= alpha:
        names = ", ".join(row["account"] for row in attributed) or "no single account"
        return Outcome("evidence", f"Evidence at the {alpha:g} level (combined p = {combined:.3g}) that the suspect was "
                                   f"trained on our answers; the keys it carries are those of: {names}.",
                       [control.sentence])
    found = [p.share for p in power if p.share is not None]
    best = min(found) if found else None
    if best is None or best > adequate_share:
        what = (f"the most sensitive test needs {best:.1%} of its choices marked" if best is not None
                else "no test could find even a suspect whose every choice is marked")
        return Outcome("inconclusive", f"Inconclusive: no evidence at the {alpha:g} level (combined p = {combined:.3g}), "
                                       f"but the tests had too little power: {what} (adequate: at most "
                                       f"{adequate_share:.0%}).", [control.sentence, *(p.sentence for p in power)])
    return Outcome("no_evidence", f"No evidence at the {alpha:g} level (combined p = {combined:.3g}): the suspect's "
                                  f"choices are consistent with a model never trained on our marked answers, and a "
                                  f"suspect reproducing our mark in {best:.1%} of its choices would have been found "
                                  f"with probability {POWER_TARGET:g}. This does not show it was not.",
                   [control.sentence, *(p.sentence for p in power)])
