"""Alerts to an operator's webhook, sent from a background thread: a short timeout, a few retries.

Nothing here can slow or fail a request: alerts wait in a bounded queue (one
that does not fit is reported as failed), and each outcome, delivered or not,
is handed to ``on_result`` so the policy event it belongs to records it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.request
from collections.abc import Callable

import orjson

log = logging.getLogger("distillshield.policy")

_STOP = object()


class AlertSender:
    def __init__(self, url: str, *, timeout: float = 3.0, retries: int = 3, backoff: float = 0.5,
                 on_result: Callable[[object, str], None] | None = None, queue_size: int = 1000):
        self.url = url
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.on_result = on_result
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="distillshield-alerts", daemon=True)
        self._thread.start()

    def send(self, alert: dict, tag: object = None) -> None:
        """Queue an alert (never blocks); ``tag`` comes back to ``on_result`` with the outcome."""
        try:
            self._queue.put_nowait((alert, tag))
        except queue.Full:
            self._finish(tag, "failed: too many alerts waiting")

    def close(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            alert, tag = item
            self._finish(tag, self._deliver(alert))

    def _deliver(self, alert: dict) -> str:
        body = orjson.dumps(alert)
        error = ""
        for attempt in range(self.retries):
            request = urllib.request.Request(self.url, data=body, method="POST", headers={
                "Content-Type": "application/json", "User-Agent": "distillshield-alerts"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return "sent"
                    error = f"HTTP {response.status}"
            except Exception as exc:  # any failure of the operator's endpoint is reported, never raised
                error = str(exc) or type(exc).__name__
            if attempt + 1 < self.retries:
                time.sleep(self.backoff * 2 ** attempt)
        log.warning("alert to %s failed after %d attempts: %s", self.url, self.retries, error)
        return f"failed: {error}"

    def _finish(self, tag: object, outcome: str) -> None:
        if outcome == "sent":
            self.sent += 1
        else:
            self.failed += 1
        if self.on_result is not None:
            try:
                self.on_result(tag, outcome)
            except Exception:
                log.exception("recording an alert's outcome failed")
