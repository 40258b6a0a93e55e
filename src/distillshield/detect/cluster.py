"""Linking the accounts of one campaign: two accounts are linked when they agree on two kinds of evidence.

The kinds are a network (a shared /24 or /48 address range), a client (the same agent string, body
fields and sampling settings), a template (the same dominant opening or closing of prompts that go on
past it) and a prompt stream (near-identical topic centres). One kind alone is what ordinary customers
share all the time (an office network, a popular SDK, a common instruction), so it never links; and a
value shared by a large part of the population (a campus NAT, a default client) is no evidence at all.
Linked pairs form clusters by connected components.

A campaign large enough to be a real share of the population shares nothing rare, and one that rotates
addresses and agent strings shares only what its harness fixes. So among *suspects* (the top
``SUSPECT_SHARE`` of accounts by their own scores) one kind is enough: a client, a template or a request
shape (the body's fields and the values that fix the answer's form, less agent and temperature) held by
two suspects or more, when suspects are at least ``SUSPECT_MAJORITY`` of the accounts holding it, however
many those are. Networks never link suspects alone (a hosting provider's /24 serves unrelated customers),
and a value most of whose holders are unsuspected (a popular SDK, an office's template) links no one.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from distillshield.detect.features import network_of
from distillshield.detect.state import AccountState

_MIN_REQUESTS = 5
_DOMINANT_SHARE = 0.3
_DOMINANT_MIN = 3
_SIMILAR_STREAM_COSINE = 0.92
_SINGLE_TURN_FOR_STREAMS = 0.8
_RARE_SHARE = 0.03           # a value shared by more than this share of accounts says nothing of who sent it
_RARE_FLOOR = 10             # ... but any population may have a campaign this large
_EVIDENCE_NEEDED = 2
SUSPECT_SHARE = 0.03         # the top share of accounts, by their own scores, that one kind of evidence may link
SUSPECT_MAJORITY = 0.5       # ... when at least this share of a value's holders are suspects


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, first: str, second: str) -> None:
        root_first, root_second = self.find(first), self.find(second)
        if root_first != root_second:
            self.parent[max(root_first, root_second)] = min(root_first, root_second)


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """What linking reads of one account: all ``link_by_keys`` needs, small enough to ship between machines."""

    networks: tuple                          # the /24 (or /48) ranges it was seen from
    client: int | None                       # its dominant client fingerprint
    agent: str | None                        # its most common agent string (for a person to read)
    templates: tuple[tuple[str, int], ...]   # its dominant opening and closing skeletons
    stream_centre: tuple[float, ...] | None  # unit centre of its prompts' embeddings, for a single-turn stream
    shape: int | None = None                 # its dominant request shape (features.shape_key)


def link_keys(state: AccountState) -> LinkKeys | None:
    """The account's ``LinkKeys``, or None while it has too few requests to be linked."""
    if state.count < _MIN_REQUESTS:
        return None
    centre = None
    if len(state.embeddings) >= 4 and state.single_turn / state.count >= _SINGLE_TURN_FOR_STREAMS:
        mean = np.mean(state.embeddings, axis=0)
        centre = tuple((mean / (np.linalg.norm(mean) or 1.0)).tolist())
    networks = sorted({net for net in map(network_of, state.ips) if net is not None})
    templates = [("prefix", key) for key in _dominant(state.template_prefixes, state.count)]
    templates += [("suffix", key) for key in _dominant(state.template_suffixes, state.count)]
    return LinkKeys(tuple(networks), next(iter(_dominant(state.clients, state.count)), None),
                    state.user_agents.most_common(1)[0][0] if state.user_agents else None, tuple(templates), centre,
                    next(iter(_dominant(state.shapes, state.count)), None))


def _dominant(counter: Counter, count: int) -> Iterable:
    # Each other key was counted at least once, so the top count is at most count - (keys - 1): when even
    # that is short of a dominant share, the O(keys) search for the top key is skipped (same answer).
    if counter and (count - len(counter) + 1) / count >= _DOMINANT_SHARE:
        key, seen = counter.most_common(1)[0]
        if seen / count >= _DOMINANT_SHARE and seen >= _DOMINANT_MIN:
            yield key


def link_accounts(states: dict[str, AccountState]) -> dict[str, list[str]]:
    """Groups of linked accounts, keyed by the kinds of evidence that linked them."""
    return link_by_keys({name: link_keys(state) for name, state in states.items()})


def suspects_of(scores: dict[str, float], keys: dict[str, LinkKeys | None]) -> frozenset[str]:
    """The top ``SUSPECT_SHARE`` of the accounts eligible for linking, by their own best scores so far (ties
    broken by name, so any order of gathering gives the same set; unscored accounts are never suspects). A
    link needs two suspects, so a population of fewer than 2/share eligible accounts (67 at 3%) links none
    this way."""
    ranked = sorted((-scores[name], name) for name, found in keys.items()
                    if found is not None and math.isfinite(scores.get(name, -math.inf)))
    eligible = sum(found is not None for found in keys.values())
    return frozenset(name for _, name in ranked[:int(SUSPECT_SHARE * eligible)])


