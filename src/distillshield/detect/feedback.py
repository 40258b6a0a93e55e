"""The operator's word on accounts, for calibration: ordinary (``benign``) or a confirmed campaign.

An analyst marks a verdict right or wrong with the account's policy override: ``allow`` says the
account is ordinary; a pinned level (``flag``, ``throttle``, ``harden``, ``block``) confirms a campaign;
``auto`` says nothing. ``scan`` reads it from the store (``--feedback-from-store``) or from a JSONL file
(``--feedback``: ``accounts list --json`` lines, or ``{"account", "label": "benign" | "campaign"}``);
the live detector reads the store's policies each time it recalibrates.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from distillshield.detect.calibration import BENIGN, CAMPAIGN
from distillshield.errors import ConfigError

CAMPAIGN_POLICIES = ("flag", "throttle", "harden", "block")


def feedback_from_accounts(accounts: Iterable) -> dict[str, str]:
    """The operator's word from the store's accounts: ``allow`` is ordinary, a pinned level a confirmed campaign."""
    return {account.id: BENIGN if account.policy == "allow" else CAMPAIGN for account in accounts
            if account.policy == "allow" or account.policy in CAMPAIGN_POLICIES}


def read_feedback(path: str | Path) -> dict[str, str]:
    """An operator's word on accounts: JSONL of ``accounts list --json`` lines (policy ``allow`` means
    ordinary, a pinned level means a confirmed campaign, ``auto`` says nothing) or of
    ``{"account": ..., "label": "benign" | "campaign"}``."""
    feedback = {}
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                account = row.get("account") or row["id"]
            except (orjson.JSONDecodeError, KeyError, AttributeError, TypeError):
                raise ConfigError(f"{path}:{number}: not an account line (want id/account with policy or label)") from None
            label = row.get("label")
            policy = row.get("policy")
            if label in (BENIGN, CAMPAIGN):
                feedback[account] = label
            elif policy == "allow":
                feedback[account] = BENIGN
            elif policy in CAMPAIGN_POLICIES:
                feedback[account] = CAMPAIGN
            elif label is not None or policy not in (None, "auto"):
                raise ConfigError(f"{path}:{number}: label must be benign or campaign, policy allow, auto or a "
                                  f"level; got {label or policy!r}")
    return feedback
