"""Deciding an account's level: the detector's risk table or the operator's override -> a ``Decision``.

An account's level is, mildest first, ``none < flag < throttle < harden < block``, and each level includes
the milder ones' actions. The level comes from the account's ``policy`` (an operator's override: ``allow`` =
never any action, or a fixed level) or, when that is ``auto``, from the live detector's risk table. Every
decision is made once, at start, per (level, source); the hot path is one dict look-up.
"""

from __future__ import annotations

import dataclasses

from distillshield.records import POLICY_LEVELS

ACTION_LEVELS = POLICY_LEVELS[1:]                  # flag, throttle, harden, block
RANK = {level: rank for rank, level in enumerate(POLICY_LEVELS)}


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    level: str
    source: str          # "detector" or "operator"
    throttle: bool
    harden: bool
    block: bool
    record: dict         # the exchange's ``policy`` field when nothing request-specific is added


def decision(level: str, source: str, throttle_factor: float) -> Decision | None:
    if level == "none":
        return None
    rank = RANK[level]
    actions = ["flag"]
    if rank >= RANK["throttle"]:
        actions.append(f"throttle:{throttle_factor:g}")
    if rank >= RANK["block"]:
        actions = ["block"]
    return Decision(level=level, source=source, throttle=RANK["throttle"] <= rank < RANK["block"],
                    harden=RANK["harden"] <= rank < RANK["block"], block=rank >= RANK["block"],
                    record={"level": level, "source": source, "actions": actions})


class Levels:
    """Every possible decision, made once: by the detector's level (``auto``) or pinned by an operator."""

    def __init__(self, throttle_factor: float):
        self.auto = {level: decision(level, "detector", throttle_factor) for level in POLICY_LEVELS}
        self.fixed: dict[str, Decision | None] = {level: decision(level, "operator", throttle_factor)
                                                  for level in POLICY_LEVELS}
        self.fixed["allow"] = None

    def decide(self, override: str, risk) -> Decision | None:
        """``override``: the account's policy; ``risk``: its entry in the detector's risk table, or None."""
        if override == "auto":
            return None if risk is None else self.auto[risk.level]
        return self.fixed.get(override)
