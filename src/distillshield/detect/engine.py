"""The detection engine: exchanges in, in time order, as if live; one verdict per account out.

Accounts are scored at checkpoints of their own request count (often early,
sparser later); an account is flagged the first time its score, or its
cluster's, reaches the threshold learned for the chosen false-positive rate.
Used by ``distillshield scan`` and, off the hot path, by the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from distillshield.detect.calibration import CAMPAIGN, Calibration, calibrate, peer_traits
from distillshield.detect.cluster import LinkKeys, link_by_keys, link_keys, suspects_of
from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.features import extract
from distillshield.detect.scoring import DetectorModel
from distillshield.detect.state import FEATURE_NAMES, FEATURES, AccountState, merge_states
from distillshield.records import Exchange

_FEATURE_HELP = {name: help_text for name, help_text, _ in FEATURES}
_TOPIC_INDEX = FEATURE_NAMES.index("topic_spread")


def is_checkpoint(count: int) -> bool:
    if count <= 50:
        return count % 5 == 0
    if count <= 300:
        return count % 25 == 0
    if count <= 1000:
        return count % 100 == 0
    return count % 500 == 0


@dataclass
class Verdict:
    account: str
    score: float
    flagged: bool
    flagged_after: int | None
    cluster: str | None
    reasons: list[dict]
    requests: int
    calibration: dict | None = None   # which population set this account's threshold (source, group, n_accounts)
    operator: str | None = None       # the operator's word on the account, when given: benign or campaign

    def to_dict(self) -> dict:
        out = {"account": self.account, "score": round(self.score, 4), "flagged": self.flagged,
               "flagged_after": self.flagged_after, "cluster": self.cluster, "reasons": self.reasons,
               "requests": self.requests}
        if self.calibration is not None:
            out["calibration"] = self.calibration
        if self.operator is not None:
            out["operator"] = self.operator
        return out


@dataclass(slots=True)
class _Checkpoint:
    state: AccountState
    count: int
    vector: object
    sampled: int        # prompts in the account's topic sample at the checkpoint


@dataclass
class _Track:
    best_score: float = float("-inf")
    own_best: float = float("-inf")       # the best of the account's own scores, its clusters' left out
    best_vector: object = None
    best_from_cluster: str | None = None
    flagged_after: int | None = None
    history: list = field(default_factory=list)   # (requests seen, score) at each scoring, the account's or its cluster's


class DetectionEngine:
    def __init__(self, model: DetectorModel | None, *, fpr: float = 1e-3, embedder: PromptEmbedder | None = None,
                 link_every: int = 2000, score_batch: int = 16, threshold: float | None = None):
        self.model = model
        self.fpr = fpr
        if threshold is None:
            threshold = model.threshold(fpr).value_ if model and len(model.benign_max_scores) else float("inf")
        self.threshold = threshold
        self.embedder = embedder
        self.link_every = link_every
        self.score_batch = score_batch
        self.states: dict[str, AccountState] = {}
        self.tracks: dict[str, _Track] = {}
        self.clusters: dict[str, list[str]] = {}
        self.cluster_of: dict[str, str] = {}
        self.seen = 0
        self._due: list[_Checkpoint] = []
        self._link_keys: dict[str, tuple[AccountState, int, int, LinkKeys | None]] = {}
        self.snapshots: list[tuple[tuple[str, ...], int, object]] | None = None  # training mode only
        self.calibration: Calibration | None = None
        self.feedback: dict[str, str] = {}

    # feeding ----------------------------------------------------------------------------------------
    def observe(self, exchange: Exchange) -> None:
        self.update_account(exchange)
        self.seen += 1
        if self.seen % self.link_every == 0:
            self.link()

    def update_account(self, exchange: Exchange) -> AccountState:
        """The exchange's account's state updated, and scored if at a checkpoint: all but the linking."""
        item = extract(exchange)
        state = self.states.get(item.account)
        if state is None:
            state = self.states[item.account] = AccountState(item.account)
            self.tracks[item.account] = _Track()
        state.update(item)
        if is_checkpoint(state.count):
            self._due.append(_Checkpoint(state, state.count, state.feature_vector(), len(state.embed_sample)))
            if len(self._due) >= self.score_batch or self.embedder is None:
                self.score_due()
        return state

    def observe_all(self, exchanges: Iterable[Exchange]) -> None:
        for exchange in exchanges:
            self.observe(exchange)

    # scoring ----------------------------------------------------------------------------------------
    def _embed(self, states: list[AccountState]) -> None:
        if self.embedder is None:
            return
        pending = [(state, state.pending_embeddings()) for state in states]
        texts = [text for _, texts in pending for text in texts]
        if not texts:
            return
        vectors = self.embedder.embed(texts)
        offset = 0
        for state, texts in pending:
            state.add_embeddings(vectors[offset:offset + len(texts)])
            offset += len(texts)

    def score_due(self) -> None:
        """Score the checkpoints waiting for their prompts' embeddings, each with its features as of then."""
        due, self._due = self._due, []
        self._embed(list({id(point.state): point.state for point in due}.values()))
        for point in due:
            # the topic sample only grows, so its first `sampled` embeddings are the ones the checkpoint saw
            point.vector[_TOPIC_INDEX] = point.state.topic_spread(point.sampled)
            if self.snapshots is not None:
                self.snapshots.append(((point.state.account,), point.count, point.vector))
            if self.model is not None:
                self._consider(point.state.account, self.model.scorer.score(point.vector), point.vector, None,
                               point.count)

    def _consider(self, account: str, score: float, vector, cluster: str | None, count: int | None = None) -> None:
        track = self.tracks[account]
        track.history.append((count or self.states[account].count, score))
        if cluster is None:
            track.own_best = max(track.own_best, score)
        if score > track.best_score:
            track.best_score, track.best_vector, track.best_from_cluster = score, vector, cluster
        if track.flagged_after is None and score >= self.threshold_of(account):
            track.flagged_after = count or self.states[account].count

    def link(self) -> None:
        """Re-link accounts into clusters and score each cluster's combined traffic."""
        self.score_due()
        self.clusters = {}
        self.cluster_of = {}
        keys = self._current_link_keys()
        suspects = suspects_of({name: track.own_best for name, track in self.tracks.items()}, keys)
        for index, (evidence, members) in enumerate(sorted(link_by_keys(keys, suspects).items(),
                                                          key=lambda item: item[1][0])):
            cluster_id = f"c_{index + 1}"
            self.clusters[cluster_id] = members
            for member in members:
                self.cluster_of[member] = cluster_id
            merged = merge_states(cluster_id, [self.states[m] for m in members])
            vector = merged.feature_vector()
            if self.snapshots is not None:
                self.snapshots.append((tuple(members), merged.count, vector))
            if self.model is None:
                continue
            score = self.model.scorer.score(vector)
            rule = evidence.split("|")[0]
            for member in members:
                self._consider(member, score, vector, f"{cluster_id} ({len(members)} accounts linked by {rule})")

    def _current_link_keys(self) -> dict[str, LinkKeys | None]:
        """Each account's ``link_keys``, recomputed only for the accounts that changed since the last link
        (a state changes by its requests and its topic embeddings, so those two counts date the keys)."""
        keys = {}
        for name, state in self.states.items():
            cached = self._link_keys.get(name)
            if cached is None or cached[0] is not state or cached[1:3] != (state.count, len(state.embeddings)):
                cached = self._link_keys[name] = (state, state.count, len(state.embeddings), link_keys(state))
            keys[name] = cached[3]
        return keys

    # calibration ------------------------------------------------------------------------------------
    def population(self) -> list[tuple[str, dict[str, str], float]]:
        """Every account, its peer traits and its best score so far: what a deployment calibration is drawn from."""
        out = []
        for name, state in self.states.items():
            score = self.tracks[name].best_score
            if score == float("-inf") and self.model is not None:   # not at a checkpoint yet: its score as of now
                score = self.model.scorer.score(state.feature_vector())
            out.append((name, peer_traits(state), score))
        return out

    def calibrate_on_population(self, fpr: float, *, source: str, **options) -> Calibration:
        """Thresholds from the accounts seen (see ``calibration.py``), applied to every account's history."""
        self.link()
        calibration = calibrate(self.population(), fpr, source=source, feedback=self.feedback, **options)
        self.apply_calibration(calibration)
        return calibration

    def apply_calibration(self, calibration: Calibration) -> None:
        """Each account's threshold from its peer group; ``flagged_after`` replayed from its score history."""
        self.calibration = calibration
        for name, track in self.tracks.items():
            threshold = calibration.threshold_for(peer_traits(self.states[name])).value
            track.flagged_after = next((count for count, score in track.history if score >= threshold), None)

    def threshold_of(self, account: str) -> float:
        if self.calibration is None:
            return self.threshold
        return self.calibration.threshold_for(peer_traits(self.states[account])).value

    # results ----------------------------------------------------------------------------------------
    def verdicts(self) -> list[Verdict]:
        self.link()
        if self.calibration is not None:   # the re-link may have raised cluster members' histories
            self.apply_calibration(self.calibration)
        return [self.verdict(name) for name in sorted(self.states)]

    def verdict(self, account: str) -> Verdict:
        state, track = self.states[account], self.tracks[account]
        if track.best_vector is None:
            vector = state.feature_vector()
            track.best_score, track.best_vector = self.model.scorer.score(vector), vector
        operator = self.feedback.get(account)
        flagged_after = track.flagged_after
        if operator is not None:   # the operator's word overrides the score: allow never flags, a campaign always
            flagged_after = None if operator != CAMPAIGN else (flagged_after or state.count)
        return Verdict(account=account, score=track.best_score, flagged=flagged_after is not None,
                       flagged_after=flagged_after, cluster=self.cluster_of.get(account),
                       reasons=self._reasons(state, track), requests=state.count,
                       calibration=self.calibration.describe(peer_traits(state)) if self.calibration else None,
                       operator=operator)

    def _reasons(self, state: AccountState, track: _Track) -> list[dict]:
        evidence = state.evidence()
        reasons = []
        if track.best_from_cluster:
            reasons.append({"signal": "campaign_cluster", "weight": None,
                            "evidence": f"scored with its cluster {track.best_from_cluster}"})
        for contribution in self.model.scorer.reasons(track.best_vector):
            reasons.append({"signal": contribution.feature, "weight": contribution.weight,
                            "evidence": f"{evidence[contribution.feature]} ({_FEATURE_HELP[contribution.feature]})"})
        return reasons
