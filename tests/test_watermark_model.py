"""Watermarks on real text: SmolLM2's tokenizer, the detection CLI, and one generation by the built-in model."""

from __future__ import annotations

import asyncio
import os
import random

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from scipy import stats

from distillshield.backends.base import BackendRequest
from distillshield.backends.builtin import BuiltinBackend, packaged_model_path
from distillshield.cli import main
from distillshield.records import Settings
from distillshield.server import watermark_factory
from distillshield.store import Store
from distillshield.watermark import (
    SCHEMES,
    MasterKey,
    RowWatermark,
    account_key,
    attribute,
    detect_text,
    load_tokenizer,
    parse_scheme,
    tokenize,
)

from watermark_helpers import ToyModel, human_text, word_tokens

pytestmark = pytest.mark.model
MASTER_HEX = "5f" * 32  # a fixed master key: the generation test's outcome does not change between runs


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(packaged_model_path()))


@pytest.fixture(scope="module")
def words(tokenizer):
    return word_tokens(tokenizer)


def _key_file(path, hex_key: str = MASTER_HEX):
    path.write_text(hex_key + " 2026-11-22T10:00:00.000Z\n")
    os.chmod(path, 0o600)
    return path


def _marked_text(tokenizer, words, key: bytes, seed: int, length: int = 80) -> str:
    """Words sampled from a toy model with the default scheme's mark; its text tokenises back to the same ids."""
    model = ToyModel(len(tokenizer), allowed=words)
    ids = model.generate(length, RowWatermark(parse_scheme("tournament"), key, seed=seed), seed=seed)
    text = tokenizer.decode(ids)
    assert tokenize(text, tokenizer) == ids
    return text


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_p_values_on_human_text_are_uniform(tokenizer, words, name):
    rng = random.Random(5)
    texts = [human_text(rng) for _ in range(1000)]
    word_rng = np.random.default_rng(6)  # and sentences of single-word tokens, as a model's vocabulary spells them
    texts += [tokenizer.decode(list(word_rng.choice(words, word_rng.integers(10, 80)))) for _ in range(300)]
    scheme, keys = parse_scheme(name), [rng.randbytes(32) for _ in texts]
    u = np.random.default_rng(7).random(len(texts))
    randomized, conservative = [], []
    for ids, key, draw in zip(tokenizer(texts, add_special_tokens=False)["input_ids"], keys, u):
        found = scheme.score_tokens(ids, key)
        conservative.append(found.p_value)
        randomized.append(scheme.randomized_p_value(found.statistic, found.tokens_scored, draw))
    assert stats.kstest(randomized, "uniform").pvalue > 0.01
    assert stats.kstest(conservative, "uniform", alternative="greater").pvalue > 0.01
    assert np.mean(np.array(conservative) < 1e-2) <= 0.02


def test_empty_and_foreign_script_text_give_results(tokenizer):
    key, scheme = account_key(bytes.fromhex(MASTER_HEX), "acme"), parse_scheme("tournament")
    empty = detect_text("", key, scheme, tokenizer)
    assert (empty.p_value, empty.tokens_scored) == (1.0, 0) and empty.note
    for text in ("这是一个用另一种分词器写的中文句子，没有任何水印。", "🙂🚀🎉 " * 20, "Ωμέγα ζ ξ ψ" * 5):
        found = detect_text(text, key, scheme, tokenizer)
        assert found.tokens_scored > 0 and 1e-3 < found.p_value <= 1.0


@pytest.mark.slow
def test_detection_ignores_the_prompt(tokenizer, words):
    key = account_key(bytes.fromhex(MASTER_HEX), "acme")
    text = _marked_text(tokenizer, words, key, seed=2)
    ids = tokenize(text, tokenizer)
    whole = detect_text(text, key, parse_scheme("tournament"), tokenizer)
    prompt, answer = tokenizer.decode(ids[:30]), tokenizer.decode(ids[30:])
    continued = detect_text(answer, key, parse_scheme("tournament"), tokenizer, prompt=prompt)
    assert continued.tokens_scored < whole.tokens_scored and continued.p_value < 1e-3


