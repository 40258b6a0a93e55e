"""Graduated responses by account risk: flag, throttle, harden, block; operators can pin or allowlist an account.

An account's level is, mildest first, ``none < flag < throttle < harden <
block``, and each level includes the milder ones' actions:

  flag      recorded (the exchange's ``policy`` field, a policy event) and an alert to ``alert_webhook_url``
  throttle  the account's rpm and tpm limits multiplied by ``policy_throttle_factor``
  harden    ``n`` > 1 and log-probabilities refused (403 ``hardened_by_policy``), ``max_tokens`` capped at
            ``policy_harden_max_tokens``, reasoning blocks and fields stripped from answers, and each answer
            ended with the account's canary (``canary_of``, when the gateway is given one)
  block     every request refused (403 ``blocked_by_policy``)

The level comes from the account's ``policy`` (an operator's override:
``allow`` = never any action, or a fixed level) or, when that is ``auto``, from
the live detector's risk table. The hot path costs one attribute read, one dict
look-up and, for a hardened request, a few more; everything else (events,
alerts) happens on the thread that receives the detector process's updates
and on the alert sender's thread.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import orjson

from distillshield.backends import Reply, StreamReply
from distillshield.detect.live import AccountRisk, LiveDetector, level_thresholds
from distillshield.errors import ConfigError, NotFound, PermissionDenied
from distillshield.gateway.alerts import AlertSender
from distillshield.gateway.reasoning import ReasoningStreamFilter, harden_answer
from distillshield.records import Settings, format_ts
from distillshield.store import POLICY_LEVELS, Account, Store

log = logging.getLogger("distillshield.policy")

ACTION_LEVELS = POLICY_LEVELS[1:]                  # flag, throttle, harden, block
_RANK = {level: rank for rank, level in enumerate(POLICY_LEVELS)}


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    level: str
    source: str          # "detector" or "operator"
    throttle: bool
    harden: bool
    block: bool
    record: dict         # the exchange's ``policy`` field when nothing request-specific is added


def _decision(level: str, source: str, throttle_factor: float) -> Decision | None:
    if level == "none":
        return None
    rank = _RANK[level]
    actions = ["flag"]
    if rank >= _RANK["throttle"]:
        actions.append(f"throttle:{throttle_factor:g}")
    if rank >= _RANK["block"]:
        actions = ["block"]
    return Decision(level=level, source=source, throttle=_RANK["throttle"] <= rank < _RANK["block"],
                    harden=_RANK["harden"] <= rank < _RANK["block"], block=rank >= _RANK["block"],
                    record={"level": level, "source": source, "actions": actions})


def _asks(value, _endpoint) -> bool:
    return value not in (None, False, 0, "", [], {})


def _more_than_one(value, _endpoint) -> bool:
    return value not in (None, 0, 1)


def _several_prompts(value, _endpoint) -> bool:
    return isinstance(value, list) and len(value) > 1


def _completion_logprobs(value, endpoint) -> bool:
    # /v1/completions takes logprobs as a count, where 0 still returns the chosen tokens' log-probabilities
    return value is not None if endpoint == "/v1/completions" else _asks(value, endpoint)


# (parameter, is it asking for something refused, the action's name): what a hardened account is refused,
# with a 403 that names it, rather than silently answered without it
_HARDENED_REFUSALS = (
    ("n", _more_than_one, "n", "several answers per request"),
    ("best_of", _more_than_one, "n", "several answers per request"),
    ("prompt", _several_prompts, "n", "several prompts per request"),
    ("logprobs", _completion_logprobs, "logprobs", "log-probabilities"),
    ("top_logprobs", _asks, "logprobs", "log-probabilities"),
    ("prompt_logprobs", _asks, "logprobs", "log-probabilities"),
    ("logit_bias", _asks, "logit_bias", "a logit bias"),
)
# what a hardened account's request may carry to the model; anything else is dropped (and recorded).
# Tools and functions are dropped too: an answer forced into a tool call's arguments would carry reasoning
# past the filter and no canary.
_HARDENED_FORWARDED = frozenset({
    "model", "messages", "prompt", "suffix", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "stop", "stream", "stream_options", "seed", "presence_penalty", "frequency_penalty", "n", "user",
    "response_format",
})


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


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
        factor = settings.policy_throttle_factor
        self._auto = {level: _decision(level, "detector", factor) for level in POLICY_LEVELS}
        self._fixed = {level: _decision(level, "operator", factor) for level in POLICY_LEVELS}
        self._fixed["allow"] = None
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
        override = account.policy
        if override == "auto":
            risk = self._risk.get(account.id)
            return None if risk is None else self._auto[risk.level]
        return self._fixed.get(override)

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
        """Refuse what a hardened account may not ask for; forward only the parameters known to be safe;
        cap the answer length. Returns what to send on.

        The client's own payload stays as it is (the traffic log and the detector see what was asked); the
        upstream gets a copy, re-encoded only when something changed.
        """
        actions = list(decision.record["actions"])
        call.policy = {**decision.record, "actions": actions}
        for name, refused, action, what in _HARDENED_REFUSALS:
            if refused(payload.get(name), endpoint):
                actions.append(f"refuse_{action}")
                self.count(decision.level, f"refuse_{action}")
                raise PermissionDenied(f"{what} ({name}) are not available to this account (hardened by the "
                                       f"operator's usage policy), got {_shown(payload[name])}", param=name,
                                       code="hardened_by_policy")
        changes: dict = {}
        dropped = sorted(name for name in payload if name not in _HARDENED_FORWARDED)
        if dropped:
            actions.append("drop_params:" + ",".join(dropped)[:200])
            self.count(decision.level, "drop_params")
        cap = self.max_tokens
        if cap:
            for name in ("max_tokens", "max_completion_tokens"):
                value = payload.get(name)
                if isinstance(value, int) and value > cap:
                    changes[name] = cap
            if endpoint == "/v1/chat/completions" and payload.get("max_tokens") is None \
                    and payload.get("max_completion_tokens") is None:
                changes["max_tokens"] = cap
            if changes:
                actions.append(f"cap_max_tokens:{cap}")
                self.count(decision.level, "cap_max_tokens")
        if changes or dropped:
            payload = {name: value for name, value in {**payload, **changes}.items() if name not in dropped}
            body = orjson.dumps(payload)
        return payload, body

    def refuse_passthrough(self, decision: Decision, call) -> None:
        """A hardened account gets only the endpoints whose answers the gateway can harden."""
        call.policy = {**decision.record, "actions": [*decision.record["actions"], "refuse_endpoint"]}
        self.count(decision.level, "refuse_endpoint")
        raise PermissionDenied(f"{call.endpoint} is not available to this account (hardened by the operator's usage "
                               "policy); use /v1/chat/completions or /v1/completions", code="hardened_by_policy")

    def strip_reply(self, reply: Reply | StreamReply, decision: Decision, call) -> Reply | StreamReply:
        """The answer without reasoning blocks and fields, ending with the account's canary (hardened accounts)."""
        suffix = self.canary_of(call.account) if self.canary_of is not None and call.account else ""
        if isinstance(reply, StreamReply):
            if reply.status != 200:
                return reply
            return dataclasses.replace(reply, chunks=self._stripped_stream(reply.chunks, decision, call, suffix))
        if reply.status != 200 or not reply.content_type.startswith("application/json"):
            return reply
        body, reasoning = harden_answer(reply.body, suffix)
        if body is None:
            return reply
        self._note_changes(decision, call, suffix, reasoning)
        return dataclasses.replace(reply, body=body)

    async def _stripped_stream(self, chunks, decision: Decision, call, suffix: str):
        events = ReasoningStreamFilter(suffix)
        try:
            async for chunk in chunks:
                out = events.feed(chunk)
                if out:
                    yield out
            rest = events.flush()
            if rest:
                yield rest
        finally:
            if events.stripped or suffix:
                self._note_changes(decision, call, suffix, events.stripped)
            await chunks.aclose()

    def _note_changes(self, decision: Decision, call, suffix: str, stripped: bool) -> None:
        """Record (and count) what hardening changed in the answer: reasoning stripped, a canary added."""
        record = call.policy if call.policy is not decision.record else {**decision.record,
                                                                         "actions": list(decision.record["actions"])}
        for action, done in (("strip_reasoning", stripped), ("canary", bool(suffix))):
            if done:
                record["actions"].append(action)
                self.count(decision.level, action)
        call.policy = record

    # off the hot path: the thread receiving the detector's updates ----------------------------------
    def on_level_change(self, old_level: str, risk: AccountRisk) -> None:
        """Record a level the detector gave an account, and alert the operator when it rose."""
        try:
            override = self.store.get_account(risk.account).policy
        except NotFound:
            override = "auto"
        event_id = self.store.record_policy_event(
            risk.account, old_level, risk.level, source="detector", score=risk.score, threshold=risk.threshold,
            reasons=list(risk.reasons), cluster=risk.cluster)
        self.metrics.level_changes.labels(risk.level).inc()
        log.warning("account %s: %s -> %s (score %.3f, threshold %s, override %s)", risk.account, old_level,
                    risk.level, risk.score, "n/a" if risk.threshold is None else f"{risk.threshold:.3f}", override)
        if self.alerts is None or _RANK[risk.level] <= _RANK[old_level]:
            return
        if override != "auto":
            self.store.set_policy_event_alert(event_id, f"skipped: the account's policy is pinned to {override}")
            return
        self.alerts.send({"type": "distillshield.policy_level", "ts": format_ts(time.time()),
                          "account": risk.account, "level": risk.level, "previous_level": old_level,
                          "score": round(risk.score, 4), "threshold": risk.threshold, "cluster": risk.cluster,
                          "flagged_after": risk.flagged_after, "requests": risk.requests,
                          "reasons": list(risk.reasons)}, event_id)

    def on_alert_result(self, event_id, outcome: str) -> None:
        self.metrics.alerts.labels("sent" if outcome == "sent" else "failed").inc()
        if event_id is not None:
            try:
                self.store.set_policy_event_alert(event_id, outcome)
            except Exception:
                log.exception("could not record the outcome of the alert for policy event %s", event_id)


