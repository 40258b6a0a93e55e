"""What the audit works from: the answers we served (exchange records), read once and hashed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from distillshield.errors import ConfigError, InvalidRequest
from distillshield.records import BadLine, Exchange, read_exchanges
from distillshield.watermark.inputs import answer_of_response


@dataclass(frozen=True)
class Served:
    """One answer the gateway served: to whom, for which prompt."""
    account: str
    messages: list[dict]          # the conversation that asked for it (a completion's prompt as one user turn)
    answer: str
    watermark: dict | None = None  # what the gateway logged of the mark it put on the answer: {scheme, key_id}


@dataclass(frozen=True)
class ServedData:
    path: str
    sha256: str
    items: list[Served]
    bad_lines: int

    @property
    def accounts(self) -> list[str]:
        return sorted({item.account for item in self.items})

    def describe(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "answers": len(self.items), "accounts": len(self.accounts),
                "bad_lines": self.bad_lines}


def read_served(path: str | Path) -> ServedData:
    """Exchange records (``distillshield export``, a lab run's ``harvest.jsonl``): answered requests only."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read served data {path}: {exc.strerror or exc}") from None
    items, bad = [], 0
    for record in read_exchanges(raw.decode(errors="replace").splitlines()):
        if isinstance(record, BadLine):
            bad += 1
            continue
        served = _served(record)
        if served is not None:
            items.append(served)
    if not items:
        raise ConfigError(f"served data {path} holds no answered exchange records")
    return ServedData(str(path), hashlib.sha256(raw).hexdigest(), items, bad)


def _served(record) -> Served | None:
    if record.status not in (None, 200):
        return None
    answer = answer_of_response(record.response)
    request = record.request if isinstance(record.request, dict) else {}
    messages = request.get("messages")
    if not isinstance(messages, list):
        prompt = request.get("prompt")
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else None
    if not isinstance(answer, str) or not answer or not messages:
        return None
    clean = [{"role": str(m.get("role", "user")), "content": _text(m.get("content"))} for m in messages
             if isinstance(m, dict)]
    mark = record.extra.get("watermark")
    return Served(record.account, clean, answer, mark if isinstance(mark, dict) else None)


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass(frozen=True)
class ReadingText:
    """A text the open mode reads: one answer, and the conversation it answers (may be empty)."""
    messages: list[dict]
    text: str


def read_reading_texts(path: str | Path) -> list[ReadingText]:
    """Open mode's reading texts: JSONL lines with ``text`` (and an optional ``prompt``), or exchange records
    (their prompt and answer). The texts should carry no mark of the keys tested; if they do, the pairs they
    contain are left out of the score anyway, which keeps the test valid at some cost in power."""
    texts = []
    for number, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ConfigError(f"reading texts {path}, line {number}: not JSON") from None
        if isinstance(record, dict) and isinstance(record.get("text"), str):
            prompt = record.get("prompt")
            texts.append(ReadingText([{"role": "user", "content": prompt}] if isinstance(prompt, str) else [],
                                     record["text"]))
        elif isinstance(record, dict) and (served := _served_dict(record)) is not None:
            texts.append(ReadingText(served.messages, served.answer))
        else:
            raise ConfigError(f"reading texts {path}, line {number}: needs a `text` field or an exchange record")
    if not texts:
        raise ConfigError(f"reading texts {path} holds no text")
    return texts


def _served_dict(record: dict) -> Served | None:
    try:
        return _served(Exchange.from_dict(record))
    except InvalidRequest:
        return None
