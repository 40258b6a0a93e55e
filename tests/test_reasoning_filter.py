"""Reasoning is taken out of answers whole, in one piece or split anywhere, and nothing else is touched."""

from __future__ import annotations

import orjson
import pytest

from distillshield.gateway.reasoning import ReasoningStreamFilter, ThinkStripper, harden_answer, strip_think

TEXT = "<think>plan: copy the teacher</think>\n\nThe answer is 42."


def fed_in_pieces(text: str, cuts: list[int]) -> str:
    stripper = ThinkStripper()
    bounds = [0, *cuts, len(text)]
    return "".join(stripper.feed(text[a:b]) for a, b in zip(bounds, bounds[1:])) + stripper.flush()


@pytest.mark.parametrize("text, expected", [
    (TEXT, "The answer is 42."),
    ("Sure. <thinking>hidden</thinking>Done.", "Sure. Done."),
    ("<reasoning>a</reasoning>b<think>c</think>d", "bd"),
    ("Answer first. <think>then an unfinished thought", "Answer first. "),
    ("a < b and c <thin d", "a < b and c <thin d"),
    ("x </think> y", "x </think> y"),
    ("no reasoning at all", "no reasoning at all"),
    ("", ""),
])
def test_blocks_are_removed_wherever_the_text_is_cut(text, expected):
    assert strip_think(text)[0] == expected
    for cut in range(len(text) + 1):
        assert fed_in_pieces(text, [cut]) == expected, cut
    assert fed_in_pieces(text, list(range(1, len(text)))) == expected        # one character at a time


def test_strip_think_says_whether_anything_was_removed():
    assert strip_think(TEXT)[1] is True
    assert strip_think("a < b")[1] is False


def test_complete_answers_lose_blocks_and_reasoning_fields():
    chat = {"id": "x", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": TEXT, "reasoning_content": "r"}},
        {"index": 1, "message": {"role": "assistant", "content": "plain", "reasoning": "r"}}],
        "usage": {"total_tokens": 3}}
    stripped = orjson.loads(harden_answer(orjson.dumps(chat))[0])
    assert [c["message"] for c in stripped["choices"]] == [{"role": "assistant", "content": "The answer is 42."},
                                                           {"role": "assistant", "content": "plain"}]
    assert stripped["usage"] == {"total_tokens": 3}
    legacy = {"choices": [{"index": 0, "text": TEXT, "finish_reason": "stop"}]}
    assert orjson.loads(harden_answer(orjson.dumps(legacy))[0])["choices"][0]["text"] == "The answer is 42."
    assert harden_answer(orjson.dumps({"choices": [{"message": {"content": "plain"}}]}))[0] is None   # sent as is
    assert harden_answer(b"not json")[0] is None


def _event(delta: dict | None = None, finish: str | None = None, index: int = 0, text: str | None = None,
           separator: bytes = b"\n\n") -> bytes:
    choice = {"index": index, "finish_reason": finish}
    if text is not None:
        choice["text"] = text
    else:
        choice["delta"] = delta or {}
    return b"data: " + orjson.dumps({"id": "c", "choices": [choice]}) + separator


def _content(stream: bytes) -> dict[int, str]:
    texts: dict[int, str] = {}
    for block in stream.replace(b"\r\n", b"\n").split(b"\n\n"):
        if block.startswith(b"data: {"):
            for choice in orjson.loads(block[6:])["choices"]:
                piece = choice["delta"].get("content") if "delta" in choice else choice.get("text")
                texts[choice["index"]] = texts.get(choice["index"], "") + (piece or "")
    return texts


def _filtered(raw: bytes, size: int) -> bytes:
    events = ReasoningStreamFilter()
    out = b"".join(events.feed(raw[i:i + size]) for i in range(0, len(raw), size))
    return out + events.flush()


PIECES = ["<thi", "nk>secret ", "plan</th", "ink>\n\n", "The answer", " is 42."]


@pytest.mark.parametrize("separator", [b"\n\n", b"\r\n\r\n"])
def test_streams_lose_reasoning_however_events_are_split(separator):
    raw = (_event({"role": "assistant", "content": ""}, separator=separator)
           + _event({"reasoning_content": "secret"}, separator=separator)
           + b"".join(_event({"content": piece}, separator=separator) for piece in PIECES)
           + b"".join(_event({"content": piece}, index=1, separator=separator) for piece in ["plain", " text"])
           + _event({}, "stop", separator=separator) + b"data: [DONE]" + separator)
    for size in (1, 3, 7, 64, len(raw)):
        out = _filtered(raw, size)
        assert b"secret" not in out and b"think>" not in out and b"reasoning_content" not in out
        assert _content(out) == {0: "The answer is 42.", 1: "plain text"}, size
        assert out.endswith(b"data: [DONE]" + separator)
        assert b'"role":"assistant"' in out and b'"finish_reason":"stop"' in out


def test_stream_events_left_empty_are_dropped_and_held_text_comes_out_at_the_end():
    raw = (_event({"content": "<think>long"}) + _event({"content": " thought</think>"})
           + _event({"content": "ok <"}) + _event({}, "stop") + b"data: [DONE]\n\n")
    events = ReasoningStreamFilter()
    out = events.feed(raw) + events.flush()
    assert out.count(b"data: ") == 3           # "ok ", the finish with the held "<", [DONE]
    assert _content(out) == {0: "ok <"}
    assert events.stripped


def test_legacy_completion_streams_and_untouched_streams():
    raw = _event(text="<think>x</think>") + _event(text="answer", finish="length") + b"data: [DONE]\n\n"
    assert _content(_filtered(raw, 5)) == {0: "answer"}
    plain = _event({"content": "a < b"}) + b": keep-alive comment\n\n" + b"data: [DONE]\n\n"
    events = ReasoningStreamFilter()
    assert events.feed(plain) + events.flush() == plain and not events.stripped


def test_a_suffix_ends_every_choice_in_complete_answers_and_streams_split_anywhere():
    suffix = "\n\n(ref. kotemu ravisa dulobe)"
    body = orjson.dumps({"choices": [{"index": 0, "message": {"content": TEXT}}, {"index": 1, "text": "plain"}]})
    choices = orjson.loads(harden_answer(body, suffix)[0])["choices"]
    assert [choices[0]["message"]["content"], choices[1]["text"]] == ["The answer is 42." + suffix, "plain" + suffix]
    raw = (b"".join(_event({"content": piece}) for piece in PIECES) + _event({"content": "x"}, index=1)
           + _event({}, "stop") + _event({}, "length", index=1) + b"data: [DONE]\n\n")
    for size in (1, 5, len(raw)):
        events = ReasoningStreamFilter(suffix)
        out = b"".join(events.feed(raw[i:i + size]) for i in range(0, len(raw), size)) + events.flush()
        assert _content(out) == {0: "The answer is 42." + suffix, 1: "x" + suffix}, size
        assert out.endswith(b"data: [DONE]\n\n")
    legacy = _event(text="answer", finish="stop") + b"data: [DONE]\n\n"
    events = ReasoningStreamFilter(suffix)
    assert _content(events.feed(legacy) + events.flush()) == {0: "answer" + suffix}
