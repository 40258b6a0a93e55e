"""What the console's pages show, read from the store (and, inside the gateway, from the live detector).

Everything here is synchronous (the store is) and runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from distillshield.detect.cluster import shared_evidence
from distillshield.detect.features import extract
from distillshield.detect.state import AccountState
from distillshield.records import Exchange
from distillshield.store import POLICY_LEVELS, Account, Store

WINDOWS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
BUCKETS = 48
LEVEL_ORDER = {level: rank for rank, level in enumerate(("allow",) + POLICY_LEVELS)}
_REPORT_FILES = ("report.html", "report.pdf", "verdict.json", "summary.json", "manifest.json")


class SliceCache:
    """Counts over time slices that have closed do not change (the log writes an exchange within seconds of
    its time), so each closed slice is read from the store once and kept; slices still open are read each
    time. Slices are aligned to multiples of their width, so the same slice comes back on the next view.
    A slice is closed ``settle`` seconds after it ends; kept ones expire after ``ttl`` (retention deletes)."""

    def __init__(self, settle: float = 120.0, ttl: float = 6 * 3600, max_entries: int = 50_000):
        self.settle, self.ttl, self.max_entries = settle, ttl, max_entries
        self._kept: dict = {}
        self._lock = threading.Lock()

    def _slices(self, now: float, window: float, count: int) -> tuple[float, float]:
        width = window / count
        end = math.ceil(now / width) * width
        return end - count * width, width

    def _read(self, key, starts: list[float], width: float, now: float, fetch) -> list:
        """Each slice's value: kept ones from memory, the rest (from the first one missing) by ``fetch``."""
        with self._lock:
            values = [self._kept.get((key, start)) for start in starts]
        expires = time.monotonic() + self.ttl
        first = next((i for i, value in enumerate(values) if value is None or value[0] < time.monotonic()
                      or starts[i] + width > now - self.settle), len(starts))
        if first < len(starts):
            fresh = fetch(starts[first], starts[-1] + width, len(starts) - first)
            with self._lock:
                if len(self._kept) > self.max_entries:
                    self._kept.clear()
                for offset, value in enumerate(fresh):
                    index = first + offset
                    values[index] = (expires, value)
                    if starts[index] + width <= now - self.settle:
                        self._kept[(key, starts[index])] = values[index]
        return [value[1] for value in values]

    def series(self, store: Store, now: float, window: float, count: int, *, account: str | None = None,
               accounts: list[str] | None = None) -> list[tuple[float, int, int]]:
        start, width = self._slices(now, window, count)
        starts = [start + index * width for index in range(count)]
        key = ("series", width, account, tuple(accounts) if accounts is not None else None)
        fetch = lambda since, until, n: [row[1:] for row in store.traffic_series(  # noqa: E731
            since, until, n, account=account, accounts=accounts)]
        return [(begin, *value) for begin, value in zip(starts, self._read(key, starts, width, now, fetch))]

    def links(self, store: Store, accounts: list[str], fresh_for: float = 60.0) -> list[tuple[str, str, str]]:
        """What links a campaign's accounts (``links_between``), kept for ``fresh_for`` seconds."""
        key = ("links", tuple(accounts))
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        edges = links_between(store, accounts)
        with self._lock:
            self._kept[key] = (time.monotonic() + fresh_for, edges)
        return edges

    def tokens(self, store: Store, now: float, window: float, count: int, account: str) -> list[int]:
        """One account's tokens per slice (read out of each record: the slowest count, so worth keeping)."""
        start, width = self._slices(now, window, count)
        starts = [start + index * width for index in range(count)]
        fetch = lambda since, until, n: store.account_tokens(account, since, until, n)  # noqa: E731
        return self._read(("tokens", width, account), starts, width, now, fetch)

    def volumes(self, store: Store, now: float, window: float, count: int = 24) -> dict[str, tuple[int, int, float]]:
        """Per account over the window (aligned to its slices): (requests, refusals, last request time)."""
        start, width = self._slices(now, window, count)
        starts = [start + index * width for index in range(count)]
        fetch = lambda since, until, n: list(store.account_volume_slices(since, until, n).values())  # noqa: E731
        totals: dict[str, list] = {}
        for per_account in self._read(("volumes", width), starts, width, now, fetch):
            for account, (requests, refusals, last) in per_account.items():
                total = totals.setdefault(account, [0, 0, 0.0])
                total[0] += requests
                total[1] += refusals
                total[2] = max(total[2], last)
        return {account: tuple(total) for account, total in totals.items()}


def window_seconds(name: str | None, default: str = "24h") -> tuple[str, float]:
    name = name if name in WINDOWS else default
    return name, WINDOWS[name]


