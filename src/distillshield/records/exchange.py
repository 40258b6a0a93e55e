"""The exchange: the one record that flows through every module.

Every request the gateway serves becomes one exchange; the detector reads
them, the lab writes them, ``distillshield export`` and ``scan`` speak them as
JSONL. Required fields are checked; unknown fields are kept untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

import orjson

from distillshield.errors import InvalidRequest

REQUIRED_FIELDS = ("id", "ts", "account", "endpoint", "request")
KNOWN_FIELDS = REQUIRED_FIELDS + (
    "key_id", "ip", "user_agent", "response", "status", "latency_ms", "error",
)
# An exchange's ``policy.level``, mildest first (the policy layer's levels), and what an operator may pin an
# account to (the store keeps it; the CLI, the admin API and the console offer it).
POLICY_LEVELS = ("none", "flag", "throttle", "harden", "block")
POLICY_OVERRIDES = ("auto", "allow", "flag", "throttle", "harden", "block")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_DEPTH = 64          # orjson encodes at most 254 levels; records are cut well before that
_INT64 = (-(2 ** 63), 2 ** 64 - 1)


def new_exchange_id(now: float | None = None, random_bits: int | None = None) -> str:
    """A ULID-style id: 48-bit millisecond time + 80 random bits, sortable by time.

    ``random_bits`` (80 of them) makes the id reproducible, for simulated traffic."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | (int.from_bytes(os.urandom(10), "big") if random_bits is None else random_bits)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "ex_" + "".join(reversed(chars))


def format_ts(epoch_seconds: float) -> str:
    """RFC 3339 UTC with milliseconds, as in the design: 2026-11-22T10:00:00.123Z."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> float:
    """Epoch seconds from an RFC 3339 / ISO 8601 timestamp (``Z`` or offset)."""
    if not isinstance(text, str):
        raise InvalidRequest(f"ts must be an ISO 8601 string, got {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"ts must be an ISO 8601 timestamp, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@dataclass(slots=True)
class Exchange:
    id: str
    ts: str
    account: str
    endpoint: str
    request: dict
    key_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    response: dict | None = None
    status: int | None = None
    latency_ms: float | None = None
    error: dict | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> Exchange:
        if not isinstance(data, dict):
            raise InvalidRequest(f"an exchange must be a JSON object, got {type(data).__name__}")
        missing = [name for name in REQUIRED_FIELDS if name not in data]
        if missing:
            raise InvalidRequest(f"exchange is missing required field(s): {', '.join(missing)}")
        for name in ("id", "ts", "account", "endpoint"):
            if not isinstance(data[name], str):
                raise InvalidRequest(f"{name} must be a string, got {type(data[name]).__name__}")
        if not isinstance(data["request"], dict):
            raise InvalidRequest(f"request must be an object, got {type(data['request']).__name__}")
        parse_ts(data["ts"])
        known = {name: data[name] for name in KNOWN_FIELDS if name in data}
        extra = {name: value for name, value in data.items() if name not in KNOWN_FIELDS}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"id": self.id, "ts": self.ts, "account": self.account}
        for name in ("key_id", "ip", "user_agent"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["endpoint"] = self.endpoint
        out["request"] = self.request
        for name in ("response", "status", "latency_ms", "error"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    def to_json_kept(self) -> bytes:
        """The record as JSON, whatever it holds: what JSON cannot encode (nesting deeper than
        ``MAX_DEPTH``, integers past 64 bits, lone surrogates) is cut or replaced, and ``log_note`` says so.
        The traffic log writes this, so that no client's body can cost a record."""
        try:
            return self.to_json()
        except (orjson.JSONEncodeError, TypeError) as exc:
            kept = _encodable(self.to_dict(), MAX_DEPTH)
            kept["log_note"] = f"cut to be stored: {exc}"
            return orjson.dumps(kept)

    @property
    def epoch(self) -> float:
        return parse_ts(self.ts)


def _encodable(value: Any, depth: int) -> Any:
    """A copy of ``value`` that JSON can hold: containers below ``depth`` levels become a marker."""
    if isinstance(value, (dict, list)):
        if depth <= 0:
            return f"[cut: nested deeper than {MAX_DEPTH} levels]"
        if isinstance(value, dict):
            return {str(name): _encodable(item, depth - 1) for name, item in value.items()}
        return [_encodable(item, depth - 1) for item in value]
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return repr(value)


@dataclass(slots=True)
class BadLine:
    """A JSONL line that could not be read, reported by number and skipped."""

    line_number: int
    message: str


def read_exchanges(stream: IO[bytes] | IO[str]) -> Iterator[Exchange | BadLine]:
    """Yield each line's exchange, or a ``BadLine`` naming what is wrong with it."""
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield Exchange.from_dict(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield BadLine(line_number, f"not valid JSON ({exc})")
        except InvalidRequest as exc:
            yield BadLine(line_number, exc.message)


def write_exchanges(stream: IO[bytes], exchanges) -> int:
    count = 0
    for exchange in exchanges:
        stream.write(exchange.to_json() + b"\n")
        count += 1
    return count
