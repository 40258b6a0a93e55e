"""Detection: is a text marked with a key, and which account's key marked it?

A text is tokenised with the served model's tokenizer; its distinct (context, token) pairs after the
prompt are scored against a key, and the p-value is exact under the null hypothesis that the text was
written without that key (see ``schemes``). Attribution tests every account key and corrects for the
number of keys tested (Holm).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

from distillshield import models
from distillshield.watermark.schemes import Scheme


@dataclass(frozen=True, slots=True)
class Detection:
    p_value: float
    score: float
    statistic: float
    tokens_scored: int
    scheme: str
    note: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        if not self.note:
            del data["note"]
        return data


@dataclass(frozen=True, slots=True)
class Attribution:
    account: str | None           # the most likely account: the smallest p-value (None: no keys tested)
    account_p_value: float        # its p-value, Holm-adjusted for the number of keys tested
    detection: Detection | None   # its detection, unadjusted
    adjusted_p_values: dict[str, float] = field(default_factory=dict)  # every account, Holm-adjusted
    keys_tested: int = 0


@functools.cache
def load_tokenizer(gguf_path: str):
    """The tokenizer stored in a GGUF model file (loaded once per process, converted once per file)."""
    return models.load_tokenizer(gguf_path)


def tokenize(text: str, tokenizer) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def detect_tokens(token_ids: list[int], key: bytes, scheme: Scheme, *, prompt_len: int = 0) -> Detection:
    result = scheme.score_tokens(token_ids, key, prompt_len)
    note = "" if result.tokens_scored else "no tokens to score: the text is empty or too short"
    return Detection(result.p_value, result.score, result.statistic, result.tokens_scored, scheme.spec, note)


def detect_text(text: str, key: bytes, scheme: Scheme, tokenizer, *, prompt: str = "") -> Detection:
    """Score ``text`` against ``key``. A ``prompt`` it continues is used as context but not scored."""
    prompt_ids = tokenize(prompt, tokenizer)
    return detect_tokens(prompt_ids + tokenize(text, tokenizer), key, scheme, prompt_len=len(prompt_ids))


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjustment: controls the family-wise error rate over all the keys tested."""
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    adjusted, running = {}, 0.0
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * p))
        adjusted[name] = running
    return adjusted


def attribute_tokens(token_ids: list[int], keys: dict[str, bytes | list[bytes]], scheme: Scheme, *,
                     prompt_len: int = 0) -> Attribution:
    """Test every account's key(s) (a list: one per master key version) and name the most likely account.

    Every key tested counts in the correction, rotated versions included.
    """
    detections: dict[tuple[str, int], Detection] = {}
    for account, account_keys in keys.items():
        for version, key in enumerate([account_keys] if isinstance(account_keys, bytes) else account_keys):
            detections[(account, version)] = detect_tokens(token_ids, key, scheme, prompt_len=prompt_len)
    if not detections:
        return Attribution(None, 1.0, None)
    adjusted = holm({f"{account}\0{version}": d.p_value for (account, version), d in detections.items()})
    per_account: dict[str, float] = {}
    for (account, version) in detections:
        value = adjusted[f"{account}\0{version}"]
        per_account[account] = min(per_account.get(account, 1.0), value)
    best = min(detections, key=lambda name: detections[name].p_value)
    return Attribution(best[0], adjusted[f"{best[0]}\0{best[1]}"], detections[best], per_account, len(detections))


def attribute(text: str, keys: dict[str, bytes | list[bytes]], scheme: Scheme, tokenizer, *,
              prompt: str = "") -> Attribution:
    prompt_ids = tokenize(prompt, tokenizer)
    return attribute_tokens(prompt_ids + tokenize(text, tokenizer), keys, scheme, prompt_len=len(prompt_ids))