def risk_table(store: Store, detector) -> dict[str, dict]:
    """Each scored account's risk: the live detector's table when this process runs one, else the newest
    detector event of each account in the store (``source`` says which)."""
    table = {}
    for account, event in store.latest_detector_events().items():
        table[account] = {"account": account, "score": event["score"], "level": event["new_level"],
                          "threshold": event["threshold"], "cluster": event["cluster"], "reasons": event["reasons"],
                          "flagged_after": None, "requests": None, "source": "policy events"}
    if detector is not None:
        for risk in list(detector.risk.values()):
            table[risk.account] = {**risk.as_dict(), "source": "live detector"}
    return table


def effective_level(account: Account, risk: dict | None) -> tuple[str, str]:
    """(level, who set it): the operator's override, else the detector's level."""
    if account.policy != "auto":
        return account.policy, "operator"
    if risk is None or risk["level"] == "none":
        return "none", "-"
    return risk["level"], "detector"


def detector_health(detector) -> dict | None:
    """Lag, dropped inputs and the calibration population of the live detector (None: not in this process)."""
    if detector is None:
        return None
    return {"running": detector.running, "lag_seconds": round(detector.lag_seconds, 3), "waiting": detector.depth,
            "dropped": detector.dropped, "processed": detector.processed, "replayed": detector.replayed,
            "crashes": detector.crashes, "calibration_accounts": len(detector.model.benign_max_scores),
            "levels": [(name, round(threshold, 3)) for name, threshold in detector.levels],
            "trained_on": detector.model.trained_on}


def overview(store: Store, detector, window: float, now: float, cache: SliceCache) -> dict:
    accounts = store.list_accounts()
    risks = risk_table(store, detector)
    levels = Counter(effective_level(account, risks.get(account.id))[0] for account in accounts)
    series = cache.series(store, now, window, BUCKETS)
    thresholds = detector_health(detector)["levels"] if detector is not None else _event_thresholds(risks)
    return {"accounts": len(accounts), "levels": [(level, levels.get(level, 0)) for level in LEVEL_ORDER],
            "series": series, "requests": sum(row[1] for row in series), "refusals": sum(row[2] for row in series),
            "events": store.list_policy_events_filtered(limit=10), "health": detector_health(detector),
            "scores": [risk["score"] for risk in risks.values() if risk["score"] is not None],
            "thresholds": thresholds, "scored": len(risks)}


def _event_thresholds(risks: dict[str, dict]) -> list[tuple[str, float]]:
    seen = {}
    for risk in risks.values():
        if risk["threshold"] is not None and risk["level"] != "none":
            seen[risk["level"]] = risk["threshold"]
    return sorted(seen.items(), key=lambda item: LEVEL_ORDER[item[0]])


def account_rows(store: Store, detector, window: float, now: float, cache: SliceCache, *, query: str = "",
                 level: str = "", sort: str = "risk") -> list[dict]:
    risks = risk_table(store, detector)
    volumes = cache.volumes(store, now, window)
    keys = Counter(key.account_id for key in store.list_keys() if key.is_usable(now))
    rows = []
    for account in store.list_accounts():
        if query and query.lower() not in account.id.lower() and query.lower() not in account.name.lower():
            continue
        risk = risks.get(account.id)
        effective, setter = effective_level(account, risk)
        if level and effective != level:
            continue
        requests, refusals, last = volumes.get(account.id, (0, 0, None))
        rows.append({"account": account, "level": effective, "set_by": setter,
                     "score": risk["score"] if risk else None, "cluster": risk["cluster"] if risk else None,
                     "requests": requests, "refusals": refusals, "last": last, "key_count": keys.get(account.id, 0)})
    order = {"risk": lambda row: (-(row["score"] if row["score"] is not None else -1e9), row["account"].id),
             "level": lambda row: (-LEVEL_ORDER[row["level"]], row["account"].id),
             "volume": lambda row: (-row["requests"], row["account"].id),
             "id": lambda row: row["account"].id}
    rows.sort(key=order.get(sort, order["risk"]))
    return rows


def exchange_summary(text: str, show_text: bool) -> dict:
    record = orjson.loads(text)
    request, response = record.get("request") or {}, record.get("response") or {}
    usage = response.get("usage") or {}
    prompt = ""
    if show_text:
        messages = request.get("messages")
        if isinstance(messages, list) and messages:
            content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
            prompt = content if isinstance(content, str) else orjson.dumps(content).decode() if content else ""
        elif isinstance(request.get("prompt"), str):
            prompt = request["prompt"]
    return {"id": record.get("id"), "ts": record.get("ts"), "endpoint": record.get("endpoint"),
            "status": record.get("status"), "tokens": usage.get("total_tokens"),
            "policy": (record.get("policy") or {}).get("level"), "ip": record.get("ip"),
            "user_agent": record.get("user_agent"), "prompt": prompt[:300],
            "params": {name: request[name] for name in ("n", "logprobs", "top_logprobs", "max_tokens", "temperature")
                       if name in request}}


