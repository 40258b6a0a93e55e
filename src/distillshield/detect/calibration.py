"""Thresholds from the deployment itself: the accounts being scored, judged against their peers.

A threshold for a false-positive rate ``fpr`` is the score that a share ``fpr`` of ordinary accounts
would reach. The shipped model's reference is a simulator's idea of "ordinary"; an operator's traffic
is not. So the threshold is drawn from the population being scored (the accounts ``scan`` reads, the
store's history for the live gateway) or from the operator's ``--reference``, and within it from the
account's **peer group**: accounts alike in what anyone can observe (API integration or chat, templated
or free-form, volume, client), so that an application is judged against applications.

The population is not known to be clean: a few percent of it may be campaigns, and those sit in the
upper tail, exactly where a quantile at 1e-3 is read. So the threshold is not read off the tail. The
scores (each account's best over its checkpoints, its cluster's included) above the median are fitted
by an exponential tail with the top of the population *censored*: counted as "above this point",
their values unused. The censored share starts at a quarter and shrinks (15%, 10%, 5%, 2%, 1%) while the
accounts it uncovers are as many as the tail fitted so far predicts; where there are more (a binomial
test at 0.999), the rest are outliers, campaigns, and stay censored. Campaigns then add to the tail's mass,
never to its length: injecting a few percent barely moves the threshold, and any error makes it
stricter for ordinary accounts, not looser. Confirmed campaigns (a pinned level, or a label) are left
out of the population; accounts the operator allowed are never censored, and a group's threshold stays
just above the highest of them.

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

import numpy as np
from scipy.stats import binom

from distillshield.errors import ConfigError

_BASE_QUANTILE = 0.5
_CENSOR_STEPS = (0.25, 0.15, 0.10, 0.05, 0.02, 0.01)   # shares of the top censored, tried in turn
_OUTLIER_LEVEL = 0.999      # more scores above a point than this quantile of the fitted tail's count: outliers
_MIN_SPREAD = 1e-3          # a group of identical scores still gets a threshold above them
_ABOVE_ALLOWED = 1e-6
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


def robust_threshold(scores: np.ndarray, fpr: float, *, known_benign: np.ndarray | None = None) -> tuple[float, str]:
    """The score a share ``fpr`` of the population's ordinary accounts would reach, robust to campaigns.

    An exponential tail over the median, fitted with the top of the population censored; the censored
    share shrinks step by step while what it uncovers agrees with the tail fitted so far, and stops where
    it does not (outliers: campaigns). Accounts the operator allowed are never censored, and the
    threshold stays just above the highest of them.
    """
    scores = np.asarray(scores, dtype=float)
    known = np.zeros(len(scores), bool) if known_benign is None else np.asarray(known_benign, bool)
    base = float(np.median(scores))
    share_above = max(float((scores > base).mean()), 1.0 / len(scores))
    censored = _CENSOR_STEPS[0]
    mean_excess = _censored_mean_excess(scores, known, base, censored)
    for share in _CENSOR_STEPS[1:]:
        point = float(np.quantile(scores, 1 - share))
        predicted = share_above * math.exp(-max(point - base, 0.0) / mean_excess)
        if (scores > point).sum() > binom.ppf(_OUTLIER_LEVEL, len(scores), min(predicted, 1.0)):
            break   # more high scores than the tail so far allows: the rest are not ordinary
        censored, mean_excess = share, _censored_mean_excess(scores, known, base, share)
    value = base + mean_excess * math.log(max(share_above / fpr, 1.0))
    method = f"exponential tail over the median, top {censored:.0%} censored"
    if np.any(known):
        highest_allowed = float(np.max(scores[known])) + _ABOVE_ALLOWED
        if highest_allowed > value:
            value, method = highest_allowed, "above the highest account the operator allowed"
    return value, method


def _censored_mean_excess(scores: np.ndarray, known: np.ndarray, base: float, share: float) -> float:
    """The exponential's mean excess over ``base`` (maximum likelihood), the unknown accounts above the
    top ``share`` counted only as being above that point."""
    point = float(np.quantile(scores, 1 - share))
    over = scores > base
    is_censored = (~known[over]) & (scores[over] > point)
    excess = np.where(is_censored, point, scores[over]) - base
    exact = int((~is_censored).sum())
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
              feedback: dict[str, str] | None = None, peer_groups: bool = False, min_accounts: int = DEFAULT_MIN_ACCOUNTS,
              max_extrapolation: float = DEFAULT_MAX_EXTRAPOLATION) -> Calibration:
    """Thresholds from (account, peer traits, best score) rows; ``feedback`` maps accounts to ``benign`` or
    ``campaign``."""
    if not 0 < fpr < 1:
        raise ConfigError(f"fpr must be between 0 and 1, got {fpr}")
    feedback = feedback or {}
    rows = [(account, traits, score) for account, traits, score in population
            if feedback.get(account) != CAMPAIGN and math.isfinite(score)]
    needed = accounts_needed(fpr, min_accounts, max_extrapolation)
    if len(rows) < needed:
        raise ConfigError(
            f"cannot claim a false-positive rate of {fpr:g} from {source}: it has {len(rows)} accounts to "
            f"calibrate on and that rate needs at least {needed} (n >= max({min_accounts}, "
            f"1 / (fpr x {max_extrapolation:g}))). Scan more accounts, pass --reference with more ordinary "
            f"accounts, or ask for a rate of at least {1 / (max(len(rows), 1) * max_extrapolation):.2g}.")
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
            value, method = robust_threshold(scores[indices], fpr, known_benign=benign[indices])
            calibration.groups[name] = GroupThreshold(name, value, len(indices), method)
    return calibration
