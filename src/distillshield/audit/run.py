"""``run_audit``: every test on one suspect, and the verdict a third party can check.

Read top to bottom:

1. the suspect answers prompts we served (closed mode) and, where it reads our tokens, predicts the
   next token of the answers we served and of any reading texts given (open mode);
2. each mode's (context, token) pairs are collected by the rules of ``radioactivity`` and tested against
   every account key (Holm-adjusted over all keys): the mode's p-value is its best account's adjusted
   p-value, the test of "the suspect carries any of these keys";
3. the canary test looks for the canaries we served in the closed-mode answers, and in open mode the
   suspect's likelihood ranks their words among random ones; with reference models, the fingerprint tests
   compare the suspect with them (``fingerprint``);
4. the tests are combined by Bonferroni (the smallest p-value times the number of tests), valid whatever
   the dependence between them; accounts whose adjusted p-value is at most ``alpha`` in a radioactivity
   or canary test are named;
5. before any of it, the positive control scores the served answers with their accounts' keys (``controls``):
   if they do not carry the mark, no test could have found it. After, each radioactivity test's power says
   what it would have taken to be found, any negative controls (models never trained on our answers) are
   audited the same way, and the outcome is evidence, no evidence, or inconclusive.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, fields

from distillshield.audit.controls import (NegativeControl, PositiveControl, PowerEstimate, decide, positive_control,
                                          power_of)
from distillshield.audit.evidence import ReadingText, ServedData
from distillshield.audit.fingerprint import (IDENTITY_PROBES, agreement_test, canary_rank_test, canary_test,
                                            identity_test)
from distillshield.audit.radioactivity import PairTape, attribute_pairs, contexts_of, pairs_in, score_pairs, trajectory
from distillshield.audit.suspects import Sampling, Suspect
from distillshield.errors import ConfigError
from distillshield.records import check_fields, format_ts, option
from distillshield.watermark import Scheme, tokenize
from distillshield.watermark.canary import (PHRASE_WORDS, SYLLABLES, WORD_SYLLABLES, canary_phrase,
                                           candidate_phrases)

MODES = ("open", "closed")
NULL_RADIOACTIVITY = ("the suspect's next-token choices do not depend on the key (it was never trained on text "
                      "marked with it)")


@dataclass
class AuditConfig:
    modes: list[str] = option(list(MODES), "open: read texts through the suspect's weights; closed: prompt it.",
                              choices=MODES)
    prompts: int = option(64, "Closed mode: served prompts the suspect answers.", bounds=(1, None))
    reading: int = option(256, "Open mode: served answers the suspect reads (and at most this many reading texts "
                               "given).", bounds=(1, None), flag="--reading-texts")
    read_served: bool = option(True, "Open mode reads the answers we served, not only the reading texts given "
                                     "(--no-served-reading: only those).", flag="--no-served-reading")
    sampling: Sampling = field(default_factory=Sampling)
    use_filter: bool = option(True, "Score only contexts found in the served answers (--no-filter: every context).",
                              flag="--no-filter")
    alpha: float = option(1e-3, "The level at which accounts are named (adjusted p-value at most this).",
                          bounds=(0.0, 1.0))
    identity_names: list[str] = option([], "A name of our model for the identity test (repeatable).",
                                       flag="--identity")
    canaries: bool = option(True, "Closed mode: look for the tested accounts' canaries in the suspect's answers "
                                  "(--no-canaries: leave the test out).", flag="--no-canaries")
    seed: int = option(0, "Which prompts, and the suspect's sampling.")
    top_accounts: int = option(10, "Accounts listed per test in the verdict.", bounds=(1, None))
    adequate_share: float = option(0.25, "\"No evidence\" needs a test that would find a suspect with this share of "
                                         "its choices marked (probability 0.9); with less power the outcome is "
                                         "inconclusive.", bounds=(0.0, 1.0))

    def validate(self) -> AuditConfig:
        if not self.modes:
            raise ConfigError(f"modes must be among {', '.join(MODES)}, got {self.modes!r}")
        check_fields(self)
        if self.alpha in (0, 1):
            raise ConfigError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        if self.adequate_share == 0:
            raise ConfigError(f"adequate_share must be in (0, 1], got {self.adequate_share!r}")
        return self


@dataclass
class Verdict:
    """What ``run_audit`` found. ``to_json()`` is ``verdict.json``'s content (the keys reports, the console and
    the lab read); ``to_dict()`` adds ``curves``, the report's plots. ``verdict["outcome"]`` reads the same
    shape, for readers of the file's form."""
    question: str
    outcome: str                                     # evidence, no_evidence or inconclusive
    conclusion: str                                  # the headline sentence
    outcome_reasons: list[str]
    positive_control: PositiveControl
    power: list[PowerEstimate]
    negative_controls: list[NegativeControl]
    created: str
    suspect: dict
    scheme: str
    scheme_source: str
    key: dict
    data: dict
    accounts_tested: int
    config: AuditConfig
    tests: list[dict]                                # one per test: name, p_value, tokens_scored, null, ...
    combined_p_value: float
    combination: str
    attributed_accounts: list[dict]
    alpha: float
    seconds: float
    curves: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "curves"}
        data.update(positive_control=self.positive_control.to_json(), power=[p.to_json() for p in self.power],
                    negative_controls=[n.to_json() for n in self.negative_controls], config=asdict(self.config))
        return data

    def to_dict(self) -> dict:
        return {**self.to_json(), "curves": self.curves}

    def __getitem__(self, name: str):
        return self.to_dict()[name]


