"""The scan's speed-ups change no answer: the lean near-duplicate index answers as datasketch's MinHashLSH,
linking without listing every network pair links as listing them did, the intent patterns searched behind
a first-character look-ahead find what they found, and a scan with the speed-ups writes byte for byte the
verdicts of a scan through the reference implementations."""

from __future__ import annotations

import dataclasses
import random
import re
from collections import defaultdict
from itertools import combinations

import numpy as np
import orjson
import pytest
from datasketch import MinHash, MinHashLSH

from distillshield.detect import cluster, engine, features, state
from distillshield.detect.cluster import LinkKeys, link_by_keys, link_keys, shared_evidence_by_keys
from distillshield.detect.near_duplicates import BandIndex, Signer
from distillshield.detect.ordering import in_time_order
from distillshield.detect.scan import scan

_WORDS = [f"w{index}" for index in range(40)]


def _near_copies(rng: random.Random, count: int) -> list[str]:
    """Prompts drawn from a few bases with a word or two swapped: many near duplicates, some exact."""
    bases = [rng.choices(_WORDS, k=rng.randint(1, 12)) for _ in range(60)]
    prompts = []
    for _ in range(count):
        words = list(rng.choice(bases))
        for _ in range(rng.randint(0, 2)):
            words[rng.randrange(len(words))] = rng.choice(_WORDS)
        prompts.append(" ".join(words))
    return prompts


def test_signatures_are_datasketchs_minhash_values():
    signer = Signer(32, seed=1)
    for prompt in _near_copies(random.Random(1), 300):
        shingles = state._shingles(prompt)
        reference = MinHash(num_perm=32, seed=1)
        reference.update_batch(shingles)
        assert np.array_equal(signer.sign(shingles), reference.hashvalues)


def test_the_band_index_answers_as_minhash_lsh():
    signer, bands = Signer(32, seed=1), state._LSH_BANDS
    lean, reference = BandIndex(*bands), MinHashLSH(num_perm=32, params=bands)
    answers = []
    for number, prompt in enumerate(_near_copies(random.Random(2), 1500)):
        shingles = state._shingles(prompt)
        minhash = MinHash(num_perm=32, seed=1)
        minhash.update_batch(shingles)
        signature = signer.sign(shingles)
        answers.append(bool(reference.query(minhash)))
        assert lean.seen(signature) == answers[-1], number
        if number < 700:   # past its merges into sorted arrays, then queries only
            lean.insert(signature)
            reference.insert(str(number), minhash)
    assert 100 < sum(answers) < len(answers)   # both answers were tested, many times


def _suspect_pairs_listed(keys, suspects):
    """Every pair of suspects sharing a client, template or request shape most of whose holders are suspects."""
    def values(found):
        mine = {("template", template) for template in found.templates}
        mine |= {("client", found.client)} if found.client else set()
        return mine | ({("request shape", found.shape)} if found.shape else set())
    held = {name: values(found) for name, found in keys.items() if found is not None}
    pairs = defaultdict(set)
    for first, second in combinations(sorted(name for name in suspects if name in held), 2):
        for kind, value in held[first] & held[second]:
            holders = [name for name, mine in held.items() if (kind, value) in mine]
            if sum(name in suspects for name in holders) >= cluster.SUSPECT_MAJORITY * len(holders):
                pairs[(first, second)].add(f"{kind} among suspects")
    return pairs


def _pairs_linked_by_listing_every_pair(keys, suspects=frozenset()):
    """``link_by_keys`` as it was: every pair that shares anything, then the pairs with enough kinds; and
    every pair of suspects that shares one kind held mostly by suspects."""
    links, evidence = cluster._UnionFind(), defaultdict(set)
    enough = {pair: set(kinds) for pair, kinds in shared_evidence_by_keys(keys).items()
              if len(kinds) >= cluster._EVIDENCE_NEEDED}
    for pair, kinds in _suspect_pairs_listed(keys, suspects).items():
        enough.setdefault(pair, set()).update(kinds)
    for (first, second), kinds in sorted(enough.items()):
        if kinds:
            links.union(first, second)
            evidence[first] |= set(kinds)
            evidence[second] |= set(kinds)
    components = defaultdict(list)
    for name in evidence:
        components[links.find(name)].append(name)
    return {"shared " + ", ".join(sorted(set().union(*(evidence[m] for m in members)))) + "|" + min(members):
            sorted(members) for members in components.values()}


