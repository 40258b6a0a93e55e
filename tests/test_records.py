from __future__ import annotations

import io

import pytest

from distillshield.errors import ConfigError
from distillshield.records import BadLine, Exchange, Settings, format_ts, new_exchange_id, parse_ts, read_exchanges

GOOD = '{"id": "ex_1", "ts": "2026-11-22T10:00:00.123Z", "account": "a", "endpoint": "/v1/chat/completions", "request": {}}'


def test_required_fields_are_checked_and_unknown_fields_kept():
    exchange = Exchange.from_dict({"id": "ex_1", "ts": "2026-11-22T10:00:00.123Z", "account": "a",
                                   "endpoint": "/v1/x", "request": {"model": "m"}, "tenant": "t9"})
    assert exchange.extra == {"tenant": "t9"}
    assert exchange.to_dict()["tenant"] == "t9"
    assert exchange.epoch == pytest.approx(1795341600.123)


def test_malformed_lines_are_reported_by_number_and_skipped():
    lines = "\n".join([GOOD, "{broken", '{"id": "x"}', "", GOOD.replace('"request": {}', '"request": 5'),
                       GOOD.replace("2026-11-22T10:00:00.123Z", "yesterday"), GOOD])
    items = list(read_exchanges(io.StringIO(lines)))
    bad = [item for item in items if isinstance(item, BadLine)]
    assert [item.line_number for item in bad] == [2, 3, 5, 6]
    assert "not valid JSON" in bad[0].message
    assert "missing required field(s): ts, account, endpoint, request" in bad[1].message
    assert "request must be an object" in bad[2].message
    assert "ISO 8601" in bad[3].message
    assert sum(isinstance(item, Exchange) for item in items) == 2


def test_timestamps_round_trip_with_milliseconds():
    assert format_ts(1795341600.123) == "2026-11-22T10:00:00.123Z"
    assert parse_ts("2026-11-22T11:00:00.123+01:00") == pytest.approx(1795341600.123)


def test_exchange_ids_are_unique_and_sort_by_time():
    ids = [new_exchange_id(1000.0 + i) for i in range(100)]
    assert len(set(ids)) == 100 and ids == sorted(ids)


def test_settings_reject_unknown_names_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean default_rpm"):
        Settings(default_rmp=5)


def test_settings_coerce_text_and_check_types_and_choices(tmp_path):
    settings = Settings(port="9000", trust_forwarded_for="yes", upstream_timeout=5)
    assert settings.port == 9000 and settings.trust_forwarded_for is True and settings.upstream_timeout == 5.0
    with pytest.raises(ConfigError, match="port must be int, got 'eighty'"):
        Settings(port="eighty")
    with pytest.raises(ConfigError, match="log_content must be one of full, redacted, none"):
        Settings(log_content="some")
    with pytest.raises(ConfigError, match=">= 0"):
        Settings(default_rpm=-1)
    config = tmp_path / "ds.toml"
    config.write_text('port = 8100\nlog_content = "redacted"\n')
    assert Settings.from_file(config, port=8200).as_dict()["log_content"] == "redacted"
    assert Settings.from_file(config, port=8200).port == 8200
    config.write_text("port = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.from_file(config)
