"""Prometheus metrics: requests, latency, refusals by reason, log queue depth, policy actions, live detection."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    def __init__(self, queue_depth: Callable[[], int], writer_restarts: Callable[[], int] = lambda: 0):
        self.registry = CollectorRegistry()
        self.requests = Counter("distillshield_requests", "Requests answered, by endpoint and status.",
                                ("endpoint", "status"), registry=self.registry)
        self.latency = Histogram("distillshield_request_latency_seconds",
                                 "Time from request to last byte, by endpoint.", ("endpoint",),
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.refusals = Counter("distillshield_refusals", "Requests refused, by reason.", ("reason",),
                                registry=self.registry)
        self.log_queue = Gauge("distillshield_log_queue_depth", "Exchange records waiting to be written.",
                               registry=self.registry)
        self.log_queue.set_function(queue_depth)
        self.log_writer_restarts = Gauge("distillshield_log_writer_restarts",
                                         "Times the log writer thread was found stopped and started again.",
                                         registry=self.registry)
        self.log_writer_restarts.set_function(writer_restarts)
        self.policy_requests = Counter("distillshield_policy_requests",
                                       "Requests served under a policy level (flag, throttle, harden, block).",
                                       ("level",), registry=self.registry)
        self.policy_actions = Counter("distillshield_policy_actions",
                                      "Policy actions taken on requests, by level and action.",
                                      ("level", "action"), registry=self.registry)
        self.level_changes = Counter("distillshield_policy_level_changes",
                                     "Accounts moved to a level by the live detector, by new level.", ("level",),
                                     registry=self.registry)
        self.alerts = Counter("distillshield_policy_alerts", "Webhook alerts, by outcome (sent, failed).",
                              ("outcome",), registry=self.registry)

    def observe(self, endpoint: str, status: int, seconds: float, refusal: str | None) -> None:
        label = endpoint if endpoint in _KNOWN_ENDPOINTS else "other"
        self.requests.labels(label, str(status)).inc()
        self.latency.labels(label).observe(seconds)
        if refusal:
            self.refusals.labels(refusal).inc()

    def policy_counter(self, level: str, action: str | None) -> Callable[[], None]:
        """The increment of one policy counter (resolved once, so the hot path skips the label look-up)."""
        if action is None:
            return self.policy_requests.labels(level).inc
        return self.policy_actions.labels(level, action).inc

    def watch_detector(self, detector) -> None:
        self.registry.register(_DetectorCollector(detector))

    def watch_shared_risk(self, shared) -> None:
        self.registry.register(_SharedRiskCollector(shared))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _DetectorCollector:
    """The live detector's progress, read when /metrics is scraped."""

    def __init__(self, detector):
        self.detector = detector

    def describe(self):
        return []

    def collect(self):
        detector = self.detector
        yield GaugeMetricFamily("distillshield_detect_running",
                                "1 while the live detector's process runs; 0 once it has stopped (see the log).",
                                value=1 if detector.running else 0)
        yield CounterMetricFamily("distillshield_detect_crashes",
                                  "Times the live detector's process ended unexpectedly (detection is then off).",
                                  value=detector.crashes)
        yield GaugeMetricFamily("distillshield_detect_queue_depth", "Exchanges waiting for the live detector.",
                                value=detector.depth)
        yield GaugeMetricFamily("distillshield_detect_lag_seconds",
                                "How long the oldest batch waiting for the live detector has waited.",
                                value=detector.lag_seconds)
        exchanges = CounterMetricFamily("distillshield_detect_exchanges",
                                        "Exchanges handled by the live detector, by outcome (processed, replayed "
                                        "from the store at start-up, dropped because detection lagged or was off).",
                                        labels=("outcome",))
        exchanges.add_metric(("processed",), detector.processed)
        exchanges.add_metric(("replayed",), detector.replayed)
        exchanges.add_metric(("dropped",), detector.dropped)
        yield exchanges
        accounts = GaugeMetricFamily("distillshield_detect_accounts", "Accounts the live detector scored, by level.",
                                     labels=("level",))
        for level, count in sorted(Tally(risk.level for risk in list(detector.risk.values())).items()):
            accounts.add_metric((level,), count)
        yield accounts


class _SharedRiskCollector:
    """A replica's view of the shared detector (detect_source = shared), read when /metrics is scraped."""

    def __init__(self, shared):
        self.shared = shared

    def describe(self):
        return []

    def collect(self):
        shared = self.shared
        yield GaugeMetricFamily("distillshield_detect_shared_connected",
                                "1 while this replica receives the shared detector's levels from Redis; 0 while it "
                                "serves with the last levels it knew.", value=1 if shared.connected else 0)
        yield CounterMetricFamily("distillshield_detect_shared_disconnects",
                                  "Times this replica lost its connection to the shared levels.",
                                  value=shared.disconnects)
        age = shared.detector_age_seconds
        yield GaugeMetricFamily("distillshield_detect_shared_detector_age_seconds",
                                "Seconds since the shared detector's last heartbeat (-1: never seen).",
                                value=-1 if age is None else age)
        accounts = GaugeMetricFamily("distillshield_detect_accounts", "Accounts the detector scored, by level.",
                                     labels=("level",))
        for level, count in sorted(Tally(risk.level for risk in list(shared.risk.values())).items()):
            accounts.add_metric((level,), count)
        yield accounts


_KNOWN_ENDPOINTS = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings"}
