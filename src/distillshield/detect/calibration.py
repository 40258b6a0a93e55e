"""Thresholds from the deployment itself: the accounts being scored, judged against their peers.

A threshold for a false-positive rate ``fpr`` is the score that a share ``fpr`` of ordinary accounts
would reach. The shipped model's reference is a simulator's idea of "ordinary"; an operator's traffic
is not. So the threshold is drawn from the population being scored (the accounts ``scan`` reads, the
store's history for the live gateway) or from the operator's ``--reference``; optionally
(``peer_groups``) within it from the account's peer group: accounts alike in what anyone can observe (API
integration or chat, templated or free-form, volume, client), so that an application is judged against
applications. Peer groups are off by default: campaigns concentrate in the API groups, where a group's own
quantile then sits above them (BENCHMARKS.md).

The population is not known to be clean: a few percent of it may be campaigns, and those sit in the
upper tail, exactly where a quantile at 1e-3 is read. So the threshold is not read off the tail. The
scores (each account's best over its checkpoints, its cluster's included) above the median are fitted
by an exponential tail with the top fifth of the population *censored*: counted as "above this point",
their values unused. Campaigns, while fewer than a fifth of the population, then add to the tail's mass
and never to its length: injecting 3% of campaigns raises the threshold by about 0.6 of the tail's scale
(the rate measured on ordinary accounts falls from the rate asked to about half of it), stricter for
ordinary accounts, never looser. The simulator's ordinary accounts have a lighter tail than
an exponential (a fitted generalised Pareto shape near -0.1), so the rate measured is below the rate
asked, and at 1e-3 the threshold is strict enough to cost detections (BENCHMARKS.md). A fitted shape,
and a censored share that shrinks while what it uncovers fits, were tried and dropped: both moved the
threshold by several log-odds units when 3% of campaigns were injected. Where the population has at least
1/fpr accounts, its conformal quantile is a second bound that campaigns can only raise (the ordinary
accounts' rate at it is at most fpr / (1 - the campaigns' share)); the lower of the two is used, which
matters where many kinds of ordinary use make the tail fit over-strict.

The operator's word sharpens this. Confirmed campaigns (a pinned level, or a label) are left out of the
population, so the quantile falls back towards the ordinary accounts' own. Accounts the operator allowed
count as ordinary data: never censored, so a heavy ordinary tail they reveal lengthens the fit. They do not
lift the threshold above themselves: an allowed account is never flagged by its own policy, and lifting
everyone's threshold above the highest allowed one cost up to three quarters of the detections for one or
two allowed accounts (BENCHMARKS.md, "Stop 27: the analyst in the loop").

A population supports a rate only when it has at least ``min_accounts`` accounts and the fitted tail is
read at most ``max_extrapolation``-fold beyond the smallest rate the population can show (1/n):
n ≥ max(min_accounts, 1 / (fpr · max_extrapolation)). A peer group too small for the rate is merged
with its neighbours (its least telling trait dropped first), and a whole population too small is
refused with a ``ConfigError`` saying how many accounts the rate needs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from distillshield.errors import ConfigError

if TYPE_CHECKING:
    from distillshield.detect.state import AccountState

CENSORED_SHARE = 0.2          # the top fifth's values are not used: campaigns hide there
_MIN_SPREAD = 1e-3          # a group of identical scores still gets a threshold above them
DEFAULT_MIN_ACCOUNTS = 50
DEFAULT_MAX_EXTRAPOLATION = 10.0
# Traits in order of how much they say about what is ordinary; the last is dropped first when merging.
TRAITS = ("mode", "style", "volume", "client")
_BROWSER_MARKS = ("mozilla", "chrome", "safari", "firefox", "edg/")
_CHAT_FOLLOW_UP_SHARE = 0.2
_TEMPLATED_SHARE = 0.3

BENIGN = "benign"
CAMPAIGN = "campaign"


def peer_traits(state: AccountState) -> dict[str, str]:
    """What anyone can observe about an account's use, coarse enough that groups stay large."""
    count = max(state.count, 1)
    top_template = max(max(state.prefixes.values(), default=0), max(state.suffixes.values(), default=0))
    agent = (state.user_agents.most_common(1)[0][0] if state.user_agents else "") or ""
    agent = agent.lower()
    return {
        "mode": "chat" if state.follow_up / count >= _CHAT_FOLLOW_UP_SHARE else "api",
        "style": "templated" if top_template / count >= _TEMPLATED_SHARE else "free-form",
        "volume": "low" if state.count < 100 else "mid" if state.count < 2000 else "high",
        "client": "none" if not agent else "browser" if any(m in agent for m in _BROWSER_MARKS) else "program",
    }


def group_key(traits: dict[str, str], depth: int) -> str:
    """The peer group's name from the first ``depth`` traits (depth 0: everyone)."""
    return "/".join(f"{name}={traits[name]}" for name in TRAITS[:depth]) or "all"


def accounts_needed(fpr: float, min_accounts: int = DEFAULT_MIN_ACCOUNTS,
                    max_extrapolation: float = DEFAULT_MAX_EXTRAPOLATION) -> int:
    return max(min_accounts, math.ceil(1.0 / (fpr * max_extrapolation) - 1e-9))


