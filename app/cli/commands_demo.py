"""`aideator demo`: three variations on the sample repository, live, with nothing to set up."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from app.cli.console import out
from app.cli.errors import EXIT_INTERRUPTED, CliError
from app.cli.follow import follow_run
from app.cli.options import GLOBAL, EmbeddedOpt, QuietOpt
from app.cli.runs_common import private_data_hint, serve_port, serve_url, start_run
from app.cli.session import connect, embedded_settings
from app.cli.tables import print_outcome
from app.package_files import PackageFilesMissing, sample_repo_dir
from app.schemas import RunCreate, VariationSpec

PROMPT = (
    "The median test fails for lists of even length. "
    "Fix numstats so that `python3 -m unittest -q` passes."
)
CHECK = "python3 -m unittest -q"
SCRIPTED_MODELS = ("scripted/fix-correct", "scripted/fix-bad", "scripted/no-change")
REAL_MODEL = "claude-sonnet-4-5"
CHUNK_DELAY = 0.02  # the scripted model is instant; a small delay makes the streaming visible
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "aideator demo",
    "GIT_AUTHOR_EMAIL": "demo@aideator.invalid",
    "GIT_COMMITTER_NAME": "aideator demo",
    "GIT_COMMITTER_EMAIL": "demo@aideator.invalid",
}


def copy_sample_repo(dest: Path) -> Path:
    """A committed git copy of the sample repository the package carries, at `dest`."""
    try:
        sample = sample_repo_dir()
    except PackageFilesMissing as exc:
        raise CliError(str(exc), hint="reinstall aideator (see README.md, Install)") from None
    shutil.copytree(sample, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {**os.environ, **_GIT_ENV}
    try:
        for argv in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "-A"],
            ["git", "commit", "-q", "-m", "sample repository"],
        ):
            subprocess.run(argv, cwd=dest, env=env, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise CliError(
            f"could not make a git copy of the sample: {exc}", hint="is git installed?"
        ) from None
    return dest


def _wait_for_ctrl_c(url: str) -> None:
    out().print(Text(f"serving {url} — press Ctrl-C to stop", style="bold"), soft_wrap=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out().print("stopped")


def demo(
    keep_serving: Annotated[
        bool,
        typer.Option(
            "--keep-serving", help="Keep the server running after the run, to open it in a browser."
        ),
    ] = False,
    embedded: EmbeddedOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Try AIdeator: 3 variations fix a sample repository, live, then a score table.

    Without ANTHROPIC_API_KEY the agents (the real Claude Code CLI) talk to AIdeator's
    scripted model, not Claude: fix-correct, fix-bad and no-change. With a key, three
    variations of claude-sonnet-4-5. Runs an embedded server (default backend; data where
    `aideator serve` keeps it) and allows local repositories for it. While `aideator serve`
    runs, the demo uses it if it accepts local repositories, else a private embedded server.
    """
    started = time.monotonic()
    base = embedded_settings(0, debug=GLOBAL.debug, overrides={})
    overrides: dict[str, object] = {"allow_local_repos": True}
    if "scripted_chunk_delay" not in base.model_fields_set:
        overrides["scripted_chunk_delay"] = CHUNK_DELAY
    models = SCRIPTED_MODELS if base.uses_scripted_model else (REAL_MODEL,) * 3
    workdir = Path(tempfile.mkdtemp(prefix="aideator-demo-"))
    try:
        repo = copy_sample_repo(workdir / "sample-repo")
        body = RunCreate(
            repo_url=str(repo),
            prompt=PROMPT,
            variations=[VariationSpec(model=m) for m in models],
            check_command=CHECK,
            winner_policy="best_score",
        )
        port = serve_port() if keep_serving else 0
        with connect(
            None,
            debug=GLOBAL.debug,
            overrides=overrides,
            port=port,
            embedded=embedded,
            starts_run=True,
        ) as conn:
            accepted = start_run(conn, body)
            followed = follow_run(conn.client, accepted, quiet=quiet)
            console = out()
            console.print()
            print_outcome(console, followed.run)
            console.print(Text(f"demo took {time.monotonic() - started:.1f} s", style="dim"))
            if followed.cancelled_by_user:
                raise typer.Exit(EXIT_INTERRUPTED)
            if keep_serving:
                _wait_for_ctrl_c(f"{conn.url}/#/runs/{accepted.run_id}")
            elif conn.private_data is not None:
                console.print(private_data_hint(conn), soft_wrap=True, highlight=False)
            else:
                console.print(
                    f"see it in the browser: run `aideator serve`, then open "
                    f"{serve_url()}/#/runs/{accepted.run_id}",
                    soft_wrap=True,
                    highlight=False,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
