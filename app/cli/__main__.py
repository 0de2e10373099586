"""`python -m app.cli` runs the `aideator` command."""

from app.cli import main

main()
