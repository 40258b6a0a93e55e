"""Linking the accounts of one campaign: shared templates, shared address and client, similar prompt streams.

Each rule adds edges between accounts; connected components of two or more
accounts are clusters. Rules are deliberately strict (a template must
dominate both accounts' traffic, an address must come with the same client),
because ordinary users share generic phrasings and office networks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from distillshield.detect.state import AccountState

_MIN_REQUESTS = 5
_DOMINANT_TEMPLATE_SHARE = 0.3
_SIMILAR_STREAM_COSINE = 0.92
_SINGLE_TURN_FOR_STREAMS = 0.8
_MAX_ACCOUNTS_PER_ADDRESS = 500


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


def _dominant_keys(state: AccountState) -> Iterable[tuple[str, int]]:
    for kind, counter in (("prefix", state.prefixes), ("suffix", state.suffixes)):
        if counter:
            key, seen = counter.most_common(1)[0]
            if seen / state.count >= _DOMINANT_TEMPLATE_SHARE and seen >= 3:
                yield kind, key


def link_accounts(states: dict[str, AccountState]) -> dict[str, list[str]]:
    """Groups of linked accounts, keyed by the kinds of evidence that linked them."""
    eligible = {name: state for name, state in states.items() if state.count >= _MIN_REQUESTS}
    links = _UnionFind()
    evidence: dict[str, set[str]] = defaultdict(set)
    for rule, groups in (("shared template", _template_groups(eligible)),
                         ("shared address and client", _address_groups(eligible)),
                         ("similar prompt streams", _stream_groups(eligible))):
        for group in groups:
            for other in group[1:]:
                links.union(group[0], other)
            for member in group:
                evidence[member].add(rule)
    components: dict[str, list[str]] = defaultdict(list)
    for name in eligible:
        components[links.find(name)].append(name)
    clusters = {}
    for members in components.values():
        if len(members) >= 2:
            rules = sorted(set().union(*(evidence[m] for m in members)))
            clusters[", ".join(rules) + "|" + min(members)] = sorted(members)
    return clusters


def _template_groups(states: dict[str, AccountState]) -> list[list[str]]:
    buckets: dict[tuple, list[str]] = defaultdict(list)
    for name, state in states.items():
        for key in _dominant_keys(state):
            buckets[key].append(name)
    return [members for members in buckets.values() if len(members) >= 2]


def _address_groups(states: dict[str, AccountState]) -> list[list[str]]:
    buckets: dict[tuple, list[str]] = defaultdict(list)
    for name, state in states.items():
        agent = state.user_agents.most_common(1)[0][0] if state.user_agents else None
        for address in state.ips:
            buckets[(address, agent)].append(name)
    return [members for members in buckets.values() if 2 <= len(members) <= _MAX_ACCOUNTS_PER_ADDRESS]


def _stream_groups(states: dict[str, AccountState]) -> list[list[str]]:
    names, centres = [], []
    for name, state in states.items():
        if len(state.embeddings) >= 4 and state.single_turn / state.count >= _SINGLE_TURN_FOR_STREAMS:
            centre = np.mean(state.embeddings, axis=0)
            names.append(name)
            centres.append(centre / (np.linalg.norm(centre) or 1.0))
    if len(names) < 2:
        return []
    matrix = np.asarray(centres)
    similar = matrix @ matrix.T >= _SIMILAR_STREAM_COSINE
    return [[names[i], names[j]] for i, j in zip(*np.nonzero(np.triu(similar, k=1)))]
