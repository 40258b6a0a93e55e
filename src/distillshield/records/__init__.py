"""The exchange record, its JSONL form, and the settings registry."""

from distillshield.records.exchange import (
    POLICY_LEVELS,
    POLICY_OVERRIDES,
    BadLine,
    Exchange,
    format_ts,
    new_exchange_id,
    parse_ts,
    read_exchanges,
    write_exchanges,
)
from distillshield.records.settings import (SETTINGS, Setting, Settings, check, check_fields, default_of, described,
                                            option, read_toml, unknown_name)

__all__ = [
    "BadLine", "Exchange", "POLICY_LEVELS", "POLICY_OVERRIDES", "SETTINGS", "Setting", "Settings", "check",
    "check_fields", "default_of", "described", "format_ts", "new_exchange_id", "option", "parse_ts",
    "read_exchanges", "read_toml", "unknown_name", "write_exchanges",
]
