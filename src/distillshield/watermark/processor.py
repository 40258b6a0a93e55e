"""The schemes as logits processors: one row's hook, a batched transformers processor, the serving hook."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Sequence

import numpy as np

from distillshield.watermark.keys import MasterKey, account_key
from distillshield.watermark.schemes import Scheme


class RowWatermark:
    """Marks one sequence: ``(token ids so far, next-token logits) -> logits``.

    ``temperature`` and ``top_p`` must be the sampling that follows (the distortion-free schemes pick
    the token from that distribution); ``seed`` makes the tournament scheme's draws reproducible.
    """

    def __init__(self, scheme: Scheme, key: bytes, *, temperature: float = 1.0, top_p: float = 1.0,
                 seed: int | None = None):
        self.scheme = scheme
        self.key = key
        self.temperature = temperature
        self.top_p = top_p
        self.rng = np.random.default_rng(seed if seed is not None else secrets.randbits(63))

    def __call__(self, token_ids, logits):
        return self.scheme.bias_logits(token_ids, logits, self.key, temperature=self.temperature, top_p=self.top_p,
                                       rng=self.rng)


class WatermarkLogitsProcessor:
    """A transformers ``LogitsProcessor`` for ``model.generate``: one key per batch row.

    Pass ``temperature``/``top_p`` as given to ``generate``; the distortion-free schemes return
    logits with all mass on their pick, which the later warpers and the sampler keep.
    """

    def __init__(self, scheme: Scheme, keys: bytes | Sequence[bytes], *, temperature: float = 1.0,
                 top_p: float = 1.0, seed: int | None = None):
        self.scheme = scheme
        self.keys = [keys] if isinstance(keys, bytes) else list(keys)
        self.rows = [RowWatermark(scheme, key, temperature=temperature, top_p=top_p,
                                  seed=None if seed is None else seed + i) for i, key in enumerate(self.keys)]

    def __call__(self, input_ids, scores):
        import torch

        if len(self.rows) == 1 and scores.shape[0] > 1:
            self.rows = self.rows * scores.shape[0]
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
