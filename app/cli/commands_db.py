"""`aideator db upgrade|status`: the database schema (Alembic migrations)."""

from __future__ import annotations

import asyncio

import typer

from app.cli.console import out
from app.cli.errors import CliError

db_app = typer.Typer(
    name="db",
    help="The database schema: upgrade it before starting a new version on PostgreSQL.",
    no_args_is_help=True,
)


def _database_url() -> str:
    from app.config import get_settings

    return get_settings().database_url


async def _run(action: str) -> str:
    from app import schema
    from app.db import Database

    db = Database(_database_url())
    try:
        if action == "upgrade":
            before = await schema.read_state(db)
            after = await schema.upgrade(db)
            if before.current == after.current:
                return f"database schema already at revision {after.current} (head)"
            return f"database schema upgraded from {before.current or 'empty'} to {after.current}"
        state = await schema.read_state(db)
        if not state.known:
            return f"database schema at revision {state.current}: unknown to this version"
        if state.up_to_date:
            return f"database schema at revision {state.current} (head)"
        have = state.current or ("from before migrations" if state.legacy else "empty")
        return f"database schema {have}; head is {state.head}: run `aideator db upgrade`"
    except schema.SchemaMismatch as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot reach the database: {exc}") from None
    finally:
        await db.dispose()


@db_app.command()
def upgrade() -> None:
    """Migrate the database named by AIDEATOR_DATABASE_URL to this version's schema."""
    out().print(asyncio.run(_run("upgrade")))


@db_app.command()
def status() -> None:
    """Show the database's schema revision and whether it needs an upgrade."""
    out().print(asyncio.run(_run("status")))