def run_audit(suspect: Suspect, *, keys: dict[str, list[bytes]], scheme: Scheme, tokenizer, served: ServedData,
              config: AuditConfig | None = None, reading: list[ReadingText] | None = None,
              references: dict[str, Suspect] | None = None, key_info: dict | None = None,
              probes: list[list[dict]] | None = None, negative_controls: dict[str, Suspect] | None = None,
              scheme_source: str = "", control: PositiveControl | None = None, say=print,
              on_progress=None) -> Verdict:
    """The verdict (``Verdict.to_json()`` is ``verdict.json``'s content).

    Closed mode asks ``probes`` (conversations), or by default ``config.prompts`` of the served prompts.
    ``negative_controls``: models never trained on our answers, audited on the same data and keys.
    ``key_info["key_ids"]`` (the key file's versions' ids) lets a failed positive control name a wrong key file.
    ``on_progress(done, total, stage)`` hears of each step done: a mode, the fingerprint tests, a negative control.
    """
    config = (config or AuditConfig()).validate()
    if not keys:
        raise ConfigError("no account keys to test: name the accounts (--accounts) whose keys to test")
    references = references or {}
    key_info = key_info or {}
    if control is None:
        control = positive_control(served, keys, scheme, tokenizer, level=config.alpha, scheme_source=scheme_source,
                                   key_ids=key_info.get("key_ids"))
        say(control.sentence)
    rng = random.Random(config.seed)
    began = time.time()
    own_contexts = _contexts_by_account(served, tokenizer, scheme.context_width) if config.use_filter else {}
    served_canaries = _served_canaries(keys, served) if config.canaries else {}
    context_filter = set().union(*own_contexts.values()) if config.use_filter else None
    picked = rng.sample(range(len(served.items)), min(config.prompts, len(served.items)))
    tests, curves, answers = [], {}, []
    steps_done, steps = [], len(config.modes) + bool(references) + len(negative_controls or {})

    def step_done() -> None:
        steps_done.append(True)
        if on_progress:
            on_progress(len(steps_done), steps, "audit steps")

    def add_mode(name: str, tape: PairTape, data: str) -> None:
        test, curves[name] = _radioactivity_test(name, tape, keys, scheme, config, data, own_contexts)
        tests.extend([test, *_pooled_test(name, tape, keys, served, scheme, own_contexts)])

    if "closed" in config.modes:
        prompts = probes[:config.prompts] if probes else [served.items[i].messages for i in picked]
        say(f"closed mode: the suspect answers {len(prompts)} prompts")
        answer_texts = suspect.answer(prompts, config.sampling)
        answers = [tokenize(a, tokenizer) for a in answer_texts]
        tape = PairTape(scheme.context_width, context_filter)
        for messages, answer_ids in zip(prompts, answers):
            tape.offer_generated(tokenize(_conversation_text(messages), tokenizer), answer_ids)
        asked = "prompts given" if probes else "the prompts we served"
        add_mode("radioactivity-closed", tape, f"the suspect answered {len(prompts)} of {asked}")
        if config.canaries:
            tests.append(_canary(suspect, keys, served, served_canaries, answer_texts, config, say))
        step_done()

    if "open" in config.modes:
        if not suspect.reads_our_tokens():
            say("open mode skipped: the suspect does not use our tokenizer (or its weights are not open)")
        else:
            texts = _reading_texts(reading, served, config, rng)
            say(f"open mode: the suspect reads {len(texts)} texts")
            given = min(len(reading or []), config.reading)
            items = [(t.messages, tokenize(t.text, tokenizer)) for t in texts]
            predictions = suspect.predict(items)
            tape = PairTape(scheme.context_width, context_filter)
            for (messages, ids), predicted in zip(items, predictions):
                tape.offer_predictions(ids, predicted, tokenize(_conversation_text(messages), tokenizer))
            add_mode("radioactivity-open", tape, f"the suspect predicted every next token of {len(texts) - given} "
                                                 f"of the answers we served and {given} reading texts given")
            if config.canaries and hasattr(suspect, "continuation_logprobs"):
                tests.extend(_canary_open(suspect, served_canaries, tokenizer, config.seed, say))
        step_done()

    if references:
        tests += _fingerprint_tests(suspect, references, served, picked, answers if not probes else [], tokenizer,
                                    config, say)
        step_done()

    combined = min(1.0, len(tests) * min((t["p_value"] for t in tests), default=1.0))
    attributed = _attributed(tests, config.alpha)
    power = [power_of(t["name"], t["power_pairs"], config.alpha / len(tests) / t.get("keys_tested", 1), scheme, control)
             for t in tests if "power_pairs" in t]
    negatives = []
    for name, model in (negative_controls or {}).items():
        say(f"negative control: {name}")
        run = run_audit(model, keys=keys, scheme=scheme, tokenizer=tokenizer, served=served, config=config,
                        reading=reading, probes=probes, key_info=key_info, control=control, say=lambda _: None)
        negatives.append(NegativeControl(name, run.suspect, run.combined_p_value,
                                         {t["name"]: t["p_value"] for t in run.tests}))
        step_done()
    # the positive control speaks for the watermark's tests only: the canary and fingerprint tests stand alone
    unmarked = [t for t in tests if not t["name"].startswith("radioactivity")]
    unmarked_combined = min(1.0, len(tests) * min((t["p_value"] for t in unmarked), default=1.0))
    outcome = decide(alpha=config.alpha, combined=combined, attributed=attributed, control=control, power=power,
                     negatives=negatives, adequate_share=config.adequate_share,
                     unmarked_combined=unmarked_combined, unmarked_attributed=_attributed(unmarked, config.alpha))
    if outcome.outcome == "evidence" and not control.passed:
        attributed = _attributed(unmarked, config.alpha)
    return Verdict(
        question="Was the suspect model trained on answers our gateway served (marked with our account keys)?",
        outcome=outcome.outcome, conclusion=outcome.headline, outcome_reasons=outcome.reasons,
        positive_control=control, power=power, negative_controls=negatives, created=format_ts(time.time()),
        suspect=suspect.describe(), scheme=scheme.spec, scheme_source=control.scheme_source, key=key_info,
        data=served.describe(), accounts_tested=len(keys), config=config, tests=tests, combined_p_value=combined,
        combination="Bonferroni: the number of tests times the smallest p-value (valid under any dependence)",
        attributed_accounts=attributed if outcome.outcome == "evidence" else [], alpha=config.alpha,
        seconds=round(time.time() - began, 1), curves=curves)


