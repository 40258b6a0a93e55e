"""Graduated responses by account risk: flag, throttle, harden, block; operators can pin or allowlist an account.

An account's level is, mildest first, ``none < flag < throttle < harden <
block``, and each level includes the milder ones' actions:

  flag      recorded (the exchange's ``policy`` field, a policy event) and an alert to ``alert_webhook_url``
  throttle  the account's rpm and tpm limits multiplied by ``policy_throttle_factor``
  harden    ``n`` > 1 and log-probabilities refused (403 ``hardened_by_policy``), ``max_tokens`` capped at
            ``policy_harden_max_tokens``, reasoning blocks and fields stripped from answers, and each answer
            ended with the account's canary (``canary_of``, when the gateway is given one), and, from the
            built-in model with ``policy_harden_antidistill`` > 0, answers drawn by antidistillation sampling
            (``backends/antidistill.py``; the backend says so on the request, ``applied``)
  block     every request refused (403 ``blocked_by_policy``)

``Policy`` is what the gateway holds; each of its jobs has its own module:

  levels.py     deciding an account's level (the detector's risk table or the operator's override)
  hardening.py  hardening a request (refusals, parameters dropped, max_tokens capped) and noting it on the record
  replies.py    stripping a hardened answer's reasoning and ending it with the account's canary
  events.py     recording the detector's level changes as policy events, and alerting the operator
  detection.py  building the live detector the settings ask for

The hot path costs one attribute read, one dict look-up and, for a hardened request, a few more; everything
else (events, alerts) happens on the thread that receives the detector process's updates and on the alert
sender's thread.
"""

from __future__ import annotations

import dataclasses

from distillshield.backends import Reply, StreamReply
from distillshield.detect.live import AccountRisk, LiveDetector
from distillshield.errors import PermissionDenied
from distillshield.gateway import events, hardening, replies
from distillshield.gateway.alerts import AlertSender
from distillshield.gateway.detection import make_live_detector
from distillshield.gateway.levels import Decision, Levels
from distillshield.records import Settings
from distillshield.store import Account, Store

__all__ = ["Decision", "Policy", "make_live_detector"]


class Policy:
    def __init__(self, settings: Settings, store: Store, metrics, *, alerts: AlertSender | None = None,
                 canary_of=None):
        self.settings = settings
        self.canary_of = canary_of          # account id -> the text its hardened answers end with
        self.store = store
        self.metrics = metrics
        self.alerts = alerts
        self.detector: LiveDetector | None = None
        self._risk: dict[str, AccountRisk] = {}
        self._levels = Levels(settings.policy_throttle_factor)
        self._throttled: dict[str, tuple[Account, Account]] = {}
        self.max_tokens = settings.policy_harden_max_tokens
        self._counted = {}

    def attach(self, detector: LiveDetector | None) -> None:
        self.detector = detector
        self._risk = detector.risk if detector is not None else {}

    def attach_risk(self, risk: dict[str, AccountRisk]) -> None:
        """Read levels from a table kept by someone else (the shared detector's subscriber)."""
        self.detector = None
        self._risk = risk

    @property
    def risk_table(self) -> dict[str, AccountRisk]:
        return self._risk

    # the hot path -----------------------------------------------------------------------------------
    def decide(self, account: Account) -> Decision | None:
        """What to do with this account's requests now; None: nothing."""
        return self._levels.decide(account.policy, self._risk.get(account.id))

    def admit(self, decision: Decision) -> None:
        """Count a request served under a level; refuse it if the level is block."""
        self.count(decision.level, None)
        if decision.throttle:
            self.count(decision.level, "throttle")
        if decision.block:
            self.count(decision.level, "block")
            raise PermissionDenied("This account's requests are blocked by the operator's usage policy.",
                                   code="blocked_by_policy")

    def count(self, level: str, action: str | None) -> None:
        key = (level, action)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.metrics.policy_counter(level, action)
        counter()

    def limits_for(self, account: Account) -> Account:
        """The account with its per-minute limits reduced by ``policy_throttle_factor``."""
        cached = self._throttled.get(account.id)
        if cached is not None and cached[0] is account:
            return cached[1]
        factor = self.settings.policy_throttle_factor
        rpm = account.rpm or self.settings.default_rpm
        tpm = account.tpm or self.settings.default_tpm
        throttled = dataclasses.replace(account, rpm=max(1, int(rpm * factor)) if rpm else 0,
                                        tpm=max(1, int(tpm * factor)) if tpm else 0)
        if len(self._throttled) > 100_000:
            self._throttled.clear()
        self._throttled[account.id] = (account, throttled)
        return throttled

    def harden_request(self, endpoint: str, payload: dict, body: bytes, decision: Decision,
                       call) -> tuple[dict, bytes]:
        """What to send on for a hardened account's request (hardening.harden_request)."""
        return hardening.harden_request(endpoint, payload, body, decision, call, cap=self.max_tokens,
                                        count=self.count)

    def refuse_passthrough(self, decision: Decision, call) -> None:
        hardening.refuse_passthrough(decision, call, count=self.count)

    def strip_reply(self, reply: Reply | StreamReply, decision: Decision, call,
                    applied: list[str] | None = None) -> Reply | StreamReply:
        """The answer without reasoning, ending with the account's canary (replies.strip_reply); ``applied``:
        what the backend did to it (antidistillation sampling), noted on the record."""
        if applied:
            replies.note_actions(decision, call, applied, self.count)
        suffix = self.canary_of(call.account) if self.canary_of is not None and call.account else ""
        return replies.strip_reply(reply, decision, call, suffix=suffix, count=self.count)

    # off the hot path: the thread receiving the detector's updates ----------------------------------
    def on_level_change(self, old_level: str, risk: AccountRisk) -> None:
        events.record_level_change(self.store, self.metrics, self.alerts, old_level, risk)

    def on_alert_result(self, event_id, outcome: str) -> None:
        events.record_alert_result(self.store, self.metrics, event_id, outcome)
