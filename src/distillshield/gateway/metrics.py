"""Prometheus metrics: requests, latency, refusals by reason, log queue depth."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    def __init__(self, queue_depth: Callable[[], int]):
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

    def observe(self, endpoint: str, status: int, seconds: float, refusal: str | None) -> None:
        label = endpoint if endpoint in _KNOWN_ENDPOINTS else "other"
        self.requests.labels(label, str(status)).inc()
        self.latency.labels(label).observe(seconds)
        if refusal:
            self.refusals.labels(refusal).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


_KNOWN_ENDPOINTS = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings"}