def _contexts_by_account(served: ServedData, tokenizer, width: int) -> dict[str, set[tuple[int, ...]]]:
    answers: dict[str, list[list[int]]] = {}
    for item in served.items:
        answers.setdefault(item.account, []).append(tokenize(item.answer, tokenizer))
    return {account: contexts_of(texts, width) for account, texts in answers.items()}


def _radioactivity_test(name: str, tape: PairTape, keys, scheme: Scheme, config: AuditConfig, data: str,
                        own_contexts: dict[str, set]):
    pairs = tape.scored()
    attribution = attribute_pairs(pairs, keys, scheme, own_contexts)
    account, adjusted, raw, version = attribution.best
    ranked = [{"account": a, "p_value": p, "raw_p_value": r.p_value, "score": round(r.score, 3), "key_version": v,
               "statistic": r.statistic, "tokens_scored": r.tokens_scored}
              for a, p, r, v in attribution.ranked[:config.top_accounts]]
    test = {
        "name": name, "p_value": adjusted, "tokens_scored": raw.tokens_scored, "null": NULL_RADIOACTIVITY,
        "method": (f"{scheme.spec}: the exact tail of the scheme's statistic over distinct (context, token) pairs; "
                   f"pairs the suspect had seen in its input left out"
                   + ("; only contexts found in our served answers, each account's key on the contexts of the "
                      "answers served to that account" if tape.context_filter is not None else "")
                   + f"; Holm-adjusted over {attribution.keys_tested} keys"),
        "data": data, "choices_seen": tape.seen, "account": account, "raw_p_value": raw.p_value,
        "statistic": raw.statistic, "score": round(raw.score, 3), "attribution": ranked,
        "keys_tested": attribution.keys_tested,
        # power: the pairs of the data account with the most (the best chance any one key had)
        "power_pairs": max((r.tokens_scored for a, _, r, _ in attribution.ranked if a in own_contexts),
                           default=raw.tokens_scored),
    }
    others = [(a, keys[a][v]) for a, _, _, v in attribution.ranked[1:6]]
    curve = {"best": trajectory(pairs_in(pairs, own_contexts.get(account)), keys[account][version], scheme),
             "others": [trajectory(pairs_in(pairs, own_contexts.get(a)), key, scheme) for a, key in others],
             "account": account}
    return test, curve


