"""Accounts, keys and exchanges: SQLite by default, PostgreSQL for many replicas."""

from distillshield.store.logwriter import LogWriter
from distillshield.store.spool import Spool
from distillshield.store.store import (ACCOUNT_ID, POLICY_LEVELS, POLICY_OVERRIDES, Account, ApiKey, Store, secret_matches,
                                       split_key)

__all__ = ["ACCOUNT_ID", "POLICY_LEVELS", "POLICY_OVERRIDES", "Account", "ApiKey", "LogWriter", "Spool", "Store", "secret_matches",
           "split_key"]