@pytest.mark.parametrize("seed", range(40))
def test_linking_finds_the_clusters_listing_every_pair_found(seed):
    rng = random.Random(seed)
    accounts = rng.choice([30, 300])
    keys = {}
    for index in range(accounts):
        templates = tuple((side, rng.randrange(accounts // 4)) for side in ("prefix", "suffix") if rng.random() < .5)
        keys[f"a{index}"] = None if rng.random() < 0.1 else LinkKeys(
            tuple(sorted({f"10.0.{rng.randrange(accounts // 8)}.0/24" for _ in range(rng.randint(0, 2))})),
            rng.choice([None, rng.randrange(accounts // 5)]), "agent", templates,
            rng.choice([None, None, None, (1.0, 0.0), (0.6, 0.8)]), rng.choice([None, rng.randrange(6)]))
    scores = {name: rng.random() for name in keys if rng.random() < 0.9}
    suspects = cluster.suspects_of(scores, keys) if seed % 2 else frozenset()
    for name in sorted(suspects)[:len(suspects) // 2]:   # a harness's accounts: one shape, held by no one else
        keys[name] = dataclasses.replace(keys[name], shape=1000)
    expected = _pairs_linked_by_listing_every_pair(keys, suspects)
    found = link_by_keys(keys, suspects)
    assert found == expected and list(found) == list(expected)
    if seed == 0:
        assert len(expected) > 1
    if seed % 2 and len(suspects) >= 4:
        assert any("request shape among suspects" in evidence for evidence in found)


class _DatasketchSigner:
    @staticmethod
    def sign(shingles):
        minhash = MinHash(num_perm=32, seed=1)
        minhash.update_batch(shingles)
        return minhash


class _DatasketchIndex:
    def __init__(self, bands, rows):
        self.lsh, self.inserted = MinHashLSH(num_perm=32, params=(bands, rows)), 0

    def seen(self, minhash):
        return bool(self.lsh.query(minhash))

    def insert(self, minhash):
        self.inserted += 1
        self.lsh.insert(str(self.inserted), minhash)


def _log(path, exchanges=2100, accounts=60):
    """Chat users of near-duplicate prompts and campaigns of four accounts sharing a /24, a client and a
    template (so that linking links them), in time order."""
    rng = random.Random(5)
    prompts = _near_copies(rng, exchanges)
    with open(path, "wb") as out:
        for number in range(exchanges):
            index = rng.randrange(accounts) if number >= accounts else number
            campaign = index % 3 == 0
            group = index // 12
            prompt = (f"{_WORDS[group]} {_WORDS[group + 9]} problem: show your working. {prompts[number]}" if campaign
                      else prompts[number])
            request = {"model": "m", "messages": [{"role": "user", "content": prompt}],
                       "max_tokens": 2048 if campaign else rng.choice([256, None])}
            out.write(orjson.dumps({
                "id": f"ex_{number}", "ts": f"2026-11-02T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:"
                f"{number % 60:02d}.000Z", "account": f"acct_{index:03d}",
                "ip": f"10.{index // 12}.0.{index}" if campaign else f"172.16.{index}.1",
                "user_agent": f"python-httpx/0.{group}" if campaign else "curl/8.5", "endpoint": "/v1/chat/completions",
                "request": request, "status": 200,
                "response": {"usage": {"completion_tokens": rng.randint(20, 1500)}}}) + b"\n")


def test_a_scan_writes_the_verdicts_of_the_reference_implementations(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    _log(log)
    fast = scan(log, tmp_path / "fast.jsonl", fpr=1e-2, use_embeddings=False)
    monkeypatch.setattr(features, "_REASONING_SEARCH", features._REASONING)
    monkeypatch.setattr(features, "_GRADING_SEARCH", features._GRADING)
    monkeypatch.setattr(state, "_SIGNER", _DatasketchSigner)
    monkeypatch.setattr(state, "BandIndex", _DatasketchIndex)
    monkeypatch.setattr(engine, "link_by_keys", _pairs_linked_by_listing_every_pair)
    monkeypatch.setattr(engine.DetectionEngine, "_current_link_keys",
                        lambda self: {name: link_keys(account) for name, account in self.states.items()})
    reference = scan(log, tmp_path / "reference.jsonl", fpr=1e-2, use_embeddings=False)
    assert (tmp_path / "fast.jsonl").read_bytes() == (tmp_path / "reference.jsonl").read_bytes()
    assert sum(bool(verdict.cluster) for verdict in reference.verdicts) >= 8   # linking was exercised
    observed = engine.DetectionEngine(None)
    observed.observe_all(in_time_order(log))
    assert sum(account.near_duplicate for account in observed.states.values()) > 100    # so was the index


def _variants(rng: random.Random, pieces: list[str], alphabet: list[str]) -> str:
    """Text around a piece of a pattern, its letters' case changed, with the letters Unicode folds oddly."""
    piece = "".join(char.upper() if rng.random() < 0.3 else char for char in rng.choice(pieces))
    piece = piece.replace("s", rng.choice("sſS")).replace("k", rng.choice("kKK"))
    noise = lambda: "".join(rng.choices(alphabet, k=rng.randint(0, 5)))   # noqa: E731
    return noise() + piece + noise()


@pytest.mark.parametrize("name", ["_REASONING", "_GRADING"])
def test_the_faster_searches_find_what_the_patterns_find(name):
    slow = getattr(features, name)
    fast = getattr(features, f"{name}_SEARCH")
    assert fast is not slow and fast.pattern.startswith("(?=[")
    pieces = re.findall(r"[^\\|()?:\[\]*+]+", slow.pattern)
    alphabet = sorted(set("".join(pieces)) | set("".join(pieces).upper()) | set("ſKİı É#<>1234567890\n"))
    rng = random.Random(name)
    texts = [_variants(rng, pieces, alphabet) if rng.random() < 0.5 else "".join(rng.choices(alphabet, k=30))
             for _ in range(20_000)]
    found = [bool(slow.search(text)) for text in texts]
    assert [bool(fast.search(text)) for text in texts] == found
    assert 500 < sum(found) < len(found) - 500
