"""The one nucleus cut every sampler uses: its kept set is the nucleus, found by sorting the whole vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from distillshield.watermark.sampling import nucleus


def _nucleus_by_full_sort(probs: np.ndarray, top_p: float) -> set[int]:
    order = np.argsort(-probs, kind="stable")
    kept, mass = [], 0.0
    for token in order:
        if mass >= top_p:
            break
        kept.append(int(token))
        mass += probs[token]
    return set(kept)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("top_p", [0.1, 0.5, 0.9, 0.95, 0.999])
def test_the_kept_set_is_the_nucleus(seed, top_p):
    rng = np.random.default_rng(seed)
    # peaked (most mass on a few tokens, many under the sorting floor) and flat (none above it) vocabularies
    logits = rng.normal(0, 4 if seed % 2 else 0.5, size=5000)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    tokens, kept = nucleus(probs, top_p)
    assert set(tokens.tolist()) == _nucleus_by_full_sort(probs, top_p)
    assert list(tokens) == sorted(tokens) and kept.sum() == pytest.approx(1.0)
    assert np.allclose(kept, probs[tokens] / probs[tokens].sum())
    # the smallest such set: without its least likely token the mass is short of top_p
    assert probs[tokens].sum() - probs[tokens].min() < top_p <= probs[tokens].sum() + 1e-12


def test_top_p_one_keeps_every_possible_token():
    probs = np.array([0.5, 0.0, 0.25, 0.25])
    tokens, kept = nucleus(probs, 1.0)
    assert tokens.tolist() == [0, 2, 3] and kept.tolist() == [0.5, 0.25, 0.25]
