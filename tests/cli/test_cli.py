import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.core.db import head_revision, make_engine


def _run(args: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, args, env={"LOG_FORMAT": "console", **(env or {})})


def test_help_lists_every_command() -> None:
    result = _run(["--help"])
    assert result.exit_code == 0
    for command in ("db", "web", "worker", "demo", "import", "dispatch"):
        assert command in result.output
    result = _run(["import", "--help"])
    assert "--skip-invalid" in result.output and "checkin_weekday" in result.output


def test_db_upgrade_on_a_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    result = _run(["db", "upgrade"], {"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    head = head_revision(make_engine(url))
    assert f"at migration {head}" in result.output
    assert f"current: {head}" in _run(["db", "current"], {"DATABASE_URL": url}).output


def test_unreachable_database_is_one_clear_line() -> None:
    result = _run(["db", "upgrade"], {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"})
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output and "Traceback" not in result.output


def test_bad_config_names_the_variable() -> None:
    result = _run(["db", "upgrade"], {"TZ_NAME": "Nowhere/Land"})
    assert result.exit_code == 1 and "TZ_NAME" in result.output


def test_import_via_cli_then_reimport(db_url: str, sessions: sessionmaker[Session],
                                      data_dir: Path) -> None:
    from bot.models import Tenant

    env = {"DATABASE_URL": db_url}
    first = _run(["import", "landlords", str(data_dir / "landlords.csv"), "--organisation",
                  "Odense Kommune"], env)
    assert first.exit_code == 0, first.output
    assert "2 created, 0 updated, 0 unchanged" in first.output
    for kind in ("caseworkers", "homes"):
        assert _run(["import", kind, str(data_dir / f"{kind}.csv")], env).exit_code == 0
    bad = _run(["import", "tenants", str(data_dir / "tenants_bad.csv")], env)
    assert bad.exit_code == 1
    assert "line 3, column 'phone'" in bad.output and "nothing was written" in bad.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 0
    skip = _run(["import", "tenants", str(data_dir / "tenants_bad.csv"), "--skip-invalid"], env)
    assert skip.exit_code == 0 and "2 created" in skip.output and "8 skipped" in skip.output
    again = _run(["import", "landlords", str(data_dir / "landlords.csv")], env)
    assert "0 created, 0 updated, 2 unchanged" in again.output


def test_import_refuses_an_unmigrated_database(tmp_path: Path, data_dir: Path) -> None:
    result = _run(["import", "landlords", str(data_dir / "landlords.csv")],
                  {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    assert result.exit_code == 1 and "trygthjem db upgrade" in result.output


def test_import_unknown_kind_and_missing_file() -> None:
    assert _run(["import", "pets", "x.csv"]).exit_code == 2
    result = _run(["import", "homes", "/nonexistent.csv"])
    assert result.exit_code == 2 and "does not exist" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ignore_sigint() -> None:
    # As for a job started in the background by a non-interactive shell (`make test &`):
    # SIGINT is ignored there, so a test that stops the demo with it leaves it running.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_demo(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    env = {**os.environ, "LOG_FORMAT": "console"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--port", str(port),
                             *extra],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=_ignore_sigint)
    return proc, port


def _wait_healthy(proc: subprocess.Popen[str], port: int) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("demo did not start") from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM and wait; whatever happens, the demo does not outlive the test."""
    try:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        return proc.returncode, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_demo_serves_healthz_loads_odense_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc, port = _start_demo(tmp_path)
    try:
        response = _wait_healthy(proc, port)
        assert response.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
    finally:
        code, out = _stop(proc)
    assert code == 0, out
    assert "Loaded the Odense demo data" in out and f"http://127.0.0.1:{port}/" in out
    assert "Trygt Hjem demo stopped." in out
    assert (tmp_path / "trygthjem-demo.sqlite3").exists()
    # Stopped cleanly: the write-ahead log was checkpointed and removed with the last connection.
    assert not (tmp_path / "trygthjem-demo.sqlite3-wal").exists()


def test_demo_reset_starts_with_fresh_demo_data(tmp_path: Path) -> None:
    import sqlite3

    proc, port = _start_demo(tmp_path)
    try:
        _wait_healthy(proc, port)
    finally:
        _stop(proc)
    db = tmp_path / "trygthjem-demo.sqlite3"
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE tenants SET name = 'Changed By Hand'")
    (tmp_path / "trygthjem-demo.sqlite3-shm").write_bytes(b"stale")
    proc, port = _start_demo(tmp_path, "--reset")
    try:
        _wait_healthy(proc, port)
    finally:
        code, out = _stop(proc)
    assert code == 0, out
    assert "starting with fresh demo data" in out and "Loaded the Odense demo data" in out
    with contextlib.closing(sqlite3.connect(db)) as con:
        names = {n for (n,) in con.execute("SELECT name FROM tenants")}
    assert "Changed By Hand" not in names and "Anna Sørensen" in names


def test_big_import_shows_progress_on_stderr(db_url: str, sessions: sessionmaker[Session],
                                             tmp_path: Path) -> None:
    f = tmp_path / "landlords.csv"
    rows = "".join(f"l{i}@udlejer.example;Udlejer {i};Firma {i};\n" for i in range(400))
    f.write_text("email;name;company;phone\n" + rows, encoding="utf-8-sig")
    result = _run(["import", "landlords", str(f), "--organisation", "Odense Kommune"],
                  {"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "checking landlords" in result.stderr and "400/400" in result.stderr
    assert "400 created" in result.stdout and "checking" not in result.stdout
