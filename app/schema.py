"""Schema versions: Alembic upgrades, and the check that refuses an unknown schema.

The server starts only on the schema this release knows. An embedded SQLite database is
upgraded by itself; a shared PostgreSQL database is upgraded on purpose with
`aideator db upgrade` (under an advisory lock, so replicas that run it at once take turns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from app.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
# Any fixed number: replicas that run `db upgrade` at once take turns.
_PG_LOCK_KEY = 0x41_49_44_45


class SchemaMismatch(Exception):
    """The database schema is not the one this release runs on."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None: none recorded) and the code's head."""

    current: str | None
    head: str
    known: bool
    legacy: bool  # tables from before migrations existed, no revision recorded

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the head revision."""
        return self.current == self.head


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest revision this release knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _state(conn: Connection) -> SchemaState:
    script = ScriptDirectory.from_config(_config())
    current = MigrationContext.configure(conn).get_current_revision()
    known = current is None or script.get_revision(current) is not None
    legacy = current is None and inspect(conn).has_table("runs")
    return SchemaState(current, head_revision(), known, legacy)


def _safe_state(conn: Connection) -> SchemaState:
    try:
        return _state(conn)
    except Exception as exc:  # alembic raises for revisions missing from the scripts
        if "Can't locate revision" not in str(exc):
            raise
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return SchemaState(str(current), head_revision(), False, False)


def _upgrade(conn: Connection, revision: str = "head") -> SchemaState:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    state = _safe_state(conn)
    _refuse_unknown(state)
    if state.up_to_date:
        return state
    cfg = _config(conn)
    if state.legacy:
        # A database created before migrations existed holds exactly the baseline.
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, revision)
    return _state(conn)


def _refuse_unknown(state: SchemaState) -> None:
    if not state.known:
        raise SchemaMismatch(
            f"the database schema is at revision {state.current}, which this version of "
            f"AIdeator does not know (it knows up to {state.head}); a newer AIdeator "
            "migrated it: run that version"
        )


async def read_state(db: Database) -> SchemaState:
    """The database's schema revision and this release's head."""
    async with db.reader() as conn:
        return await conn.run_sync(_safe_state)


async def upgrade(db: Database, revision: str = "head") -> SchemaState:
    """Migrate the database to the head (or `revision`; idempotent); the state afterwards."""
    async with db.writer() as conn:
        return await conn.run_sync(_upgrade, revision)


async def prepare(db: Database, *, auto_upgrade: bool) -> SchemaState:
    """Make sure the schema is the head: upgrade it (when allowed) or raise SchemaMismatch."""
    state = await read_state(db)
    _refuse_unknown(state)
    if state.up_to_date:
        return state
    if auto_upgrade:
        return await upgrade(db)
    have = state.current or ("from before migrations" if state.legacy else "empty")
    raise SchemaMismatch(
        f"the database schema is {have}, this version of AIdeator needs revision "
        f"{state.head}: run `aideator db upgrade` once (with the same AIDEATOR_DATABASE_URL), "
        "then start the server"
    )
