"""Near-duplicate prompts: MinHash signatures and a banded LSH index, lean and fast.

The signatures are datasketch's ``MinHash(num_perm, seed)`` values (its "affine32" scheme: the first
4 bytes of each shingle's SHA-1, the MurmurHash3 finalizer, ``a·h + b`` modulo 2^32, the minimum per
permutation), computed in one numpy pass per prompt instead of through a MinHash object. The index
answers as ``MinHashLSH(params=(bands, rows)).query`` does for "is there any candidate": a prompt is a
near duplicate when one band of its signature equals the same band of an indexed prompt. It keeps only
the band keys, 4 bytes a row in sorted arrays (the newest few in a set), where MinHashLSH kept
each band as a bytes object in two dictionaries (about 20 bytes a band against some 350).
"""

from __future__ import annotations

import hashlib

import numpy as np
from datasketch import MinHash

_MERGE_EVERY = 128   # band keys held in a set before they join the sorted arrays


def _fmix32(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


class Signer:
    """MinHash signatures equal to datasketch's ``MinHash(num_perm, seed).update_batch(shingles)``."""

    def __init__(self, num_perm: int, seed: int = 1):
        reference = MinHash(num_perm=num_perm, seed=seed)
        if reference.scheme != "affine32" or reference.hashvalues.dtype != np.uint32:
            raise RuntimeError(f"datasketch's MinHash scheme {reference.scheme!r} is not the one reproduced here")
        self.multipliers, self.offsets = (np.ascontiguousarray(row) for row in reference.permutations)

    def sign(self, shingles: list[bytes]) -> np.ndarray:
        """The signature (uint32, one value per permutation) of a non-empty list of shingles."""
        digests = b"".join([hashlib.sha1(shingle).digest()[:4] for shingle in shingles])
        hashed = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
        with np.errstate(over="ignore"):
            permuted = hashed[:, None] * self.multipliers + self.offsets
        return permuted.min(axis=0)


class BandIndex:
    """Band keys of the signatures inserted so far (``rows`` uint32 values a band); never forgets one."""

    __slots__ = ("bands", "rows", "_recent", "_firsts", "_keys_sorted")

    def __init__(self, bands: int, rows: int):
        self.bands, self.rows = bands, rows
        self._recent: list[set[bytes]] | None = None   # the newest keys per band, before they are merged
        self._keys_sorted: list[np.ndarray] = []        # per band, (keys, rows) uint32, sorted row-wise
        self._firsts: list[np.ndarray] = []             # per band, the sorted keys' first values (contiguous)

    def _keys(self, signature: np.ndarray) -> list[bytes]:
        raw, width = signature.tobytes(), self.rows * 4
        return [raw[start:start + width] for start in range(0, self.bands * width, width)]

    def seen(self, signature: np.ndarray) -> bool:
        """Whether any band of ``signature`` equals that band of an inserted signature."""
        if self._recent is None:
            return False
        for band, key in enumerate(self._keys(signature)):
            if key in self._recent[band] or (self._firsts and self._in_sorted(band, key)):
                return True
        return False

    def _in_sorted(self, band: int, key: bytes) -> bool:
        firsts, keys = self._firsts[band], self._keys_sorted[band]
        first = int.from_bytes(key[:4], "little")
        index = int(firsts.searchsorted(first))
        while index < len(firsts) and firsts[index] == first:
            if keys[index].tobytes() == key:
                return True
            index += 1
        return False

    def insert(self, signature: np.ndarray) -> None:
        if self._recent is None:
            self._recent = [set() for _ in range(self.bands)]
        for band, key in enumerate(self._keys(signature)):
            self._recent[band].add(key)
        if len(self._recent[0]) >= _MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        for band, recent in enumerate(self._recent):
            keys = np.frombuffer(b"".join(recent), dtype=np.uint32).reshape(-1, self.rows)
            merged = len(self._keys_sorted) > band
            if merged:
                keys = np.concatenate([self._keys_sorted[band], keys])
            keys = keys[np.lexsort(keys.T[::-1])]
            if merged:
                self._keys_sorted[band], self._firsts[band] = keys, np.ascontiguousarray(keys[:, 0])
            else:
                self._keys_sorted.append(keys)
                self._firsts.append(np.ascontiguousarray(keys[:, 0]))
            recent.clear()
