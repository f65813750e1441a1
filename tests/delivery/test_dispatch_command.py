"""`trygthjem dispatch` as a long-running process: several of them share the queue, and SIGTERM
stops each after the message in hand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Heartbeat, OutboxItem, OutboxStatus
from tests.support.dispatch import enqueue_sms

ROOT = Path(__file__).resolve().parents[2]


def _start(db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "CONSOLE_CHANNELS": "1",
           "LOG_FORMAT": "console", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "dispatch", "--poll", "0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _until_running(proc: subprocess.Popen[str]) -> str:
    """What the process printed up to and including its 'Dispatcher running' line."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Dispatcher running"):
            return "".join(lines)
    raise AssertionError(f"the dispatcher exited: {''.join(lines)}")


def _sent(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxItem)
                        .where(OutboxItem.status == OutboxStatus.SENT)) or 0


def test_two_dispatch_processes_send_each_row_once_and_stop_on_sigterm(
        db_url: str, sessions: sessionmaker[Session]) -> None:
    procs = [_start(db_url), _start(db_url)]
    # Both running before any work: a SIGTERM during start-up would end one unhandled.
    early = [_until_running(p) for p in procs]
    try:
        keys = enqueue_sms(sessions, 20)
        deadline = time.monotonic() + 60
        while _sent(sessions) < 20:
            assert time.monotonic() < deadline, f"sent {_sent(sessions)} of 20"
            assert all(p.poll() is None for p in procs), "a dispatcher exited"
            time.sleep(0.1)
        keys += enqueue_sms(sessions, 5, prefix="late")  # they keep polling
        while _sent(sessions) < 25:
            assert time.monotonic() < deadline, f"sent {_sent(sessions)} of 25"
            time.sleep(0.1)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [before + p.communicate(timeout=30)[0] for before, p in zip(early, procs,
                                                                                strict=True)]
    assert [p.returncode for p in procs] == [0, 0], outputs
    printed = Counter(line.rsplit(" ", 1)[-1] for out in outputs for line in out.splitlines()
                      if line.startswith("[sms -> "))
    assert printed == Counter(keys)  # each body "Hej <key>" printed by exactly one process
    with sessions() as s:  # each said it was sending (replies rely on that: "told")
        assert s.scalar(select(func.count()).select_from(Heartbeat)
                        .where(Heartbeat.kind == "dispatcher")) == 2
