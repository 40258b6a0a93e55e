"""Off the hot path, on the thread receiving the detector's updates: each level the detector gives an account
is recorded as a policy event, and a rise is alerted to the operator (``alert_webhook_url``) unless an
operator pinned the account; the alert's outcome is written back on its event."""

from __future__ import annotations

import logging
import time

from distillshield.errors import NotFound
from distillshield.gateway.alerts import AlertSender
from distillshield.gateway.levels import RANK
from distillshield.records import format_ts
from distillshield.store import Store

log = logging.getLogger("distillshield.policy")


def record_level_change(store: Store, metrics, alerts: AlertSender | None, old_level: str, risk) -> None:
    """Record a level the detector gave an account, and alert the operator when it rose."""
    try:
        override = store.get_account(risk.account).policy
    except NotFound:
        override = "auto"
    event_id = store.record_policy_event(
        risk.account, old_level, risk.level, source="detector", score=risk.score, threshold=risk.threshold,
        reasons=list(risk.reasons), cluster=risk.cluster)
    metrics.level_changes.labels(risk.level).inc()
    log.warning("account %s: %s -> %s (score %.3f, threshold %s, override %s)", risk.account, old_level,
                risk.level, risk.score, "n/a" if risk.threshold is None else f"{risk.threshold:.3f}", override)
    if alerts is None or RANK[risk.level] <= RANK[old_level]:
        return
    if override != "auto":
        store.set_policy_event_alert(event_id, f"skipped: the account's policy is pinned to {override}")
        return
    alerts.send({"type": "distillshield.policy_level", "ts": format_ts(time.time()),
                 "account": risk.account, "level": risk.level, "previous_level": old_level,
                 "score": round(risk.score, 4), "threshold": risk.threshold, "cluster": risk.cluster,
                 "flagged_after": risk.flagged_after, "requests": risk.requests,
                 "reasons": list(risk.reasons)}, event_id)


def record_alert_result(store: Store, metrics, event_id, outcome: str) -> None:
    metrics.alerts.labels("sent" if outcome == "sent" else "failed").inc()
    if event_id is not None:
        try:
            store.set_policy_event_alert(event_id, outcome)
        except Exception:
            log.exception("could not record the outcome of the alert for policy event %s", event_id)
