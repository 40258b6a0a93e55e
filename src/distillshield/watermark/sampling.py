"""The nucleus (top-p) cut the watermark schemes that choose the token themselves pick from (``schemes.py``):
exactly the set the built-in model draws from, whose own copy of this cut is in torch on its decoding thread
(``backends/builtin.py`` says why); a test holds each against a full sort. A lab student decodes on its own
(``lab/suspect.py``)."""

from __future__ import annotations

import numpy as np

# Only tokens above this probability are sorted (a few hundred of 49k; the sort is most of the cost): when they
# hold top_p of the mass, every token under it comes after them in the order and is cut, so the cut is the same
# as sorting the whole vocabulary; when they do not, the whole vocabulary is sorted.
_FLOOR = 1e-6


def nucleus(probs: np.ndarray, top_p: float) -> tuple[np.ndarray, np.ndarray]:
    """The smallest set of most likely tokens whose mass reaches ``top_p``, in id order, with their
    probabilities renormalised to sum to 1; for ``top_p >= 1``, every token of non-zero probability.

    ``probs``: one row's probabilities (float64 keeps the cut the same whoever computes it)."""
    probs = np.asarray(probs, dtype=np.float64)
    if top_p >= 1.0:
        tokens = np.flatnonzero(probs > 0)
    else:
        candidates = np.flatnonzero(probs > _FLOOR)
        if probs[candidates].sum() < top_p + 1e-9:   # the margin covers cumsum's rounding against sum's
            candidates = np.arange(len(probs))
        order = candidates[np.argsort(-probs[candidates], kind="stable")]
        sorted_probs = probs[order]
        keep = np.cumsum(sorted_probs) - sorted_probs < top_p
        tokens = np.sort(order[keep])
    kept = probs[tokens]
    return tokens, kept / kept.sum()
