"""SQLite: the inbound webhook's write transactions queue on the file's writer lock.

Web processes writing one SQLite file used to poll SQLite's lock in the busy handler's sleeps
and could miss it again and again (the webhook's p99 under load); now they wait their turn on a
blocking file lock (`bot.core.db.write_turn`). PostgreSQL needs no such queue.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine

from bot.core.db import write_turn
from tests.support.factories import World
from tests.support.sms import SMS_PATH, inbound_form, post_signed, twiml_messages

HOLD = 0.6


def _hold_lock_in_another_process(lock_path: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({lock_path!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         f"time.sleep({HOLD})\n"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _lock_path(engine: Engine) -> str:
    assert engine.url.database
    return str(Path(engine.url.database).resolve()) + "-writers.lock"


def test_webhook_waits_for_another_process_writer_turn(
        sms_client: FlaskClient, world: World, engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer only; PostgreSQL writers do not queue")
    holder = _hold_lock_in_another_process(_lock_path(engine))
    started = time.monotonic()
    response = post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1"))
    waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert twiml_messages(response)
    assert waited >= HOLD * 0.6  # it waited for the other process instead of writing past it


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'turns.sqlite3'}")
    inside: list[int] = []
    overlaps: list[int] = []

    def writer() -> None:
        for _ in range(20):
            with write_turn(engine):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert overlaps == []


def test_no_queue_for_postgresql_or_memory() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with write_turn(create_engine(url)):
            pass  # nothing to open, nothing to wait for
