"""The traffic simulator: deterministic, labelled, and shaped like real gateway logs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import orjson
import pytest
from click.testing import CliRunner

from distillshield.cli import main
from distillshield.detect.features import extract
from distillshield.errors import DistillShieldError
from distillshield.lab import SimulationConfig, simulate, write_simulation
from distillshield.lab.kinds import KINDS
from distillshield.records import BadLine, Exchange, read_exchanges

SMALL = dict(days=1.0, scale=0.05)
APPS = ("app_summarise", "app_classify", "app_translate", "app_rag", "app_ide_completion", "benchmark_run")


@pytest.fixture(scope="module")
def sim():
    return simulate(SimulationConfig(seed=11, **SMALL))


def _by_kind(sim):
    kind_of = {label["account"]: label["kind"] for label in sim.labels}
    grouped = defaultdict(list)
    for exchange in sim.exchanges:
        grouped[kind_of[exchange.account]].append(exchange)
    return grouped


def _user_texts(exchange: Exchange) -> list[str]:
    return [m["content"] for m in exchange.request.get("messages", []) if m["role"] == "user"]


@pytest.mark.slow
def test_same_seed_same_files_and_another_seed_differs(tmp_path, sim):
    write_simulation(sim, tmp_path / "a")
    write_simulation(simulate(SimulationConfig(seed=11, **SMALL)), tmp_path / "b")
    write_simulation(simulate(SimulationConfig(seed=12, **SMALL)), tmp_path / "c")
    for name in ("exchanges.jsonl", "labels.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "exchanges.jsonl").read_bytes() != (tmp_path / "c" / "exchanges.jsonl").read_bytes()


def test_labels_cover_every_kind_with_the_right_label(sim):
    kinds = {label["kind"]: label["label"] for label in sim.labels}
    assert kinds == {name: kind.label for name, kind in KINDS.items()}
    accounts = [label["account"] for label in sim.labels]
    assert len(accounts) == len(set(accounts))
    for label in sim.labels:
        assert set(label) == {"account", "label", "kind", "campaign", "sources"}
        assert (label["campaign"] is None) == (label["label"] == "benign")
        assert label["kind"] not in label["account"]
    active = {e.account for e in sim.exchanges}
    assert active == set(accounts)


def test_records_read_back_valid_and_in_time_order(tmp_path, sim):
    write_simulation(sim, tmp_path)
    with open(tmp_path / "exchanges.jsonl", "rb") as stream:
        records = list(read_exchanges(stream))
    assert records and not [r for r in records if isinstance(r, BadLine)]
    assert len(records) == len(sim.exchanges)
    epochs = [r.epoch for r in records]
    assert epochs == sorted(epochs)
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids) and all(i.startswith("ex_") and len(i) == 29 for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)      # ids carry the time (ms) first
    start, end = epochs[0], epochs[-1]
    assert end - start <= 86400
    for record in records[:2000]:
        assert record.endpoint in ("/v1/chat/completions", "/v1/completions")
        assert record.key_id and record.ip and record.user_agent and record.latency_ms > 0
        if record.status == 200:
            usage = record.response.get("usage")
            choices = record.response["choices"]
            assert len(choices) == record.request.get("n", 1)
            if usage is not None:
                assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        else:
            assert record.status == 429 and record.error["code"] == "rate_limit_exceeded"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["exchanges"] == len(records)
    labels = [orjson.loads(line) for line in (tmp_path / "labels.jsonl").read_bytes().splitlines()]
    assert labels == sim.labels


def test_chat_users_hold_conversations_with_history(sim):
    chats = _by_kind(sim)["chat_user"]
    follow_ups = [e for e in chats if any(m["role"] == "assistant" for m in e.request["messages"])]
    assert len(follow_ups) > 0.2 * len(chats)
    # a follow-up carries the answer the account got before, as a chat client sends it
    previous = {}
    carried = 0
    for exchange in chats:
        messages = exchange.request["messages"]
        answer = previous.get(exchange.account)
        if answer is not None and any(m["role"] == "assistant" and m["content"] == answer for m in messages):
            carried += 1
        if exchange.status == 200:
            previous[exchange.account] = exchange.response["choices"][0]["message"]["content"]
    assert carried > 0.5 * len(follow_ups)


def test_campaign_accounts_share_their_campaign(sim):
    members = defaultdict(set)
    kinds = defaultdict(set)
    for label in sim.labels:
        if label["campaign"]:
            members[label["campaign"]].add(label["account"])
            kinds[label["campaign"]].add(label["kind"])
    assert all(len(k) == 1 for k in kinds.values())
    many = [c for c, k in kinds.items() if k == {"many_accounts"}]
    assert many and max(len(members[c]) for c in many) >= 2
    # the accounts of a many-accounts campaign come through a shared pool of proxies
    campaign = max(many, key=lambda c: len(members[c]))
    ips = defaultdict(set)
    for exchange in sim.exchanges:
        if exchange.account in members[campaign]:
            ips[exchange.account].add(exchange.ip)
    shared = set.intersection(*ips.values())
    assert shared


@pytest.mark.slow
def test_hard_benign_apps_send_templated_single_turn_traffic(sim):
    grouped = _by_kind(sim)
    for kind in APPS:
        records = grouped[kind]
        assert len(records) >= 100, kind
        single = sum(1 for e in records if not any(m["role"] == "assistant" for m in e.request.get("messages", [])))
        assert single > 0.6 * len(records), kind
        if kind != "app_ide_completion":      # one template: the same opening or closing words
            features = [extract(e) for e in records]
            top = max(Counter(f.prefix_key for f in features).most_common(1)[0][1],
                      Counter(f.suffix_key for f in features).most_common(1)[0][1])
            assert top > 0.2 * len(records), kind
        prompts = {(_user_texts(e) or [e.request.get("prompt")])[-1] for e in records}
        assert len(prompts) > 0.5 * len(records), kind       # templated, but the content varies
    assert all(e.endpoint == "/v1/completions" for e in grouped["app_ide_completion"])


def test_campaign_shapes_show_in_the_requests(sim):
    grouped = _by_kind(sim)
    assert all(e.request.get("logprobs") for e in grouped["logprob_harvest"])
    assert all(e.request.get("max_tokens", 0) >= 2048 for e in grouped["reasoning_harvest"])
    assert any(e.status == 429 for e in grouped["bulk"])
    assert all(len(_user_texts(e)) == 1 for e in grouped["capability_sweep"])


@pytest.mark.slow
def test_data_folder_sources(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    chat = [{"prompt": f"hello number {i}", "turns": [
        {"role": "user", "content": f"hello number {i}"}, {"role": "assistant", "content": f"hi there {i}"},
        {"role": "user", "content": f"tell me more about {i}"}, {"role": "assistant", "content": f"more on {i}"}]}
        for i in range(5)]
    maths = [{"prompt": f"What is {i} plus {i * 3}?", "response": f"It is {i * 4}."} for i in range(5)]
    other = [{"prompt": f"Write a limerick about item {i}"} for i in range(5)]
    for name, rows in (("friends_chat", chat), ("gsm8k_train", maths), ("alpaca_seed_tasks", other)):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    sim = simulate(SimulationConfig(seed=5, data_dir=data, campaign_sources=["gsm8k_train"], **SMALL))
    texts = [m["content"] for e in sim.exchanges for m in e.request.get("messages", [])]
    assert "tell me more about 3" in texts or any(f"tell me more about {i}" in texts for i in range(5))
    assert not any("limerick" in t for t in texts)                 # held out
    sources = {s for label in sim.labels for s in label["sources"]}
    assert {"friends_chat", "gsm8k_train"} <= sources and "alpaca_seed_tasks" not in sources
    with pytest.raises(DistillShieldError, match="unknown campaign source"):
        simulate(SimulationConfig(seed=5, data_dir=data, campaign_sources=["nope"], **SMALL))


def test_bad_configuration_is_refused():
    with pytest.raises(DistillShieldError, match="days"):
        simulate(SimulationConfig(days=0))
    with pytest.raises(DistillShieldError, match="unknown account kind"):
        simulate(SimulationConfig(counts={"wizard": 3}))


@pytest.mark.slow
def test_cli_writes_the_three_files(tmp_path):
    runner = CliRunner()
    out = tmp_path / "sim"
    result = runner.invoke(main, ["lab", "traffic", "--out", str(out), "--seed", "3", "--days", "0.5",
                                  "--scale", "0.03", "--benign-sources", "builtin_chat"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote ") and result.output.count("\n") == 1
    assert {p.name for p in out.iterdir()} == {"exchanges.jsonl", "labels.jsonl", "manifest.json"}
    bad = runner.invoke(main, ["lab", "traffic", "--out", str(out), "--campaign-sources", "nothing"])
    assert bad.exit_code != 0 and "unknown campaign source" in bad.output and "Traceback" not in bad.output