def _pooled_test(name: str, tape: PairTape, keys, served: ServedData, scheme: Scheme,
                 own_contexts: dict[str, set]) -> list[dict]:
    """One test over the keys of every account in the served data together: a campaign of many accounts
    splits what its student learned among their keys, and no one key may stand out.

    Each account's key is scored on the pairs in its own contexts. Different keys give independent values
    to the same pairs, so under the null the (key, pair) values summed are independent: the exact tail
    over their number still applies.
    """
    accounts = [a for a in served.accounts if a in keys]
    pairs = tape.scored()
    if len(accounts) < 2 or not pairs:
        return []
    scores = [score_pairs(pairs_in(pairs, own_contexts.get(a)), keys[a][0], scheme) for a in accounts]
    statistic = sum(score.statistic for score in scores)
    values = sum(score.tokens_scored for score in scores)
    if not values:
        return []
    result = scheme.score(statistic, values)
    return [{"name": f"{name}-pooled", "p_value": result.p_value, "tokens_scored": values,
             "null": NULL_RADIOACTIVITY.replace("the key", "any of the keys"),
             "method": f"{scheme.spec}: the statistic summed over the current keys of the {len(accounts)} accounts in "
                       f"the served data, each on the pairs in its own account's contexts; exact tail over the "
                       f"{values} (key, pair) values", "pairs": len(pairs),
             "accounts": accounts, "statistic": statistic, "score": round(result.score, 3), "power_pairs": values}]


