"""Texts to detect: plain text files, JSONL (a ``text`` field, or exchange records), or stdin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class Text:
    source: str                 # "path" for a whole file, "path:line" for a JSONL line
    text: str | None            # None: the line held no text (``problem`` says why)
    account: str | None = None
    problem: str = ""


def read_texts(name: str, content: str) -> Iterator[Text]:
    """A file's texts. JSONL when the name ends in .jsonl/.json or the content starts with ``{``."""
    if name.endswith((".jsonl", ".json")) or content.lstrip().startswith("{"):
        for number, line in enumerate(content.splitlines(), 1):
            if line.strip():
                yield _line_text(f"{name}:{number}", line)
    else:
        yield Text(name, content)


def _line_text(source: str, line: str) -> Text:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Text(source, None, problem=f"not JSON: {exc}")
    if not isinstance(record, dict):
        return Text(source, None, problem="not a JSON object")
    account = record.get("account") if isinstance(record.get("account"), str) else None
    text = record.get("text")
    if text is None:
        text = answer_of_response(record.get("response"))
    if not isinstance(text, str):
        return Text(source, None, account, problem="no `text` field (nor an exchange record's answer)")
    return Text(source, text, account)


def answer_of_response(response) -> str | None:
    """The first choice's answer of an exchange's response, chat or completion shaped (None: none there)."""
    choices = response.get("choices") if isinstance(response, dict) else None
    if not choices or not isinstance(choices[0], dict):
        return None
    choice = choices[0]
    message = choice.get("message")
    return message.get("content") if isinstance(message, dict) else choice.get("text")
