"""Alembic migrations: one history for SQLite and PostgreSQL (run by `app.schema`)."""