def _reading_texts(reading, served: ServedData, config: AuditConfig, rng: random.Random) -> list[ReadingText]:
    """The answers we served (a sample of ``config.reading``), then the reading texts given.

    A student that learned our answers predicts their marked tokens when it reads them, and that is where the
    evidence is strongest (Sander et al.'s supervised setting). A clean model's prediction depends only on
    what it has read, so the keyed value of its (context, prediction) pair is independent of it unless
    the pair occurred before, and the tape leaves such pairs out."""
    picked = rng.sample(served.items, min(config.reading, len(served.items))) if config.read_served else []
    texts = [ReadingText(item.messages, item.answer) for item in picked] + list(reading or [])[:config.reading]
    if not texts:
        raise ConfigError("open mode has nothing to read: give reading texts or let it read the served answers")
    return texts


def _canary(suspect, keys, served: ServedData, served_canaries: dict, answer_texts: list[str], config: AuditConfig,
            say) -> dict:
    """The canary test on the closed mode's answers and on the answers to the *canary prompts*: the served
    prompts whose answers carried a tested account's canary, where a student learned to write it.

    Choosing those prompts looks at the served answers only, never at the suspect's, so a model that never
    saw the canaries answers them as independently of the phrases as any other prompt."""
    # the canaries we served are the ones a student can have learned: test those alone when there are any
    # (fewer hypotheses, a smaller Holm correction); which they are depends on the served data only
    exposed: dict[str, list[str]] = {}
    for (account, _version), (phrase, _carriers) in served_canaries.items():
        exposed.setdefault(account, []).append(phrase)
    carrying = {id(item) for _phrase, carriers in served_canaries.values() for item in carriers}
    canary_prompts = [item.messages for item in served.items if id(item) in carrying]
    if canary_prompts:
        canary_prompts = canary_prompts[:config.prompts]
        say(f"canary: the suspect answers the {len(canary_prompts)} prompts whose answers carried a canary")
        answer_texts = answer_texts + suspect.answer(canary_prompts, config.sampling)
    canaries = exposed or {account: [canary_phrase(key) for key in versions] for account, versions in keys.items()}
    test = _as_test(canary_test(answer_texts, canaries))
    test["canary_prompts"] = len(canary_prompts)
    test["tested"] = "the canaries served in the data" if exposed else "every key's canary (none was served in the data)"
    return test


CANARY_CONTEXTS = 4     # served answers per canary whose note the open canary test reads
CANARY_DECOYS = 69      # random words each canary word is ranked against: ranks 1 to 70
CANARY_OPEN_LIMIT = 16  # canaries the open test scores (those served most often)


def _canary_open(suspect, served_canaries: dict, tokenizer, seed: int, say) -> list[dict]:
    """The open canary test: for every canary served in the data, the suspect's rank of each of its three
    words among ``CANARY_DECOYS`` random words, by its likelihood of the note that ended a served answer
    carrying it (up to ``CANARY_CONTEXTS`` of them, log-likelihoods summed), given the words before. Only
    canaries that were served are tested: which ones depends on the served data alone, never on the suspect."""
    carriers_of = {f"{account}\0{version}": found for (account, version), found in served_canaries.items()}
    # each canary costs the suspect ~840 scored notes: the most served ones first, up to CANARY_OPEN_LIMIT
    tested = sorted(carriers_of, key=lambda name: -len(carriers_of[name][1]))[:CANARY_OPEN_LIMIT]
    decoys = _decoy_words(seed)
    ranks = {name: _word_ranks(suspect, carriers_of[name][0], carriers_of[name][1][:CANARY_CONTEXTS], tokenizer, decoys)
             for name in tested}
    if not ranks:
        return []
    say(f"canary (open): the suspect ranked the words of {len(ranks)} canaries served")
    return [_as_test(canary_rank_test(ranks, CANARY_DECOYS + 1))]


