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


def test_demo_serves_healthz_and_loads_odense(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "LOG_FORMAT": "console"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"demo did not start: {proc.stdout.read()}") from None
                time.sleep(0.2)
        assert response.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    assert "Loaded the Odense demo data" in out and f"http://127.0.0.1:{port}/" in out
    assert (tmp_path / "trygthjem-demo.sqlite3").exists()


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