def account_page(store: Store, detector, account_id: str, window: float, now: float, show_text: bool,
                 cache: SliceCache) -> dict:
    account = store.get_account(account_id)
    risks = risk_table(store, detector)
    risk = risks.get(account_id)
    level, setter = effective_level(account, risk)
    series = cache.series(store, now, window, BUCKETS, account=account_id)
    tokens = cache.tokens(store, now, window, BUCKETS, account_id)
    recent = [exchange_summary(text, show_text) for text in store.recent_exchange_json(account=account_id, limit=25)]
    cluster = risk["cluster"] if risk else None
    linked = sorted(name for name, other in risks.items() if cluster and other["cluster"] == cluster and name != account_id)
    samples = [item["prompt"] for item in recent if item["prompt"]][:5]
    return {"account": account, "risk": risk, "level": level, "set_by": setter, "series": series, "tokens": tokens,
            "recent": recent, "linked": linked, "samples": samples, "api_keys": store.list_keys(account_id),
            "events": store.list_policy_events_filtered(account=account_id, limit=50),
            "actions": store.list_operator_actions(target=account_id, limit=20)}


def campaigns(store: Store, detector) -> list[dict]:
    """Clusters of linked accounts (from the detector), biggest first."""
    members: dict[str, list[str]] = defaultdict(list)
    risks = risk_table(store, detector)
    for name, risk in risks.items():
        if risk["cluster"]:
            members[risk["cluster"]].append(name)
    accounts = {account.id: account for account in store.list_accounts()}
    found = []
    for cluster, names in members.items():
        rules = cluster.partition("|")[0] if "|" in cluster else _linked_by(risks[name] for name in names)
        best = max((risks[name]["score"] or 0 for name in names), default=0)
        levels = Counter(effective_level(accounts[name], risks[name])[0] if name in accounts else risks[name]["level"]
                         for name in names)
        found.append({"id": cluster, "rules": rules, "accounts": sorted(names), "score": best, "levels": levels})
    found.sort(key=lambda item: (-len(item["accounts"]), item["id"]))
    return found


def _linked_by(risks) -> str:
    """The rules that linked a cluster, as the detector's campaign reason states them ("... linked by X)")."""
    for risk in risks:
        for reason in risk["reasons"] or []:
            if isinstance(reason, dict) and reason.get("signal") == "campaign_cluster":
                match = re.search(r"linked by ([^)]*)\)", str(reason.get("evidence", "")))
                if match:
                    return match.group(1)
    return ""


def campaign_page(store: Store, detector, cluster: str, window: float, now: float, cache: SliceCache) -> dict | None:
    found = next((item for item in campaigns(store, detector) if item["id"] == cluster), None)
    if found is None:
        return None
    accounts = {account.id: account for account in store.list_accounts()}
    risks = risk_table(store, detector)
    nodes = []
    for name in found["accounts"]:
        account = accounts.get(name)
        level = effective_level(account, risks.get(name))[0] if account else risks[name]["level"]
        nodes.append({"id": name, "level": level, "href": f"/console/accounts/{name}"})
    series = cache.series(store, now, window, BUCKETS, accounts=found["accounts"])
    edges = cache.links(store, found["accounts"])
    kinds = sorted({part.split(" ")[0] for _, _, why in edges for part in why.split("; ")})
    rules = found["rules"] or ("shared " + ", ".join(kinds) if kinds else "")
    return {**found, "rules": rules or "the detector's prompt-stream similarity", "nodes": nodes, "edges": edges,
            "series": series}


def links_between(store: Store, accounts: list[str], per_account: int = 40) -> list[tuple[str, str, str]]:
    """What links each pair of a campaign's accounts, from their recent exchanges, by the detector's own rule
    (``cluster.shared_evidence``): a shared network, client, prompt template, prompt stream or request shape."""
    states: dict[str, AccountState] = {}
    for name in accounts:
        state = states[name] = AccountState(name)
        for text in reversed(store.recent_exchange_json(account=name, limit=per_account)):
            try:
                state.update(extract(Exchange.from_dict(orjson.loads(text))))
            except Exception:                    # a record the detector would skip is no link
                continue
    return [(first, second, "; ".join(why.values())) for (first, second), why in sorted(shared_evidence(states).items())]


def reports(folders: list[str]) -> list[dict]:
    """Audits (``verdict.json``) and lab runs (``summary.json``) under the configured folders, newest first."""
    found = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in list(root.glob("**/verdict.json"))[:500] + list(root.glob("**/summary.json"))[:500]:
            try:
                data = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            files = [name for name in _REPORT_FILES if (path.parent / name).is_file()]
            entry = {"kind": "audit" if path.name == "verdict.json" else "lab run", "folder": str(path.parent),
                     "files": files, "modified": path.stat().st_mtime, "data": data}
            found.append(entry)
    found.sort(key=lambda item: -item["modified"])
    return found


def report_file(folders: list[str], folder: str, name: str) -> Path | None:
    """A report's file, only if it is one of the report files inside a configured folder."""
    if name not in _REPORT_FILES:
        return None
    path = (Path(folder) / name).resolve()
    for root in folders:
        base = Path(root).resolve()
        if path.is_file() and path.is_relative_to(base):
            return path
    return None


def now() -> float:
    return time.time()