@pytest.mark.slow
def test_cli_detects_attributes_rotates_and_commits(tmp_path, tokenizer, words):
    db, key_path = str(tmp_path / "gw.db"), _key_file(tmp_path / "wm.key")
    store = Store(db)
    for i in range(100):
        store.create_account(f"acct_{i}", rpm=0, tpm=0, concurrency=0, tpd=0)
    master = MasterKey.load(key_path)
    marked = _marked_text(tokenizer, words, account_key(master.current.secret, "acct_42"), seed=1)
    human = human_text(random.Random(1))
    (tmp_path / "answer.txt").write_text(marked)
    (tmp_path / "texts.jsonl").write_text("\n".join([
        orjson.dumps({"text": marked, "account": "acct_42"}).decode(),
        orjson.dumps({"text": human, "account": "acct_42"}).decode(),
        orjson.dumps({"account": "acct_1", "response": {"choices": [{"message": {"content": marked}}]}}).decode(),
        "{not json", ""]))
    base = ["--db", db, "-s", "watermark_key_path", str(key_path), "-s", "watermark", "tournament"]
    runner = CliRunner()

    result = runner.invoke(main, [*base, "watermark", "detect", "--input", str(tmp_path / "texts.jsonl")])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [line["source"].rsplit(":", 1)[1] for line in lines] == ["1", "2", "3"]
    assert lines[0]["p_value"] < 1e-4 and lines[0]["account"] == "acct_42" and lines[0]["scheme"].startswith("tournament")
    assert lines[1]["p_value"] > 1e-3 and lines[2]["p_value"] > 1e-3  # human text; the right text, another account
    assert {"p_value", "score", "tokens_scored", "scheme"} <= set(lines[0])
    assert "texts.jsonl:4: skipped: not JSON" in result.stderr

    result = runner.invoke(main, [*base, "watermark", "detect", "--attribute", "--input", str(tmp_path / "answer.txt")])
    line = orjson.loads(result.stdout)
    assert line["account"] == "acct_42" and line["account_p_value"] < 1e-3 and line["keys_tested"] == 100
    assert line["p_value"] == line["account_p_value"] >= line["best_key_p_value"]    # the headline is corrected

    (tmp_path / "accounts.txt").write_text("acct_1\nacct_42\nacct_7\n")
    result = runner.invoke(main, [*base, "watermark", "detect", "--attribute", "--accounts", str(tmp_path / "accounts.txt")],
                           input=marked)
    line = orjson.loads(result.stdout)
    assert line["source"] == "stdin" and line["account"] == "acct_42" and line["keys_tested"] == 3

    result = runner.invoke(main, [*base, "watermark", "detect", "--input", str(tmp_path / "answer.txt")])
    assert "skipped: no account: pass --account or --attribute" in result.stderr

    commitment = orjson.loads(runner.invoke(main, [*base, "watermark", "commitment"]).stdout)
    assert commitment["key_id"] == master.current.key_id
    result = runner.invoke(main, [*base, "watermark", "rotate"])
    assert result.exit_code == 0 and "2 keys kept" in result.stdout
    result = runner.invoke(main, [*base, "watermark", "detect", "--account", "acct_42", "--input", str(tmp_path / "answer.txt")])
    assert orjson.loads(result.stdout)["p_value"] < 1e-3  # marked before the rotation, still found

    os.chmod(key_path, 0o644)
    result = runner.invoke(main, [*base, "watermark", "commitment"])
    assert result.exit_code == 2 and "chmod 600" in result.stderr


@pytest.mark.slow
def test_built_in_model_marks_each_account_and_leaves_others_alone(tmp_path, tokenizer):
    settings = Settings(store_url=str(tmp_path / "gw.db"), watermark_key_path=str(_key_file(tmp_path / "wm.key")))
    marking = watermark_factory(settings)

    def factory(account: str, payload: dict, hardened: bool = False):
        return None if account == "unmarked" else marking(account, payload, hardened)

    async def generate():
        backend = BuiltinBackend(max_batch_size=4, logits_processor_factory=factory)
        await backend.start()
        payload = {"messages": [{"role": "user", "content": "Tell me a story about a lighthouse keeper and a storm."}],
                   "max_tokens": 96, "temperature": 0.7, "seed": 11}
        try:
            replies = await asyncio.gather(*[backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", payload,
                                                                           account)) for account in ("acct_7", "unmarked")])
        finally:
            await backend.aclose()
        return [orjson.loads(reply.body)["choices"][0]["message"]["content"] for reply in replies]
    marked, unmarked = asyncio.run(generate())
    master = bytes.fromhex(MASTER_HEX)
    scheme = parse_scheme(settings.watermark)
    assert detect_text(marked, account_key(master, "acct_7"), scheme, tokenizer).p_value < 1e-3
    assert detect_text(unmarked, account_key(master, "acct_7"), scheme, tokenizer).p_value > 1e-3
    accounts = {f"acct_{i}": account_key(master, f"acct_{i}") for i in range(100)}
    found = attribute(marked, accounts, scheme, tokenizer)
    assert found.account == "acct_7" and found.account_p_value < 1e-3
