"""Linking the accounts of one campaign: shared templates, shared address and client, similar prompt streams.

Each rule adds edges between accounts; connected components of two or more
accounts are clusters. Rules are deliberately strict (a template must
dominate both accounts' traffic, an address must come with the same client),
because ordinary users share generic phrasings and office networks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """What linking reads of one account: all ``link_accounts`` needs, small enough to ship between machines."""

    templates: tuple[tuple[str, int], ...]   # its dominant opening and closing skeletons
    agent: str | None                        # its most common client
    addresses: tuple                         # every address it was seen from (first seen first)
    stream_centre: tuple[float, ...] | None  # unit centre of its prompts' embeddings, for a single-turn stream


def link_keys(state: AccountState) -> LinkKeys | None:
    """The account's ``LinkKeys``, or None while it has too few requests to be linked."""
    if state.count < _MIN_REQUESTS:
        return None
    centre = None
    if len(state.embeddings) >= 4 and state.single_turn / state.count >= _SINGLE_TURN_FOR_STREAMS:
        mean = np.mean(state.embeddings, axis=0)
        centre = tuple((mean / (np.linalg.norm(mean) or 1.0)).tolist())
    agent = state.user_agents.most_common(1)[0][0] if state.user_agents else None
    return LinkKeys(tuple(_dominant_keys(state)), agent, tuple(state.ips), centre)


def link_accounts(states: dict[str, AccountState]) -> dict[str, list[str]]:
    """Groups of linked accounts, keyed by the kinds of evidence that linked them."""
    return link_by_keys({name: link_keys(state) for name, state in states.items()})


def link_by_keys(keys: dict[str, LinkKeys | None]) -> dict[str, list[str]]:
    """``link_accounts`` from each account's ``LinkKeys`` (None: not eligible); the result does not depend
    on the accounts' order, so partitions' keys can be gathered in any order."""
    eligible = {name: found for name, found in keys.items() if found is not None}
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


def _template_groups(keys: dict[str, LinkKeys]) -> list[list[str]]:
    buckets: dict[tuple, list[str]] = defaultdict(list)
    for name, found in keys.items():
        for key in found.templates:
            buckets[key].append(name)
    return [members for members in buckets.values() if len(members) >= 2]


def _address_groups(keys: dict[str, LinkKeys]) -> list[list[str]]:
    buckets: dict[tuple, list[str]] = defaultdict(list)
    for name, found in keys.items():
        for address in found.addresses:
            buckets[(address, found.agent)].append(name)
    return [members for members in buckets.values() if 2 <= len(members) <= _MAX_ACCOUNTS_PER_ADDRESS]


def _stream_groups(keys: dict[str, LinkKeys]) -> list[list[str]]:
    names = sorted(name for name, found in keys.items() if found.stream_centre is not None)
    if len(names) < 2:
        return []
    matrix = np.asarray([keys[name].stream_centre for name in names])
    similar = matrix @ matrix.T >= _SIMILAR_STREAM_COSINE
    return [[names[i], names[j]] for i, j in zip(*np.nonzero(np.triu(similar, k=1)))]
