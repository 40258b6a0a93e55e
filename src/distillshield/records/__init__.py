"""The exchange record, its JSONL form, and the settings registry."""

from distillshield.records.exchange import (
    BadLine,
    Exchange,
    format_ts,
    new_exchange_id,
    parse_ts,
    read_exchanges,
    write_exchanges,
)
from distillshield.records.settings import SETTINGS, Setting, Settings, read_toml

__all__ = [
    "BadLine", "Exchange", "SETTINGS", "Setting", "Settings", "format_ts", "new_exchange_id",
    "parse_ts", "read_exchanges", "read_toml", "write_exchanges",
]
