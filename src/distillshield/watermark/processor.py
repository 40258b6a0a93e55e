"""The schemes as logits processors: one row's hook, a batched transformers processor, the serving hook."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Sequence

import numpy as np

from distillshield.watermark.keys import MasterKey, account_key
from distillshield.watermark.schemes import Scheme


class RowWatermark:
    """Marks one answer: ``(token ids so far, next-token logits) -> logits``, called once per new token.

    ``temperature`` and ``top_p`` must be the sampling that follows (the distortion-free schemes pick
    the token from that distribution); ``seed`` makes their draws reproducible. One per answer: the
    answer starts at the first call, and the contexts met since then are remembered, so that schemes
    that leave repeated contexts unmarked know which ones repeat (the prompt's own contexts do not count).
    """

    def __init__(self, scheme: Scheme, key: bytes, *, temperature: float = 1.0, top_p: float = 1.0,
                 seed: int | None = None):
        self.scheme = scheme
        self.key = key
        self.temperature = temperature
        self.top_p = top_p
        self.rng = np.random.default_rng(seed if seed is not None else secrets.randbits(63))
        self.first_seen: dict[tuple[int, ...], int] = {}  # context -> length of token_ids when first met

    @property
    def picks(self) -> bool:
        """True: ``pick`` gives the next token itself (the scheme chooses it)."""
        return self.scheme.picks_tokens

    def __call__(self, token_ids, logits):
        return self.scheme.bias_logits(token_ids, logits, self.key, temperature=self.temperature, top_p=self.top_p,
                                       rng=self.rng, mark=self._marks(token_ids))

    def pick(self, token_ids, logits) -> int | None:
        """The next token where the scheme picks it (``picks``), so that a sampler need not sample again from
        the one-hot logits ``__call__`` returns; None where the caller must sample from ``__call__``'s logits."""
        return self.scheme.pick_token(token_ids, logits, self.key, temperature=self.temperature, top_p=self.top_p,
                                      rng=self.rng, mark=self._marks(token_ids))

    def _marks(self, token_ids) -> bool:
        """False where the scheme leaves repeated contexts unmarked and this one came earlier in the answer."""
        if self.scheme.marks_repeated_context:
            return True
        context = self.scheme._context(token_ids)
        if context is None:
            return True
        # keyed by where it was first met, so a second call for the same position still marks
        return self.first_seen.setdefault(context, len(token_ids)) == len(token_ids)


class WatermarkLogitsProcessor:
    """A transformers ``LogitsProcessor`` for ``model.generate``: one key per batch row.

    Pass ``temperature``/``top_p`` as given to ``generate``; the distortion-free schemes return
    logits with all mass on their pick, which the later warpers and the sampler keep. Like its rows,
    it remembers the answers' contexts: use a new one for each ``generate`` call.
    """

    def __init__(self, scheme: Scheme, keys: bytes | Sequence[bytes], *, temperature: float = 1.0,
                 top_p: float = 1.0, seed: int | None = None):
        self.scheme = scheme
        self.keys = [keys] if isinstance(keys, bytes) else list(keys)
        self.row_options = dict(temperature=temperature, top_p=top_p)
        self.seed = seed
        self.rows = self._rows(self.keys)

    def _rows(self, keys: list[bytes]) -> list[RowWatermark]:
        return [RowWatermark(self.scheme, key, **self.row_options, seed=None if self.seed is None else self.seed + i)
                for i, key in enumerate(keys)]

    def __call__(self, input_ids, scores):
        import torch

        if len(self.keys) == 1 and len(self.rows) == 1 and scores.shape[0] > 1:
            self.rows = self._rows(self.keys * scores.shape[0])  # one key, but each row its own answer
        if len(self.rows) != scores.shape[0]:
            raise ValueError(f"the watermark has {len(self.rows)} keys for a batch of {scores.shape[0]} rows")
        return torch.stack([row(input_ids[i], scores[i]) for i, row in enumerate(self.rows)])


def serving_hook_factory(scheme: Scheme, master: MasterKey,
                         hardened_scheme: Scheme | None = None) -> Callable[[str, dict, bool], RowWatermark]:
    """``(account, request payload, hardened) -> hook`` for ``BuiltinBackend(logits_processor_factory=...)``.

    Every answer is marked with the requesting account's key under the master key in use; an account the
    policy hardened gets ``hardened_scheme`` (a stronger mark), when one is given.
    """
    secret = master.current.secret

    @functools.lru_cache(maxsize=65536)
    def key_of(account: str) -> bytes:
        return account_key(secret, account)

    def factory(account: str, payload: dict, hardened: bool = False) -> RowWatermark:
        temperature = payload.get("temperature")
        top_p = payload.get("top_p")
        chosen = hardened_scheme if hardened and hardened_scheme is not None else scheme
        return RowWatermark(chosen, key_of(account), temperature=1.0 if temperature is None else float(temperature),
                            top_p=1.0 if top_p is None else float(top_p), seed=payload.get("seed"))
    return factory
