"""The command line: durations and rates read by click parameter types, one-line errors, progress on stderr."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from distillshield import cli
from distillshield.cli import DURATION, main


def _run(tmp_path, *args, env=None):
    return CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), *args], env=env)


@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("12h", 43200.0),
                                           ("1.5d", 129600.0)])
def test_a_duration_reads_as_seconds(text, seconds):
    assert DURATION.convert(text, None, None) == seconds


@pytest.mark.parametrize("args", [["keys", "create", "--account", "a", "--expires-in", "soon"],
                                  ["policy", "events", "--since", "yesterday"],
                                  ["export", "--since", "12 parsecs"]])
def test_a_bad_duration_is_one_line_and_exit_2(tmp_path, args):
    assert _run(tmp_path, "accounts", "create", "a").exit_code == 0
    result = _run(tmp_path, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Invalid value for '--" in result.output
    assert any(hint in result.output for hint in ("must be a duration", "timestamp"))


def test_a_duration_sets_when_a_key_expires(tmp_path):
    assert _run(tmp_path, "accounts", "create", "a").exit_code == 0
    made = _run(tmp_path, "keys", "create", "--account", "a", "--expires-in", "15m", "--json")
    key = orjson.loads(made.stdout)
    assert 899 < key["expires_at"] - key["created_at"] < 901


@pytest.mark.parametrize("value", ["0", "1", "-0.1", "lots"])
def test_a_rate_outside_zero_one_is_refused(tmp_path, value):
    exchanges = tmp_path / "x.jsonl"
    exchanges.write_text("")
    result = _run(tmp_path, "scan", str(exchanges), "--out", str(tmp_path / "v.jsonl"), "--fpr", value)
    assert result.exit_code == 2 and "between 0 and 1" in result.output


def test_an_unexpected_error_is_one_line_unless_debugging(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    # the store's folder is a file: SQLite cannot open it, an error that is not the project's own
    args = ["--db", str(blocker / "s.db"), "accounts", "list"]
    result = CliRunner().invoke(main, args, env={cli.DEBUG_VARIABLE: ""})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and cli.DEBUG_VARIABLE in lines[0]
    debugging = CliRunner().invoke(main, args, env={cli.DEBUG_VARIABLE: "1"})
    assert debugging.exit_code == 1 and debugging.exception is not None
    assert not isinstance(debugging.exception, SystemExit)


def _traffic(tmp_path, *flags):
    return CliRunner().invoke(main, ["lab", "traffic", "--out", str(tmp_path / "sim"), "--days", "0.2",
                                     "--scale", "0.03", *flags])


def test_progress_goes_to_stderr_when_asked_and_never_with_quiet(tmp_path):
    shown = _traffic(tmp_path, "--progress")
    assert shown.exit_code == 0, shown.output
    assert "accounts simulated" in shown.stderr and "accounts simulated" not in shown.stdout
    quiet = _traffic(tmp_path, "--progress", "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert "accounts simulated" not in quiet.stderr and "%|" not in quiet.stderr
    # not a terminal and not asked: no bar either
    plain = _traffic(tmp_path)
    assert plain.exit_code == 0 and "%|" not in plain.stderr


def test_export_and_scan_show_progress_only_on_stderr(tmp_path):
    from distillshield.records import Exchange, format_ts, write_exchanges

    records = [Exchange(id=f"ex_{i:04d}", ts=format_ts(1.8e9 + i), account=f"a{i % 3}", endpoint="/v1/chat/completions",
                        request={"messages": [{"role": "user", "content": f"q {i}"}]}) for i in range(30)]
    log = tmp_path / "log.jsonl"
    with open(log, "wb") as stream:
        write_exchanges(stream, records)
    scanned = _run(tmp_path, "scan", str(log), "--out", str(tmp_path / "v.jsonl"), "--no-embeddings",
                   "--calibration", "model", "--progress")
    assert scanned.exit_code == 0, scanned.output
    assert "exchanges scored" in scanned.stderr and "30/30" in scanned.stderr
    from distillshield.store import Store

    Store(str(tmp_path / "s.db")).insert_exchanges([
        {"id": r.id, "ts": r.epoch, "account": r.account, "key_id": None, "endpoint": r.endpoint, "status": 200,
         "record": r.to_json().decode()} for r in records])
    exported = _run(tmp_path, "export", "--progress")
    assert exported.exit_code == 0, exported.output
    assert len(exported.stdout.splitlines()) == 30 and all(line.startswith("{") for line in exported.stdout.splitlines())
    assert "exchanges written" in exported.stderr and "30" in exported.stderr
    quiet = _run(tmp_path, "scan", str(log), "--out", str(tmp_path / "w.jsonl"), "--no-embeddings",
                 "--calibration", "model", "--quiet", "--progress")
    assert quiet.exit_code == 0 and "exchanges scored" not in quiet.stderr


# -- options derived from the configs' field descriptions -------------------------------------------------------
def test_the_audit_options_are_derived_from_the_audit_config():
    from distillshield.audit import AuditConfig
    from distillshield.records import described

    text = CliRunner().invoke(main, ["audit", "--help"]).output
    for setting in described(AuditConfig):
        if setting.name != "modes":
            spelling = setting.flag or "--" + setting.name.replace("_", "-")
            assert spelling in text, spelling
    assert "[default: 64]" in text                       # --prompts, from AuditConfig's default


def test_a_derived_option_is_checked_by_its_bounds(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("")
    result = CliRunner().invoke(main, ["audit", "--suspect", "x", "--data", str(data), "--out", str(tmp_path / "o"),
                                       "--prompts", "0"])
    assert result.exit_code == 2 and "--prompts" in result.output and "Traceback" not in result.output


def test_the_campaign_file_is_campaign_and_the_old_spelling_still_reads_it(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text("shields = ['sometimes']\n")
    for flag in ("--campaign", "--config"):
        outcome = CliRunner().invoke(main, ["lab", "campaign", flag, str(path)])
        assert outcome.exit_code == 2 and outcome.output.startswith("Error: shields must be"), flag


def test_one_validation_and_one_suggestion_for_every_config():
    from distillshield.errors import ConfigError
    from distillshield.lab.campaign import CampaignConfig
    from distillshield.lab.student import TrainConfig
    from distillshield.records import Settings, check, described

    steps = {s.name: s for s in described(TrainConfig)}["steps"]
    assert check(steps, "12") == 12
    with pytest.raises(ConfigError, match=r"train.steps must be a whole number in \[0, 10000000\], got -1"):
        check(steps, -1, "train.steps")
    for make, misspelt, meant in ((lambda: Settings(detect_modle="x"), "detect_modle", "detect_model"),
                                  (lambda: CampaignConfig.from_dict({"answer": 1}), "answer", "answers")):
        with pytest.raises(ConfigError, match=f"unknown .*'{misspelt}' \\(did you mean {meant}\\?\\)"):
            make()


def test_scan_reads_the_detector_the_settings_name(tmp_path):
    exchanges = tmp_path / "x.jsonl"
    exchanges.write_text("")
    missing = tmp_path / "nowhere.json"
    args = ["scan", str(exchanges), "--out", str(tmp_path / "v.jsonl"), "--no-embeddings"]
    result = CliRunner().invoke(main, ["-s", "detect_model", str(missing), *args])
    assert result.exit_code == 2 and f"detector model {missing} does not exist" in result.output
    from distillshield.detect.scoring import default_model_path

    # --model wins over the setting
    chosen = CliRunner().invoke(main, ["-s", "detect_model", str(missing), *args, "--model", str(default_model_path()),
                                       "--calibration", "model"])
    assert chosen.exit_code == 0, chosen.output