def robust_threshold(scores: np.ndarray, fpr: float, *, known_benign: np.ndarray | None = None,
                     clean: bool = False) -> tuple[float, str]:
    """The score a share ``fpr`` of the population's ordinary accounts would reach, robust to campaigns.

    An exponential tail over the median, fitted with the top ``CENSORED_SHARE`` of the population
    censored (``clean``: a reference known to be ordinary, nothing censored). Accounts the operator allowed
    (``known_benign``) are never censored.
    """
    scores = np.asarray(scores, dtype=float)
    if clean:
        known = np.ones(len(scores), bool)
    else:
        known = np.zeros(len(scores), bool) if known_benign is None else np.asarray(known_benign, bool)
    base = float(np.median(scores))
    share_above = max(float((scores > base).mean()), 1.0 / len(scores))
    mean_excess = _censored_mean_excess(scores, known, base, 0.0 if clean else CENSORED_SHARE)
    method = ("exponential tail over the median of a clean reference" if clean
              else f"exponential tail over the median, top {CENSORED_SHARE:.0%} censored")
    if mean_excess is None:
        # Most accounts tie at one score (young accounts do), so the censoring point is the median itself and
        # every score above it would be censored: nothing left to fit (the old estimate, a spread of ~0, put
        # the threshold just above the tie and flagged every account above it). Fitted uncensored instead:
        # campaigns then lengthen the tail, which only raises the threshold.
        mean_excess = _censored_mean_excess(scores, known, base, 0.0)
        method = "exponential tail over the median, nothing censored (most accounts share one score)"
    value = base + mean_excess * math.log(max(share_above / fpr, 1.0))
    rank = math.ceil((1 - fpr) * (len(scores) + 1))
    if rank <= len(scores):
        # The conformal quantile of the whole population: campaigns among it only raise it (the ordinary
        # accounts' rate at it is at most fpr / (1 - their share)), so it is a second strict bound; where the
        # tail fit is stricter still (a population of many kinds), the lower of the two is used.
        quantile = float(np.nextafter(np.sort(scores)[rank - 1], np.inf))   # flag only scores above it
        if quantile < value:
            value, method = quantile, "conformal quantile of the population (campaigns among it only raise it)"
    return value, method


def _censored_mean_excess(scores: np.ndarray, known: np.ndarray, base: float, share: float) -> float | None:
    """The exponential's mean excess over ``base`` (maximum likelihood), the unknown accounts above the
    top ``share`` counted only as being above that point; None when every account above ``base`` is censored
    while some lie above it (nothing to fit)."""
    point = float(np.quantile(scores, 1 - share))
    over = scores > base
    is_censored = (~known[over]) & (scores[over] > point)
    excess = np.where(is_censored, point, scores[over]) - base
    exact = int((~is_censored).sum())
    if exact == 0 and over.any():
        return None
    return max(float(excess.sum()) / max(exact, 1), _MIN_SPREAD)


@dataclass
class GroupThreshold:
    group: str
    value: float
    n_accounts: int
    method: str


@dataclass
class Calibration:
    """Thresholds per peer group at one false-positive rate, and where they came from."""

    fpr: float
    source: str
    groups: dict[str, GroupThreshold] = field(default_factory=dict)

    def threshold_for(self, traits: dict[str, str]) -> GroupThreshold:
        """The threshold of the most specific peer group with enough accounts (``peer_traits`` of an account)."""
        for depth in range(len(TRAITS), -1, -1):
            found = self.groups.get(group_key(traits, depth))
            if found is not None:
                return found
        return self.groups["all"]

    def describe(self, traits: dict[str, str]) -> dict:
        found = self.threshold_for(traits)
        return {"source": self.source, "group": found.group, "n_accounts": found.n_accounts,
                "method": found.method, "fpr": self.fpr, "threshold": round(found.value, 4)}

    def to_dict(self) -> dict:
        return {"fpr": self.fpr, "source": self.source,
                "groups": {name: {"threshold": round(g.value, 4), "n_accounts": g.n_accounts, "method": g.method}
                           for name, g in sorted(self.groups.items())}}


def calibrate(population: Iterable[tuple[str, dict[str, str], float]], fpr: float, *, source: str,
              feedback: dict[str, str] | None = None, peer_groups: bool = False, clean: bool = False, min_accounts: int = DEFAULT_MIN_ACCOUNTS,
              max_extrapolation: float = DEFAULT_MAX_EXTRAPOLATION) -> Calibration:
    """Thresholds from (account, peer traits, best score) rows; ``feedback`` maps accounts to ``benign`` or
    ``campaign``; ``clean``: every account is known to be ordinary (an operator's reference), none censored."""
    if not 0 < fpr < 1:
        raise ConfigError(f"fpr must be between 0 and 1, got {fpr}")
    feedback = feedback or {}
    rows = [(account, traits, score) for account, traits, score in population
            if feedback.get(account) != CAMPAIGN and math.isfinite(score)]
    needed = accounts_needed(fpr, min_accounts, max_extrapolation)
    if len(rows) < needed:
        instead = (f"ask for a rate of at least {1 / (len(rows) * max_extrapolation):.2g}"
                   if len(rows) >= min_accounts else "use --calibration model (the simulator's reference)")
        raise ConfigError(
            f"cannot claim a false-positive rate of {fpr:g} from {source}: it has {len(rows)} accounts to "
            f"calibrate on and that rate needs at least {needed} (n >= max({min_accounts}, "
            f"1 / (fpr x {max_extrapolation:g}))). Scan more accounts, pass --reference with more ordinary "
            f"accounts, or {instead}.")
    traits = [account_traits for _, account_traits, _ in rows]
    scores = np.array([score for _, _, score in rows])
    benign = np.array([feedback.get(account) == BENIGN for account, _, _ in rows])
    calibration = Calibration(fpr=fpr, source=source)
    for depth in range(len(TRAITS) + 1 if peer_groups else 1):
        members: dict[str, list[int]] = defaultdict(list)
        for index, account_traits in enumerate(traits):
            members[group_key(account_traits, depth)].append(index)
        for name, indices in members.items():
            if len(indices) < needed:
                continue
            value, method = robust_threshold(scores[indices], fpr, known_benign=benign[indices], clean=clean)
            calibration.groups[name] = GroupThreshold(name, value, len(indices), method)
    return calibration