def _served_canaries(keys, served: ServedData) -> dict[tuple[str, int], tuple[str, list]]:
    """(account, key version) -> (its canary, the served items whose answers carried it), for the canaries
    found in the served data."""
    written = [candidate_phrases([item.answer]) for item in served.items]
    found = {}
    for account, versions in keys.items():
        for version, key in enumerate(versions):
            phrase = canary_phrase(key)
            carriers = [item for item, phrases in zip(served.items, written) if phrase in phrases]
            if carriers:
                found[(account, version)] = (phrase, carriers)
    return found


def _word_ranks(suspect, phrase: str, carriers, tokenizer, decoys: list[list[str]]) -> list[int]:
    """For each word of the canary, its rank among itself and that word's decoys by the suspect's likelihood
    of the note (the words before it, then the candidate), summed over the served answers that carried it.

    Whole words, not syllables: a student learns the note as tokens (" man", "upa"), and a word cut in the
    middle is a string it never saw. The decoys are uniform random words drawn once, apart from any canary,
    so under the null the canary's word and its decoys are exchangeable and its rank is uniform."""
    words = phrase.split()
    contexts = []
    for item in carriers:
        cut = item.answer.lower().rfind(phrase)
        contexts.append((item.messages, tokenize(item.answer[:cut].rstrip(), tokenizer)))
    ranks = []
    for position, word in enumerate(words):
        notes = [" ".join(words[:position] + [candidate]) for candidate in [word] + decoys[position]]
        continuations = [tokenize(" " + note, tokenizer) for note in notes]
        totals = [0.0] * len(notes)
        for messages, prefix in contexts:
            for index, value in enumerate(suspect.continuation_logprobs(messages, prefix, continuations)):
                totals[index] += value
        # ties count against the canary (its rank is the number of candidates scoring at least as high),
        # so the rank is never better than a fair draw would give
        ranks.append(sum(total >= totals[0] for total in totals))
    return ranks


def _decoy_words(seed: int) -> list[list[str]]:
    rng = random.Random(f"canary decoys {seed}")
    return [["".join(rng.choice(SYLLABLES) for _ in range(WORD_SYLLABLES)) for _ in range(CANARY_DECOYS)]
            for _ in range(PHRASE_WORDS)]


def _fingerprint_tests(suspect, references, served, probes, answers, tokenizer, config, say) -> list[dict]:
    say(f"fingerprints: {len(references)} reference model(s) answer the same prompts")
    prompts = [served.items[i].messages for i in probes]
    if not answers:
        answers = [tokenize(a, tokenizer) for a in suspect.answer(prompts, config.sampling)]
    served_answers = [tokenize(served.items[i].answer, tokenizer) for i in probes]
    reference_answers = {name: [tokenize(a, tokenizer) for a in model.answer(prompts, config.sampling)]
                         for name, model in references.items()}
    tests = [agreement_test(served_answers, answers, reference_answers)]
    if config.identity_names:
        questions = [[{"role": "user", "content": q}] for q in IDENTITY_PROBES]
        tests.append(identity_test(suspect.answer(questions, config.sampling),
                                   {name: model.answer(questions, config.sampling) for name, model in references.items()},
                                   config.identity_names))
    return [_as_test(t) for t in tests]


def _as_test(test) -> dict:
    return {"name": test.name, "p_value": test.p_value, "tokens_scored": 0, "null": test.null, "method": test.method,
            **test.detail}


def _attributed(tests: list[dict], alpha: float) -> list[dict]:
    named: dict[str, dict] = {}
    for test in tests:
        for row in test.get("attribution", []):
            if row["p_value"] <= alpha and row["p_value"] < named.get(row["account"], {}).get("p_value", 2.0):
                named[row["account"]] = {"account": row["account"], "p_value": row["p_value"], "test": test["name"]}
    return sorted(named.values(), key=lambda row: row["p_value"])


def _conversation_text(messages: list[dict]) -> str:
    return "\n".join(m.get("content", "") for m in messages)
