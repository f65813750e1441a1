"""The worker's fast lane: committed alerts and messages go out at once, not at the next poll.

No interval scheduler runs in these tests, so without a wake-up nothing would be sent at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bot.channels.console import ConsoleChannel
from bot.core.db import make_engine
from bot.core.wakeup import Signal, announce, local_signal
from bot.runtime import Runtime
from scheduler.runner import build_fast_lane
from scheduler.wakeups import FastLane, PostgresListener
from tests.conftest import PG_URL
from tests.support.factories import World
from tests.support.sms import inbound_form, post_signed, twiml_messages

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 3.0  # the goal is < 1 s; the margin is for a busy test machine, not for polling


def _wait_for(condition: Callable[[], bool], timeout: float = DEADLINE_S) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.01)
    return time.perf_counter() - started


@pytest.fixture
def fast_lane(sms_runtime: Runtime) -> Iterator[FastLane]:
    local_signal.wait(0)
    lane = build_fast_lane(sms_runtime)
    lane.start()
    if lane.listener is not None:
        assert lane.listener.listening.wait(5)
    _wait_for(lambda: lane.passes >= 1 or lane.listener is None)  # the start-up look
    yield lane
    lane.stop()


def _sent(runtime: Runtime) -> list[str]:
    return [m.recipient for ch in runtime.channels.values() if isinstance(ch, ConsoleChannel)
            for m in ch.sent]


def test_tenant_help_reaches_the_caseworker_at_once(world: World, sms_runtime: Runtime,
                                                   sms_client: FlaskClient,
                                                   fast_lane: FastLane) -> None:
    response = post_signed(sms_client, "/webhooks/twilio/sms",
                           inbound_form(world.tenant.phone, "3"))
    assert twiml_messages(response)
    _wait_for(lambda: world.caseworker.phone in _sent(sms_runtime))


def test_another_process_commit_wakes_the_worker(db_url: str, sms_runtime: Runtime,
                                                 fast_lane: FastLane) -> None:
    if fast_lane.listener is None:
        pytest.skip("separate web and worker processes wake through PostgreSQL NOTIFY")
    script = ("from bot.core.db import make_engine, make_session_factory, transaction\n"
              "from bot.core import outbox\n"
              f"sessions = make_session_factory(make_engine({db_url!r}))\n"
              "with transaction(sessions) as s:\n"
              "    outbox.enqueue(s, channel='sms', recipient='+4528000399', body='Hej',"
              " key='from-web')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    _wait_for(lambda: "+4528000399" in _sent(sms_runtime))


def test_wakeups_during_a_pass_fold_into_one_more() -> None:
    signal, release, calls = Signal(), threading.Event(), []

    def slow_job() -> None:
        calls.append(time.perf_counter())
        release.wait(5)

    lane = FastLane([slow_job], signal=signal)
    lane.start()
    try:
        signal.set()
        _wait_for(lambda: len(calls) == 1)
        for _ in range(20):  # a burst of commits while the first pass is still busy
            signal.set()
        release.set()
        _wait_for(lambda: lane.passes == 2)
        time.sleep(0.3)
        assert lane.passes == 2, "a burst of wake-ups is one more pass, not a backlog"
    finally:
        lane.stop()


@pytest.fixture
def other_schema(engine: Engine) -> Iterator[Engine]:
    """A second schema in the same PostgreSQL database: another test run or deployment."""
    if engine.dialect.name != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's; SQLite wakes in-process only")
    schema = f"th_other_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    other = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield other
    other.dispose()
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _commit_work(engine: Engine) -> None:
    with Session(engine) as session:
        announce(session)  # as an alert or outbox insert would
        session.commit()


def test_notify_wakes_only_the_listener_of_the_same_schema(engine: Engine,
                                                           other_schema: Engine) -> None:
    stop = threading.Event()
    ours, theirs = Signal(), Signal()
    listeners = [PostgresListener(engine, ours, stop), PostgresListener(other_schema, theirs, stop)]
    threads = [threading.Thread(target=lis.run, daemon=True) for lis in listeners]
    for thread in threads:
        thread.start()
    try:
        for lis, signal in zip(listeners, (ours, theirs), strict=True):
            assert lis.listening.wait(5)
            assert signal.wait(DEADLINE_S)  # the start-up look; what follows is a notification
        _commit_work(other_schema)
        assert theirs.wait(DEADLINE_S), "the other schema's own worker is woken"
        assert not ours.wait(0.5), "work committed in another schema woke this worker"
        _wait_for(lambda: listeners[0].ignored >= 1)  # it was delivered, and set aside
        _commit_work(engine)
        assert ours.wait(DEADLINE_S)
        assert not theirs.wait(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
