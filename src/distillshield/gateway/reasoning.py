"""Taking a model's reasoning out of its answers, for hardened accounts.

Reasoning reaches a client two ways: inline, between ``<think>`` and
``</think>`` (also ``<thinking>``, ``<reasoning>``) in the answer text, and as
separate fields (``reasoning_content`` from vLLM and DeepSeek, ``reasoning`` and
``reasoning_details`` from others). Both are removed, from complete answers and
from streams. In a stream a tag may be split across chunks (``<thi`` then
``nk>``), so ``ThinkStripper`` holds back the few characters that could start a
tag until the next chunk decides; ``ReasoningStreamFilter`` does the same at
the level of server-sent events, whose boundaries need not match the chunks'.
An opening tag never closed (an answer cut off mid-thought) hides the rest.

Both also take a ``suffix`` (a canary, ``watermark.canary``) to end every choice's answer with: in a
stream it joins the event that carries the choice's ``finish_reason``.
"""

from __future__ import annotations

import re

import orjson

TAGS = {"<think>": "</think>", "<thinking>": "</thinking>", "<reasoning>": "</reasoning>"}
REASONING_FIELDS = ("reasoning_content", "reasoning", "reasoning_details", "thinking")
_EVENT_END = re.compile(rb"\r?\n\r?\n")


def _held_back(text: str, tags) -> int:
    """Length of the longest end of ``text`` that could be the start of one of ``tags``."""
    longest = 0
    for tag in tags:
        for size in range(min(len(tag) - 1, len(text)), longest, -1):
            if text.endswith(tag[:size]):
                longest = size
                break
    return longest


class ThinkStripper:
    """Removes reasoning blocks from text that arrives in pieces; ``feed`` each piece, ``flush`` at the end."""

    __slots__ = ("_closing", "_held", "_trim", "stripped")

    def __init__(self):
        self._closing: str | None = None    # the closing tag awaited while inside a block
        self._held = ""
        self._trim = False                  # drop the whitespace that follows a closing tag
        self.stripped = False

    def feed(self, text: str) -> str:
        if not self._held and self._closing is None and "<" not in text:
            return self._emit(text)         # the common case: plain text, nothing pending
        text, self._held = self._held + text, ""
        out: list[str] = []
        while text:
            if self._closing is not None:
                end = text.find(self._closing)
                if end < 0:
                    keep = _held_back(text, (self._closing,))
                    self._held = text[len(text) - keep:] if keep else ""
                    break
                text = text[end + len(self._closing):]
                self._closing, self._trim = None, True
                continue
            start, opening = min(((text.find(tag), tag) for tag in TAGS if tag in text), default=(-1, ""))
            if start < 0:
                keep = _held_back(text, TAGS)
                out.append(self._emit(text[:len(text) - keep]))
                self._held = text[len(text) - keep:] if keep else ""
                break
            out.append(self._emit(text[:start]))
            text = text[start + len(opening):]
            self._closing, self.stripped = TAGS[opening], True
        return "".join(out)

    def _emit(self, text: str) -> str:
        if self._trim and text:
            text = text.lstrip()
            self._trim = not text
        return text

    def flush(self) -> str:
        """What is still held back once the text is complete (never part of a reasoning block)."""
        held, self._held = self._held, ""
        return "" if self._closing is not None else self._emit(held)


def strip_think(text: str) -> tuple[str, bool]:
    """``text`` without its reasoning blocks, and whether there were any."""
    stripper = ThinkStripper()
    result = stripper.feed(text) + stripper.flush()
    return result, stripper.stripped


def harden_answer(body: bytes, suffix: str = "") -> tuple[bytes | None, bool]:
    """A complete chat or text completion without reasoning, each answer ending with ``suffix`` (None when
    nothing changed: send ``body`` as is), and whether any reasoning was taken out."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, False
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        return None, False
    changed = reasoning = False
    for choice in answer["choices"]:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        holder, key = (message, "content") if isinstance(message, dict) else (choice, "text")
        if isinstance(message, dict) and _drop_reasoning_fields(message):
            changed = reasoning = True
        if choice.pop("logprobs", None) is not None:
            changed = True
        if isinstance(holder.get(key), str):
            text, stripped = strip_think(holder[key])
            if stripped or suffix:
                holder[key] = text + suffix
                changed = True
                reasoning = reasoning or stripped
    return (orjson.dumps(answer) if changed else None), reasoning


def _drop_reasoning_fields(holder: dict) -> bool:
    """Remove a message's (or delta's) reasoning fields; whether there were any."""
    present = [name for name in REASONING_FIELDS if name in holder]
    for name in present:
        del holder[name]
    return bool(present)


class ReasoningStreamFilter:
    """Removes reasoning from a stream of server-sent events (chat or text completion chunks)."""

    def __init__(self, suffix: str = ""):
        self._buffer = b""
        self._strippers: dict[int, ThinkStripper] = {}
        self.fields_removed = False
        self.suffix = suffix

    @property
    def stripped(self) -> bool:
        return self.fields_removed or any(stripper.stripped for stripper in self._strippers.values())

    def feed(self, chunk: bytes) -> bytes:
        self._buffer += chunk
        out: list[bytes] = []
        position = 0
        for match in _EVENT_END.finditer(self._buffer):
            out.append(self._event(self._buffer[position:match.start()], match.group()))
            position = match.end()
        self._buffer = self._buffer[position:]
        return b"".join(out)

    def flush(self) -> bytes:
        """An unterminated last event, passed on as it came."""
        rest, self._buffer = self._buffer, b""
        return rest

    def _event(self, event: bytes, end: bytes) -> bytes:
        lines = event.splitlines()
        data_lines = [i for i, line in enumerate(lines) if line.startswith(b"data:")]
        if len(data_lines) != 1:
            return event + end
        data = lines[data_lines[0]][5:].strip()
        if not data.startswith(b"{"):
            return event + end                       # [DONE] and anything that is not a JSON object
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return event + end
        if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
            return event + end
        changed, empty = self._filter_choices(payload["choices"])
        if not changed:
            return event + end
        if empty and not payload.get("usage"):
            return b""                               # nothing left to say: skip the event altogether
        lines[data_lines[0]] = b"data: " + orjson.dumps(payload)
        return b"\n".join(lines) + end

    def _filter_choices(self, choices: list) -> tuple[bool, bool]:
        changed, empty = False, True
        for choice in choices:
            if not isinstance(choice, dict):
                empty = False
                continue
            finished = choice.get("finish_reason") is not None
            delta = choice.get("delta")
            holder, key = (delta, "content") if isinstance(delta, dict) else (choice, "text")
            if isinstance(delta, dict) and _drop_reasoning_fields(delta):
                changed = self.fields_removed = True
            if choice.pop("logprobs", None) is not None:     # never asked for by a hardened account
                changed = True
            index = choice.get("index", 0)
            index = index if isinstance(index, int) else 0
            stripper = self._strippers.get(index)
            if stripper is None:
                stripper = self._strippers[index] = ThinkStripper()
            text = holder.get(key)
            if isinstance(text, str) or finished:
                new = stripper.feed(text) if isinstance(text, str) else ""
                if finished:
                    new += stripper.flush() + self.suffix
                if new != (text or ""):
                    holder[key] = new
                    changed = True
            if finished or holder.get(key) or (
                    isinstance(delta, dict) and any(name != "content" for name in delta)):
                empty = False
        return changed, empty
