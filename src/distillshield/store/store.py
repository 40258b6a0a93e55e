"""Accounts, keys and exchanges, in SQLite (default) or PostgreSQL, through SQLAlchemy Core.

The store is synchronous: the gateway calls it from worker threads (the log
writer, key look-ups on a cache miss), never on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from distillshield.errors import ConfigError, InvalidRequest, NotFound
from distillshield.records import POLICY_LEVELS, POLICY_OVERRIDES

metadata = sa.MetaData()

accounts_table = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("rpm", sa.Integer, nullable=False),
    sa.Column("tpm", sa.Integer, nullable=False),
    sa.Column("concurrency", sa.Integer, nullable=False),
    sa.Column("tpd", sa.Integer, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("policy", sa.String(16), nullable=False, default="auto", server_default="auto"),
)

keys_table = sa.Table(
    "api_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("label", sa.String(256), nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

exchanges_table = sa.Table(
    "exchanges", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    sa.Column("ts", sa.Float, nullable=False),                    # indexed below, with account and status
    sa.Column("account", sa.String(128), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=True),
    sa.Column("endpoint", sa.String(256), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("record", sa.Text, nullable=False),
)

policy_events_table = sa.Table(
    "policy_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("account", sa.String(128), nullable=False, index=True),
    sa.Column("old_level", sa.String(16), nullable=False),
    sa.Column("new_level", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=True),
    sa.Column("reasons", sa.Text, nullable=False, default="[]"),
    sa.Column("source", sa.String(16), nullable=False),          # "detector" or "operator"
    sa.Column("cluster", sa.String(128), nullable=True),
    sa.Column("alert", sa.String(512), nullable=True),          # webhook outcome: sent, failed: ..., skipped: ...
    sa.Column("actor", sa.String(64), nullable=True),           # an operator's change: the admin key id that made it
    sa.Column("note", sa.Text, nullable=True),                  # ... and the reason they gave
)

# The exchanges' two indexes (by time; by account, then time) also hold the status, so that the console's
# counts over a time window and one account's history are read from an index alone. They replace the
# single-column ts and account indexes of stores made before (dropped on open): the same number of indexes
# to keep up on each write.
exchanges_ts_cover = sa.Index("ix_exchanges_ts_account_status", exchanges_table.c.ts, exchanges_table.c.account,
                              exchanges_table.c.status)
exchanges_account_ts = sa.Index("ix_exchanges_account_ts_status", exchanges_table.c.account, exchanges_table.c.ts,
                                exchanges_table.c.status)
_BY_TIME = "INDEXED BY ix_exchanges_ts_account_status"    # SQLite would otherwise walk the account index whole

console_sessions_table = sa.Table(
    "console_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),    # sha256 of the cookie's token
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("account", sa.String(128), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

operator_actions_table = sa.Table(
    "operator_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),           # the admin key id
    sa.Column("action", sa.String(64), nullable=False),          # sign_in, sign_out, set_policy, set_limits, ...
    sa.Column("target", sa.String(128), nullable=True, index=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("details", sa.Text, nullable=False, default="{}"),
)


KEY_PREFIX = "ds-"
_KEY_ID_HEX = 12
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    is_admin: bool
    rpm: int
    tpm: int
    concurrency: int
    tpd: int
    disabled: bool
    created_at: float
    policy: str = "auto"        # auto (the detector decides), allow (never any action) or a fixed level

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.__slots__}


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    account_id: str
    secret_hash: str
    label: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None

    def is_usable(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in self.__slots__ if field != "secret_hash"}


def hash_secret(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(presented: str) -> tuple[str, str] | None:
    """``ds-<key_id>-<secret>`` → (key_id, secret), or None if it is not shaped like our keys."""
    if not presented.startswith(KEY_PREFIX) or len(presented) < len(KEY_PREFIX) + _KEY_ID_HEX + 2:
        return None
    key_id = presented[len(KEY_PREFIX):len(KEY_PREFIX) + _KEY_ID_HEX]
    separator = presented[len(KEY_PREFIX) + _KEY_ID_HEX]
    if separator != "-":
        return None
    return key_id, presented[len(KEY_PREFIX) + _KEY_ID_HEX + 1:]


def secret_matches(key: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(key.secret_hash, hash_secret(secret))


def _engine_for(url: str) -> sa.Engine:
    if url.startswith(("postgresql://", "postgres://", "postgresql+")):
        url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)
        return sa.create_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True)
    if "://" in url and not url.startswith("sqlite"):
        raise ConfigError(f"store_url must be a SQLite path or a postgresql:// URL, got {url!r}")
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:" and not os.path.exists(path):
        # the store holds every prompt and answer: only its owner reads it (SQLite gives its -wal and -shm
        # files the database file's mode)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _tune_sqlite(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = _engine_for(url)
        metadata.create_all(self.engine)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a store created by an older version up to date (columns added since; tables are made above)."""
        inspector = sa.inspect(self.engine)
        columns = {column["name"] for column in inspector.get_columns("accounts")}
        if "policy" not in columns:
            with self.engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE accounts ADD COLUMN policy VARCHAR(16) NOT NULL DEFAULT 'auto'"))
        event_columns = {column["name"] for column in inspector.get_columns("policy_events")}
        with self.engine.begin() as conn:
            for name, kind in (("actor", "VARCHAR(64)"), ("note", "TEXT")):
                if name not in event_columns:
                    conn.execute(sa.text(f"ALTER TABLE policy_events ADD COLUMN {name} {kind}"))
        for index in (exchanges_ts_cover, exchanges_account_ts):
            index.create(self.engine, checkfirst=True)
        existing = {index["name"] for index in inspector.get_indexes("exchanges")}
        with self.engine.begin() as conn:
            for old_index in ("ix_exchanges_ts", "ix_exchanges_account"):
                if old_index in existing:
                    conn.execute(sa.text(f"DROP INDEX {old_index}"))

    def close(self) -> None:
        self.engine.dispose()

    # accounts -------------------------------------------------------------
    def create_account(self, account_id: str, *, name: str | None = None, is_admin: bool = False,
                       rpm: int, tpm: int, concurrency: int, tpd: int) -> Account:
        if not (isinstance(account_id, str) and ACCOUNT_ID.fullmatch(account_id)):
            raise InvalidRequest(
                f"account id must be 1-128 characters of letters, digits, '_', '.', '@', '-', got {account_id!r}")
        for limit_name, value in (("rpm", rpm), ("tpm", tpm), ("concurrency", concurrency), ("tpd", tpd)):
            _check_limit(limit_name, value)
        _check_name(name)
        row = dict(id=account_id, name=name or account_id, is_admin=is_admin, rpm=rpm, tpm=tpm,
                   concurrency=concurrency, tpd=tpd, disabled=False, created_at=time.time())
        with self.engine.begin() as conn:
            if conn.execute(sa.select(accounts_table.c.id).where(accounts_table.c.id == account_id)).first():
                raise InvalidRequest(f"account {account_id!r} already exists", code="account_exists")
            conn.execute(accounts_table.insert(), row)
        return Account(**row)

    def get_account(self, account_id: str) -> Account:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(accounts_table).where(accounts_table.c.id == account_id)).first()
        if row is None:
            raise NotFound(f"no account {account_id!r}")
        return Account(**row._mapping)

    def list_accounts(self) -> list[Account]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(accounts_table).order_by(accounts_table.c.created_at)).all()
        return [Account(**row._mapping) for row in rows]

    def update_account(self, account_id: str, *, actor: str | None = None, reason: str | None = None,
                       **changes) -> Account:
        """Change an account; a change of ``policy`` is recorded as an operator policy event (with the admin key
        id that made it, ``actor``, and their ``reason`` when given)."""
        allowed = {"name", "rpm", "tpm", "concurrency", "tpd", "disabled", "policy"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidRequest(f"cannot change {', '.join(sorted(unknown))}; changeable: {', '.join(sorted(allowed))}")
        for limit_name in ("rpm", "tpm", "concurrency", "tpd"):
            if limit_name in changes:
                _check_limit(limit_name, changes[limit_name])
        if "name" in changes:
            _check_name(changes["name"])
            if changes["name"] is None:
                changes["name"] = account_id
        if "policy" in changes and changes["policy"] not in POLICY_OVERRIDES:
            raise InvalidRequest(f"policy must be one of {', '.join(POLICY_OVERRIDES)}, got {changes['policy']!r}",
                                 param="policy")
        if "disabled" in changes and not isinstance(changes["disabled"], bool):
            raise InvalidRequest(f"disabled must be a boolean, got {changes['disabled']!r}", param="disabled")
        before = self.get_account(account_id)
        if changes:
            with self.engine.begin() as conn:
                conn.execute(accounts_table.update().where(accounts_table.c.id == account_id).values(**changes))
                if "policy" in changes and changes["policy"] != before.policy:
                    conn.execute(policy_events_table.insert(), {**_event_row(
                        account_id, before.policy, changes["policy"], source="operator"),
                        "actor": actor, "note": reason})
        return self.get_account(account_id)

    # keys -----------------------------------------------------------------
    def create_key(self, account_id: str, *, label: str = "", expires_at: float | None = None) -> tuple[ApiKey, str]:
        """A new key for the account; the plaintext is returned once and never stored."""
        self.get_account(account_id)
        key_id = secrets.token_hex(_KEY_ID_HEX // 2)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(key_id=key_id, account_id=account_id, secret_hash=hash_secret(secret), label=label,
                     created_at=time.time(), expires_at=expires_at, revoked_at=None)
        with self.engine.begin() as conn:
            conn.execute(keys_table.insert(), {field: getattr(key, field) for field in key.__slots__})
        return key, f"{KEY_PREFIX}{key_id}-{secret}"

    def get_key(self, key_id: str) -> ApiKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(keys_table).where(keys_table.c.key_id == key_id)).first()
        return ApiKey(**row._mapping) if row else None

    def list_keys(self, account_id: str | None = None) -> list[ApiKey]:
        query = sa.select(keys_table).order_by(keys_table.c.created_at)
        if account_id is not None:
            query = query.where(keys_table.c.account_id == account_id)
        with self.engine.connect() as conn:
            return [ApiKey(**row._mapping) for row in conn.execute(query)]

    def revoke_key(self, key_id: str) -> ApiKey:
        with self.engine.begin() as conn:
            updated = conn.execute(keys_table.update().where(keys_table.c.key_id == key_id)
                                   .where(keys_table.c.revoked_at.is_(None)).values(revoked_at=time.time()))
        key = self.get_key(key_id)
        if key is None:
            raise NotFound(f"no key {key_id!r}")
        if updated.rowcount == 0 and key.revoked_at is None:
            raise NotFound(f"no key {key_id!r}")
        return key

    # exchanges ------------------------------------------------------------
    def insert_exchanges(self, rows: list[dict]) -> None:
        """Write a batch of exchange rows (keys: id, ts, account, key_id, endpoint, status, record) in one
        transaction. An id the store already holds is skipped, so writing a record twice (a spool replayed
        after a crash) keeps it once."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self._insert_new, rows)

    @property
    def _insert_new(self):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
            return insert(exchanges_table).on_conflict_do_nothing(index_elements=["id"])
        return exchanges_table.insert().prefix_with("OR IGNORE")

    def existing_exchange_ids(self, ids: list[str]) -> set[str]:
        """Which of these exchange ids the store holds."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            with self.engine.connect() as conn:
                found.update(conn.execute(sa.select(exchanges_table.c.id)
                                          .where(exchanges_table.c.id.in_(ids[start:start + 500]))).scalars())
        return found

    def iter_exchange_json(self, *, since: float | None = None, account: str | None = None,
                           batch: int = 2000) -> Iterator[str]:
        """Stored exchange records as JSON text, oldest first, read in pages."""
        last_seq = 0
        while True:
            query = (sa.select(exchanges_table.c.seq, exchanges_table.c.record)
                     .where(exchanges_table.c.seq > last_seq).order_by(exchanges_table.c.seq).limit(batch))
            if since is not None:
                query = query.where(exchanges_table.c.ts >= since)
            if account is not None:
                query = query.where(exchanges_table.c.account == account)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield row.record
            last_seq = rows[-1].seq

    def exchanges_after(self, seq: int, *, limit: int = 2000, also: Iterable[int] = ()) -> list[tuple[int, str]]:
        """(seq, record) of the exchanges stored after ``seq``, in ``seq`` order, at most ``limit``, and of the
        earlier ones numbered in ``also`` (gaps a reader is waiting on). ``seq`` numbers rows as inserted."""
        query = sa.select(exchanges_table.c.seq, exchanges_table.c.record)
        wanted = sorted(set(also))
        condition = exchanges_table.c.seq > seq
        if wanted:
            condition = sa.or_(condition, exchanges_table.c.seq.in_(wanted))
        with self.engine.connect() as conn:
            rows = conn.execute(query.where(condition).order_by(exchanges_table.c.seq).limit(limit + len(wanted)))
            return [(row.seq, row.record) for row in rows]

    def count_exchanges(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(exchanges_table)).scalar_one()

    def delete_exchanges_before(self, epoch: float) -> int:
        with self.engine.begin() as conn:
            return conn.execute(exchanges_table.delete().where(exchanges_table.c.ts < epoch)).rowcount


    # policy events ---------------------------------------------------------
    def record_policy_event(self, account: str, old_level: str, new_level: str, *, source: str,
                            score: float | None = None, threshold: float | None = None,
                            reasons: list | None = None, cluster: str | None = None,
                            ts: float | None = None) -> int:
        """Record a change of an account's policy level; returns the event's id."""
        with self.engine.begin() as conn:
            result = conn.execute(policy_events_table.insert(), _event_row(
                account, old_level, new_level, source=source, score=score, threshold=threshold, reasons=reasons,
                cluster=cluster, ts=ts))
            return int(result.inserted_primary_key[0])

    def set_policy_event_alert(self, event_id: int, outcome: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(policy_events_table.update().where(policy_events_table.c.id == event_id)
                         .values(alert=outcome[:512]))

    def list_policy_events(self, *, account: str | None = None, since: float | None = None,
                           limit: int = 1000) -> list[dict]:
        """Policy events, newest first."""
        query = sa.select(policy_events_table).order_by(policy_events_table.c.id.desc()).limit(limit)
        if account is not None:
            query = query.where(policy_events_table.c.account == account)
        if since is not None:
            query = query.where(policy_events_table.c.ts >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        events = []
        for row in rows:
            event = {str(name): value for name, value in row._mapping.items()}
            event["reasons"] = json.loads(event["reasons"] or "[]")
            events.append(event)
        return events


    def list_policy_events_filtered(self, *, account: str | None = None, level: str | None = None,
                                    source: str | None = None, alert: str | None = None, since: float | None = None,
                                    limit: int = 200) -> list[dict]:
        """Policy events, newest first, filtered by new level, source and webhook outcome (``failed``, ``sent``,
        ``none``: no alert)."""
        table = policy_events_table
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        for column, value in ((table.c.account, account), (table.c.new_level, level), (table.c.source, source)):
            if value:
                query = query.where(column == value)
        if since is not None:
            query = query.where(table.c.ts >= since)
        if alert == "none":
            query = query.where(table.c.alert.is_(None))
        elif alert:
            query = query.where(table.c.alert.like(f"{alert}%"))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_event_dict(row) for row in rows]

    def latest_detector_events(self) -> dict[str, dict]:
        """Each account's newest detector event (its score, level, reasons and cluster as last reported)."""
        table = policy_events_table
        newest = (sa.select(sa.func.max(table.c.id)).where(table.c.source == "detector")
                  .group_by(table.c.account)).scalar_subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.id.in_(newest))).all()
        return {row.account: _event_dict(row) for row in rows}

    # the console's reads ---------------------------------------------------
    def _bucket(self, since: float, width: float):
        """Which slice of ``width`` seconds from ``since`` an exchange falls in (SQLite's CAST truncates, which
        is the floor here, ts >= since; PostgreSQL's rounds)."""
        offset = (exchanges_table.c.ts - since) / width
        if self.engine.dialect.name == "postgresql":
            offset = sa.func.floor(offset)
        return sa.cast(offset, sa.Integer).label("bucket")

    def traffic_series(self, since: float, until: float, buckets: int, *, account: str | None = None,
                       accounts: Iterable[str] | None = None) -> list[tuple[float, int, int]]:
        """(bucket start, requests, refusals) for ``buckets`` equal slices of [since, until); read from an index."""
        width = (until - since) / buckets
        table = exchanges_table
        bucket = self._bucket(since, width)
        refused = sa.func.sum(sa.case((table.c.status >= 400, 1), else_=0))
        query = (sa.select(bucket, sa.func.count(), refused)
                 .where(table.c.ts >= since, table.c.ts < until).group_by(bucket))
        if account is not None:
            query = query.where(table.c.account == account)
        elif accounts is not None:
            query = query.where(table.c.account.in_(list(accounts)))
        else:
            query = query.with_hint(table, _BY_TIME, dialect_name="sqlite")
        counts = [[since + i * width, 0, 0] for i in range(buckets)]
        with self.engine.connect() as conn:
            for index, requests, refusals in conn.execute(query):
                if 0 <= index < buckets:
                    counts[index][1:] = [int(requests), int(refusals or 0)]
        return [tuple(row) for row in counts]

    def account_volumes(self, since: float) -> dict[str, tuple[int, int, float]]:
        """Per account since ``since``: (requests, refusals, last request time), from the (ts, account, status) index."""
        table = exchanges_table
        refused = sa.func.sum(sa.case((table.c.status >= 400, 1), else_=0))
        query = (sa.select(table.c.account, sa.func.count(), refused, sa.func.max(table.c.ts))
                 .where(table.c.ts >= since).group_by(table.c.account).with_hint(table, _BY_TIME, dialect_name="sqlite"))
        with self.engine.connect() as conn:
            return {account: (int(n), int(r or 0), float(last)) for account, n, r, last in conn.execute(query)}

    def account_volume_slices(self, since: float, until: float, slices: int) -> dict[int, dict[str, tuple]]:
        """Per time slice of [since, until), per account: (requests, refusals, last request time)."""
        width = (until - since) / slices
        table = exchanges_table
        bucket = self._bucket(since, width)
        refused = sa.func.sum(sa.case((table.c.status >= 400, 1), else_=0))
        query = (sa.select(bucket, table.c.account, sa.func.count(), refused, sa.func.max(table.c.ts))
                 .where(table.c.ts >= since, table.c.ts < until).group_by(bucket, table.c.account)
                 .with_hint(table, _BY_TIME, dialect_name="sqlite"))
        found: dict[int, dict[str, tuple]] = {index: {} for index in range(slices)}
        with self.engine.connect() as conn:
            for index, account, n, r, last in conn.execute(query):
                if 0 <= index < slices:
                    found[index][account] = (int(n), int(r or 0), float(last))
        return found

    def account_tokens(self, account: str, since: float, until: float, buckets: int) -> list[int]:
        """Total tokens (the answers' ``usage``) of one account per time bucket."""
        width = (until - since) / buckets
        table = exchanges_table
        if self.engine.dialect.name == "postgresql":
            tokens = sa.text("COALESCE((record::jsonb #>> '{response,usage,total_tokens}')::bigint, 0)")
        else:
            tokens = sa.text("COALESCE(json_extract(record, '$.response.usage.total_tokens'), 0)")
        bucket = self._bucket(since, width)
        query = (sa.select(bucket, sa.func.sum(sa.literal_column(str(tokens)))).select_from(table)
                 .where(table.c.account == account, table.c.ts >= since, table.c.ts < until).group_by(bucket))
        totals = [0] * buckets
        with self.engine.connect() as conn:
            for index, total in conn.execute(query):
                if 0 <= index < buckets:
                    totals[index] = int(total or 0)
        return totals

    def recent_exchange_json(self, *, account: str | None = None, limit: int = 20,
                             accounts: Iterable[str] | None = None) -> list[str]:
        """The newest exchange records as JSON text, newest first."""
        table = exchanges_table
        query = sa.select(table.c.record).order_by(table.c.ts.desc()).limit(limit)
        if account is not None:
            query = query.where(table.c.account == account)
        if accounts is not None:
            query = query.where(table.c.account.in_(list(accounts)))
        with self.engine.connect() as conn:
            return [row.record for row in conn.execute(query)]

    def exchange_bounds(self) -> tuple[float | None, float | None]:
        """The oldest and newest exchange times (from the ts index)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sa.func.min(exchanges_table.c.ts), sa.func.max(exchanges_table.c.ts))).one()
        return row[0], row[1]

    # console sessions and operator actions ----------------------------------
    def create_console_session(self, key_id: str, account: str, lifetime: float) -> tuple[str, str]:
        """A new console session for an admin key: (cookie token, CSRF token). Only the token's hash is kept."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time()
        with self.engine.begin() as conn:
            conn.execute(console_sessions_table.delete().where(console_sessions_table.c.expires_at < now))
            conn.execute(console_sessions_table.insert(), {
                "token_hash": hash_secret(token), "key_id": key_id, "account": account, "csrf": csrf,
                "created_at": now, "expires_at": now + lifetime})
        return token, csrf

    def get_console_session(self, token: str) -> dict | None:
        """The live session of this cookie token, or None (unknown or expired)."""
        table = console_sessions_table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.token_hash == hash_secret(token))).first()
        if row is None or row.expires_at <= time.time():
            return None
        return dict(row._mapping)

    def delete_console_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(console_sessions_table.delete()
                         .where(console_sessions_table.c.token_hash == hash_secret(token)))

    def record_operator_action(self, actor: str, action: str, *, target: str | None = None,
                               reason: str | None = None, details: dict | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(operator_actions_table.insert(), {
                "ts": time.time(), "actor": actor, "action": action, "target": target, "reason": reason,
                "details": json.dumps(details or {})})

    def list_operator_actions(self, *, target: str | None = None, limit: int = 100) -> list[dict]:
        table = operator_actions_table
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        if target is not None:
            query = query.where(table.c.target == target)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [{**row._mapping, "details": json.loads(row.details or "{}")} for row in rows]


def _event_dict(row) -> dict:
    event = {str(name): value for name, value in row._mapping.items()}
    event["reasons"] = json.loads(event["reasons"] or "[]")
    return event


def _event_row(account: str, old_level: str, new_level: str, *, source: str, score: float | None = None,
               threshold: float | None = None, reasons: list | None = None, cluster: str | None = None,
               ts: float | None = None) -> dict:
    return {"ts": time.time() if ts is None else ts, "account": account, "old_level": old_level,
            "new_level": new_level, "score": _finite(score), "threshold": _finite(threshold),
            "reasons": json.dumps(reasons or []), "source": source, "cluster": cluster}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


MAX_LIMIT = 2 ** 31 - 1      # the columns are 32-bit integers on PostgreSQL


def _check_limit(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT:
        raise InvalidRequest(f"{name} must be an integer from 0 (unlimited) to {MAX_LIMIT}, got {value!r}",
                             param=name)


def _check_name(value) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > 256 or "\x00" in value):
        raise InvalidRequest(f"name must be a string of at most 256 characters, got {_shown(value)}", param="name")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