def detector_parts(settings: Settings, *, model=None, embedder="auto"):
    """(model, levels, embedder) for the detection the settings ask for, or None (off, or no model)."""
    from distillshield.detect.scoring import DetectorModel, default_model_path

    if not settings.detect:
        log.info("live detection is off (setting detect = false); only operator overrides apply")
        return None
    if model is None:
        path = Path(settings.detect_model) if settings.detect_model else default_model_path()
        if not settings.detect_model and not path.exists():
            log.warning("live detection is off: no detector model at %s (train one, or set detect_model); "
                        "only operator overrides apply", path)
            return None
        model = DetectorModel.load(path)
    fprs = []
    for level in ACTION_LEVELS:
        fpr = getattr(settings, f"policy_{level}_fpr")
        if fpr >= 1:
            raise ConfigError(f"setting policy_{level}_fpr must be below 1 (0: never automatic), got {fpr}")
        fprs.append((level, fpr))
    if embedder == "auto":
        embedder = None
        if settings.detect_embeddings and model.uses_embeddings:
            from distillshield.detect.embed import PromptEmbedder
            embedder = PromptEmbedder()
    levels = [(name, threshold) for name, threshold in level_thresholds(model, fprs) if threshold is not None]
    return model, levels, embedder


def level_fprs(settings: Settings) -> list[tuple[str, float]]:
    """(level, false-positive rate) of each action level: the live detector draws their thresholds from the
    accounts it has seen once there are enough of them (detect/calibration.py)."""
    return [(level, getattr(settings, f"policy_{level}_fpr")) for level in ACTION_LEVELS]


def make_live_detector(settings: Settings, policy: Policy, *, model=None, embedder="auto") -> LiveDetector | None:
    """The live detector the settings ask for, or None (detection off, or no model to detect with)."""
    parts = detector_parts(settings, model=model, embedder=embedder)
    if parts is None:
        return None
    model, levels, embedder = parts
    detector = LiveDetector(model, levels, embedder=embedder, queue_size=settings.detect_queue_size,
                            queue_bytes=settings.detect_queue_bytes,
                            on_change=policy.on_level_change, link_every=max(1, settings.detect_link_every),
                            fprs=level_fprs(settings))
    described = ", ".join(f"{name} >= {threshold:.3f}" for name, threshold in detector.levels) or "no level"
    log.info("live detection on: %s", described)
    return detector
