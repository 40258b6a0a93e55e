"""The watermark for vLLM: its request-level logits-processor callables, one per request.

vLLM calls a request-level logits processor once per decoding step with the tokens generated so far
and, in the prompt-aware form, the prompt's tokens first:

    processor(output_token_ids: list[int], logits: torch.Tensor) -> torch.Tensor
    processor(prompt_token_ids: list[int], output_token_ids: list[int], logits: torch.Tensor) -> torch.Tensor

``logits`` is the next token's 1-D logits before temperature and top-p. The V0 engine takes these in
``SamplingParams(logits_processors=[...])``; the V1 engine through a subclass of
``vllm.v1.sample.logits_processor.AdapterLogitsProcessor`` whose ``new_req_logits_processor(params)``
returns one (docs/watermark.md shows it), with ``is_argmax_invariant()`` False. Build one per request
with the requesting account's key (``account_key(master, account)``) and that request's
``temperature``/``top_p``/``seed``. vLLM itself is not a dependency (it needs CUDA): nothing here
imports it, and the tests check these callables against that interface only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from distillshield.watermark.processor import RowWatermark
from distillshield.watermark.schemes import DEFAULT_SCHEME, Scheme, parse_scheme


def _row(account_key: bytes, scheme: Scheme | str, temperature: float, top_p: float, seed: int | None) -> RowWatermark:
    scheme = parse_scheme(scheme) if isinstance(scheme, str) else scheme
    return RowWatermark(scheme, account_key, temperature=temperature, top_p=top_p, seed=seed)


def logits_processor(account_key: bytes, scheme: Scheme | str = DEFAULT_SCHEME, *, temperature: float = 1.0,
                     top_p: float = 1.0, seed: int | None = None) -> Callable:
    """``(output_token_ids, logits) -> logits``. Without the prompt, the first ``context_width`` answer
    tokens are left unmarked (detection on the answer's text skips them anyway)."""
    row = _row(account_key, scheme, temperature, top_p, seed)

    def process(output_token_ids: Sequence[int], logits):
        return row(output_token_ids, logits)
    return process


def prompt_aware_logits_processor(account_key: bytes, scheme: Scheme | str = DEFAULT_SCHEME, *,
                                  temperature: float = 1.0, top_p: float = 1.0, seed: int | None = None) -> Callable:
    """``(prompt_token_ids, output_token_ids, logits) -> logits``: the prompt's last tokens give the first
    answer tokens their context, as in the built-in backend."""
    row = _row(account_key, scheme, temperature, top_p, seed)
    width = row.scheme.context_width

    def process(prompt_token_ids: Sequence[int], output_token_ids: Sequence[int], logits):
        # always the same prompt tail in front, so positions in the answer keep one numbering
        tail = list(prompt_token_ids[max(0, len(prompt_token_ids) - width):]) if width else []
        return row(tail + list(output_token_ids), logits)
    return process