def link_by_keys(keys: dict[str, LinkKeys | None], suspects: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """``link_accounts`` from each account's ``LinkKeys`` (None: not eligible) and the ``suspects``
    (``suspects_of``); the result does not depend on the accounts' order, so partitions' keys can be
    gathered in any order."""
    links = _UnionFind()
    evidence: dict[str, set[str]] = defaultdict(set)
    found = _linking_evidence(keys)
    for pair, kinds in _suspect_evidence(keys, suspects).items():
        found.setdefault(pair, set()).update(kinds)
    for (first, second), kinds in sorted(found.items()):
        links.union(first, second)
        evidence[first] |= kinds
        evidence[second] |= kinds
    components: dict[str, list[str]] = defaultdict(list)
    for name in evidence:
        components[links.find(name)].append(name)
    return {"shared " + ", ".join(sorted(set().union(*(evidence[m] for m in members)))) + "|" + min(members):
            sorted(members) for members in components.values()}


def _linking_evidence(keys: dict[str, LinkKeys | None]) -> dict[tuple[str, str], set[str]]:
    """The pairs of ``shared_evidence_by_keys`` that share ``_EVIDENCE_NEEDED`` kinds or more, with the kinds.

    Found without listing every pair that shares one network: a pair needing two kinds shares at least one
    other than a network, so the candidates are the pairs of the other kinds' buckets (small), and a
    candidate's networks are compared directly. (A /24 of 256 ordinary customers alone is 32,640 pairs,
    and linking runs every 2,000 exchanges.)"""
    if _EVIDENCE_NEEDED < 2:
        return {pair: set(kinds) for pair, kinds in shared_evidence_by_keys(keys).items()}
    eligible = {name: found for name, found in keys.items() if found is not None}
    held: dict[str, set[tuple]] = defaultdict(set)   # each account's buckets that count as evidence
    streams = set(_stream_groups(eligible))
    candidates = set(streams)
    for bucket, members in _evidence_buckets(eligible).items():
        for name in members:
            held[name].add(bucket)
        if bucket[0] != "network":
            candidates.update(combinations(sorted(members), 2))
    found = {}
    for first, second in candidates:
        kinds = {kind for kind, _ in held[first] & held[second]}
        if (first, second) in streams:
            kinds.add("prompt stream")
        if len(kinds) >= _EVIDENCE_NEEDED:
            found[(first, second)] = kinds
    return found


def _suspect_evidence(keys: dict[str, LinkKeys | None], suspects: frozenset[str]) -> dict[tuple[str, str], set[str]]:
    """Links among suspects by one kind of evidence (see the module's docstring), as a star over each
    value's suspects: linking needs their component, not every pair (a swarm of a thousand is 500k pairs)."""
    if len(suspects) < 2:
        return {}
    holders = _holders(keys, ("client", "template", "request shape"))
    links: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (kind, _), members in holders.items():
        held = sorted(name for name in members if name in suspects)
        if len(held) >= 2 and len(held) >= SUSPECT_MAJORITY * len(members):
            for other in held[1:]:
                links[(held[0], other)].add(f"{kind} among suspects")
    return links


def _holders(keys: dict[str, LinkKeys | None], kinds: tuple[str, ...]) -> dict[tuple, list[str]]:
    """(kind, value) -> the accounts holding that value, for each of ``kinds`` (accounts in ``keys``' order)."""
    holders: dict[tuple, list[str]] = defaultdict(list)
    for name, found in keys.items():
        if found is None:
            continue
        for kind in kinds:
            for value in _values(found, kind):
                holders[(kind, value)].append(name)
    return holders


def _values(found: LinkKeys, kind: str) -> tuple:
    if kind == "network":
        return found.networks
    if kind == "template":
        return found.templates
    value = found.client if kind == "client" else found.shape
    return (value,) if value else ()


def _evidence_buckets(eligible: dict[str, LinkKeys]) -> dict[tuple, list[str]]:
    """(kind, value) -> the accounts holding it, for the values rare enough to be evidence."""
    largest_bucket = max(_RARE_FLOOR, int(_RARE_SHARE * len(eligible)))
    buckets = _holders(eligible, ("network", "client", "template"))
    return {bucket: members for bucket, members in buckets.items() if 2 <= len(members) <= largest_bucket}


def shared_evidence(states: dict[str, AccountState]) -> dict[tuple[str, str], dict[str, str]]:
    """For each pair of accounts that share anything, what they share: kind of evidence -> what a person can
    check (the network, the client's agent string, ...), and the request shape (which links suspects only:
    the accounts passed are a campaign's)."""
    keys = {name: link_keys(state) for name, state in states.items()}
    shared = shared_evidence_by_keys(keys)
    for members in _holders(keys, ("request shape",)).values():
        for first, second in combinations(sorted(members), 2):
            shared.setdefault((first, second), {})["request shape"] = \
                "request shape (the same body fields, max_tokens and answer format)"
    return shared


def shared_evidence_by_keys(keys: dict[str, LinkKeys | None]) -> dict[tuple[str, str], dict[str, str]]:
    eligible = {name: found for name, found in keys.items() if found is not None}
    shared: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for (kind, value), members in _evidence_buckets(eligible).items():
        for first, second in combinations(sorted(members), 2):
            shared[(first, second)].setdefault(kind, _described(kind, value, eligible[first]))
    for first, second in _stream_groups(eligible):
        shared[(first, second)].setdefault("prompt stream", "near-identical prompt topics")
    return dict(shared)


def _described(kind: str, value, found: LinkKeys) -> str:
    if kind == "network":
        return f"network {value}"
    if kind == "client":
        return f"client {found.agent or '?'} (same body fields and sampling)"
    return f"prompt template (the same {value[0]})"


def _stream_groups(keys: dict[str, LinkKeys]) -> list[tuple[str, str]]:
    names = sorted(name for name, found in keys.items() if found.stream_centre is not None)
    if len(names) < 2:
        return []
    matrix = np.asarray([keys[name].stream_centre for name in names])
    similar = matrix @ matrix.T >= _SIMILAR_STREAM_COSINE
    return [(names[i], names[j]) for i, j in zip(*np.nonzero(np.triu(similar, k=1)))]
