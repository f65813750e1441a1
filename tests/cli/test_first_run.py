"""What a new user meets first: pointing commands at the demo database, `db current` on a
missing file, readable logs at a terminal, and `make test`'s non-Python needs (issue 14)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.core.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, **env: str | None) -> Result:
    """A command in ``cwd`` without DATABASE_URL unless given (the way a new user types it)."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, args, env={"DATABASE_URL": None,
                                                   "LOG_FORMAT": "console", **env})
    finally:
        os.chdir(old)


def test_db_current_does_not_create_an_empty_database(tmp_path: Path) -> None:
    result = _run(["db", "current"], tmp_path)
    assert result.exit_code == 1
    assert "there is no database file trygthjem.sqlite3 (nothing was created)" in result.output
    assert "trygthjem db upgrade" in result.output
    assert list(tmp_path.iterdir()) == []
    other = tmp_path / "elsewhere.sqlite3"
    result = _run(["db", "current"], tmp_path, DATABASE_URL=f"sqlite:///{other}")
    assert result.exit_code == 1 and str(other) in result.output and not other.exists()


def test_commands_without_database_url_point_at_the_demo_database(tmp_path: Path) -> None:
    demo = tmp_path / "trygthjem-demo.sqlite3"
    upgrade(make_engine(f"sqlite:///{demo}"))
    hint = f"export DATABASE_URL=sqlite:///{demo.resolve()}"
    for args in (["db", "current"], ["tenant", "export", "+4528000301"], ["schedule", "show", "1"]):
        result = _run(args, tmp_path)
        assert result.exit_code == 1, args
        assert "DATABASE_URL is not set" in result.output and hint in result.output, args
        assert "Traceback" not in result.output
    assert not (tmp_path / "trygthjem.sqlite3").exists()
    # An old empty default file (as `db current` used to leave) gets the same pointer.
    empty_default = tmp_path / "trygthjem.sqlite3"
    make_engine(f"sqlite:///{empty_default}").connect().close()
    result = _run(["tenant", "pause", "1", "--until", "2030-01-01"], tmp_path)
    assert "schema is not current" in result.output and hint in result.output
    # With the hint followed, the command works.
    ok = _run(["db", "current"], tmp_path, DATABASE_URL=f"sqlite:///{demo}")
    assert ok.exit_code == 0 and "current: " in ok.output


def _worker_stderr(tmp_path: Path, *, tty: bool, log_format: str | None) -> str:
    db = tmp_path / "w.sqlite3"
    upgrade(make_engine(f"sqlite:///{db}"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(ROOT)}
    env.pop("LOG_FORMAT", None)
    for name in ("TWILIO_ACCOUNT_SID", "TELEGRAM_BOT_TOKEN"):
        env.pop(name, None)  # so the worker warns that these channels are off
    # One channel it can deliver through, or the worker rightly refuses to start at all.
    env["SMTP_HOST"] = "127.0.0.1"
    if log_format:
        env["LOG_FORMAT"] = log_format
    command = [sys.executable, "-m", "bot.cli", "worker", "--once"]
    if not tty:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stderr
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the worker closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.parametrize(("tty", "log_format", "json_lines"), [
    (True, None, False),  # a person at a terminal
    (False, None, True),  # a service manager, a pipe, a log collector
    (True, "json", True),  # asked for
    (False, "console", False),
])
def test_worker_once_logs_for_people_on_a_terminal_and_json_otherwise(
        tmp_path: Path, tty: bool, log_format: str | None, json_lines: bool) -> None:
    stderr = _worker_stderr(tmp_path, tty=tty, log_format=log_format)
    warnings = [line for line in stderr.splitlines() if "channel.disabled" in line]
    assert warnings, stderr
    assert all(line.lstrip().startswith("{") == json_lines for line in warnings), stderr


def test_ensure_test_deps_says_how_to_get_node_and_npm(tmp_path: Path) -> None:
    """Without node/npm, root or sudo, `make test` stops with the command to run, not a riddle."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "env"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        (bin_dir / tool).symlink_to(found)
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    done = subprocess.run([str(bin_dir / "bash"), str(ROOT / "scripts" / "ensure-test-deps"),
                           "npm"], env={"PATH": str(bin_dir)}, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 1
    assert "sudo apt-get install -y nodejs npm" in done.stderr, done.stderr


def test_the_demo_databases_side_files_are_ignored_by_git() -> None:
    names = ["trygthjem-demo.sqlite3", "trygthjem-demo.sqlite3-wal",
             "trygthjem-demo.sqlite3-shm", "trygthjem-demo.sqlite3-journal"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.split() == names, done.stderr
