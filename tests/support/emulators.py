"""Session fixtures that start the Twilio (Prism) and Telegram (telegram-test-api) emulators.

Loaded as a pytest plugin (``pytest_plugins = ["tests.support.emulators", ...]``).

Fixtures:
    prism                   -> EmulatorProcess (session): Prism mocking Twilio's 2010-04-01 API
    prism_url               -> str (session): "http://127.0.0.1:PORT" of that Prism
    twilio_emulator_client  -> twilio.rest.Client (function) talking to Prism
    telegram_emulator       -> TelegramEmulator (session): telegram-test-api + user-side helpers
    telegram_emulator_clean -> TelegramEmulator (function): the same, emptied before the test

The npm tools come from ``scripts/ensure-test-deps``; a missing tool or a failed start raises
(never skips), with the emulator's own output in the message. Start times are printed in the
terminal summary ("emulator start time").
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from bot.channels.twilio.http import RebasedTwilioHttpClient

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / ".emulators" / "node_modules"
PRISM_BIN = NODE_MODULES / ".bin" / "prism"
TELEGRAM_TEST_API = NODE_MODULES / "telegram-test-api"
TWILIO_SPEC = REPO_ROOT / "tests" / "emulators" / "twilio_api_v2010.json"
TELEGRAM_SCRIPT = Path(__file__).with_name("telegram_emulator.js")

# Prism only checks the shape: Account SID must match ^AC[0-9a-fA-F]{32}$, any auth is accepted.
TEST_ACCOUNT_SID = "AC" + "0" * 32
TEST_AUTH_TOKEN = "test-auth-token"
# telegram-test-api accepts any token; this one has the real "<id>:<secret>" shape.
TEST_BOT_TOKEN = "123456789:TEST-trygthjem-bot-token"
# What the emulator's getMe answers (hard-coded in telegram-test-api).
EMULATOR_BOT_ID = 666
EMULATOR_BOT_USERNAME = "TestNameBot"

START_TIMEOUT = 30.0  # generous: a cold CI box parses the 1.4 MB Twilio spec slowly
_START_TIMES_KEY = pytest.StashKey[dict[str, float]]()

INSTALL_HINT = "run scripts/ensure-test-deps from the repository root"


class EmulatorStartError(RuntimeError):
    """An emulator did not come up; the message carries its output."""


def free_port() -> int:
    """A TCP port that was free a moment ago (the emulators cannot bind port 0 themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorProcess:
    """A background emulator process on 127.0.0.1, its output in a log file."""

    def __init__(
        self,
        name: str,
        argv_for_port: Callable[[int], list[str]],
        is_ready: Callable[[str], bool],
        log_dir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self._argv_for_port = argv_for_port
        self._is_ready = is_ready
        self._env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""
        self.start_seconds = 0.0
        self._log_offset = 0  # where the current run's output starts in the log file

    def start(self, port: int | None = None, attempts: int = 3) -> None:
        """Start and wait until ``is_ready(url)``. If the port was taken between our probe and
        the emulator's bind, retry on a fresh port; any other failure raises at once."""
        for attempt in range(attempts):
            chosen = port if port is not None and attempt == 0 else free_port()
            try:
                self._start_once(chosen)
                return
            except EmulatorStartError as exc:
                self.stop()
                if "EADDRINUSE" not in str(exc) or attempt == attempts - 1:
                    raise

    def _start_once(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        argv = self._argv_for_port(port)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        began = time.monotonic()
        # Output goes to a file, not a pipe: Prism logs every request, and a pipe nobody reads
        # fills up and blocks the emulator mid-test.
        with self.log_path.open("ab") as log:
            log.write(f"--- {' '.join(argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,  # own process group, stopped as a whole in stop()
            )
        deadline = began + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmulatorStartError(
                    f"{self.name} exited with code {self.proc.returncode} while starting "
                    f"on port {port}:\n{self.log_tail()}"
                )
            if self._is_ready(self.url):
                self.start_seconds = time.monotonic() - began
                return
            time.sleep(0.05)
        raise EmulatorStartError(
            f"{self.name} did not answer on {self.url} within {START_TIMEOUT:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # The whole group we created: Prism may fork its HTTP server into a child.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    def log_tail(self, max_chars: int = 4000) -> str:
        """The end of the current run's output."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return text[-max_chars:] or "(no output)"


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise EmulatorStartError(f"{what} not found at {path}: {INSTALL_HINT}")


def _answers(method: str, url: str, **kwargs: Any) -> bool:
    try:
        response = httpx.request(method, url, timeout=1.0, trust_env=False, **kwargs)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _record_start(config: pytest.Config, name: str, seconds: float) -> None:
    config.stash.setdefault(_START_TIMES_KEY, {})[name] = seconds


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    times = config.stash.get(_START_TIMES_KEY, {})
    if times:
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items())
        terminalreporter.write_line(f"emulator start time: {parts}")


# --------------------------------------------------------------------------------------------
# Twilio: Prism on Twilio's OpenAPI spec


def start_prism(log_dir: Path) -> EmulatorProcess:
    """Start Prism on a free port and wait until it answers a real API call."""
    _require(PRISM_BIN, "Prism")
    _require(TWILIO_SPEC, "Twilio OpenAPI spec")
    probe = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"
    emulator = EmulatorProcess(
        "prism",
        lambda port: [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), str(TWILIO_SPEC)],
        lambda url: _answers("GET", url + probe, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)),
        log_dir,
    )
    emulator.start()
    return emulator


@pytest.fixture(scope="session")
def prism(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorProcess]:
    """Prism serving Twilio's API; ``.url``, ``.start_seconds``, ``.log_path``."""
    emulator = start_prism(tmp_path_factory.mktemp("emulators"))
    _record_start(request.config, "prism", emulator.start_seconds)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def prism_url(prism: EmulatorProcess) -> str:
    """Base URL of the Prism Twilio emulator, e.g. ``http://127.0.0.1:40123``."""
    return prism.url


@pytest.fixture(scope="session")
def prism_dynamic_url(request: pytest.FixtureRequest,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prism on Twilio's spec in dynamic mode (`prism mock -d`): a fresh sid for every message.

    In static mode every message gets the spec's one example sid, so tests that send several
    SMS and match status callbacks or log rows by sid need this one.
    """
    _require(PRISM_BIN, "Prism")
    probe = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"
    emulator = EmulatorProcess(
        "prism-dynamic",
        lambda port: [str(PRISM_BIN), "mock", "-d", "-h", "127.0.0.1", "-p", str(port),
                      str(TWILIO_SPEC)],
        lambda url: _answers("GET", url + probe, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)),
        tmp_path_factory.mktemp("emulators"))
    emulator.start()
    _record_start(request.config, "prism-dynamic", emulator.start_seconds)
    try:
        yield emulator.url
    finally:
        emulator.stop()


def make_twilio_emulator_client(
    base_url: str,
    account_sid: str = TEST_ACCOUNT_SID,
    auth_token: str = TEST_AUTH_TOKEN,
) -> Client:
    """A real ``twilio.rest.Client`` whose requests all go to ``base_url``."""
    http_client = RebasedTwilioHttpClient(base_url, timeout=10)
    if http_client.session is not None:
        http_client.session.trust_env = False  # never route 127.0.0.1 through a CI proxy
    return Client(account_sid, auth_token, http_client=http_client)


@pytest.fixture
def twilio_emulator_client(prism_url: str) -> Client:
    """Twilio ``Client`` pointed at Prism. ``http_client._test_only_last_response.text`` holds
    the raw body, with the reason of a 422 that ``TwilioRestException`` leaves out."""
    return make_twilio_emulator_client(prism_url)


# --------------------------------------------------------------------------------------------
# Telegram: telegram-test-api


class TelegramEmulator:
    """telegram-test-api plus helpers that act as the human on the other side of the bot."""

    def __init__(self, process: EmulatorProcess) -> None:
        self.process = process
        self._http = httpx.Client(timeout=5.0, trust_env=False)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def start_seconds(self) -> float:
        return self.process.start_seconds

    def close(self) -> None:
        self._http.close()
        self.process.stop()

    # -- plumbing

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        response = self._http.post(self.url + path, json=payload)
        if response.status_code != 200:
            raise RuntimeError(
                f"telegram emulator POST {path} -> HTTP {response.status_code}: {response.text}"
                f"\n{self.process.log_tail(2000)}"
            )
        body = response.json()
        if not body.get("ok"):
            raise RuntimeError(f"telegram emulator POST {path} -> {body}")
        return body.get("result")

    @staticmethod
    def user(user_id: int, first_name: str = "Test", language_code: str | None = None) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    @staticmethod
    def private_chat(chat_id: int, first_name: str = "Test") -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": first_name}

    def _user_message(
        self,
        token: str,
        chat_id: int,
        user_id: int,
        text: str,
        first_name: str,
        language_code: str | None,
    ) -> dict[str, Any]:
        return {
            "botToken": token,
            "date": int(time.time()),  # seconds, as Telegram sends them
            "text": text,
            "from": self.user(user_id, first_name, language_code),
            "chat": self.private_chat(chat_id, first_name),
        }

    # -- acting as a user

    def send_message(
        self,
        token: str,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        first_name: str = "Test",
        language_code: str | None = None,
    ) -> None:
        """The user types ``text`` to the bot. With a webhook set, delivery happens after this
        returns (the emulator does not await it): wait for its effect, not for this call."""
        self._post(
            "/sendMessage",
            self._user_message(token, chat_id, user_id, text, first_name, language_code),
        )

    def send_command(
        self,
        token: str,
        chat_id: int,
        user_id: int,
        command: str,
        *,
        first_name: str = "Test",
        language_code: str | None = None,
    ) -> None:
        """The user sends e.g. ``"/start abc"``; adds the ``bot_command`` entity PTB needs."""
        if not command.startswith("/"):
            raise ValueError(f"a command starts with '/': {command!r}")
        payload = self._user_message(token, chat_id, user_id, command, first_name, language_code)
        payload["entities"] = [
            {"offset": 0, "length": len(command.split(maxsplit=1)[0]), "type": "bot_command"}
        ]
        self._post("/sendCommand", payload)

    def send_callback(
        self,
        token: str,
        user_id: int,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        message_text: str = "",
        first_name: str = "Test",
    ) -> None:
        """The user presses an inline button with ``callback_data=data`` under the bot's
        message ``message_id`` (the emulator does not look the message up: we build it)."""
        self._post(
            "/sendCallback",
            {
                "botToken": token,
                "data": data,
                "from": self.user(user_id, first_name),
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self.private_chat(chat_id, first_name),
                    "from": {
                        "id": EMULATOR_BOT_ID,
                        "is_bot": True,
                        "first_name": "Test First name",
                        "username": EMULATOR_BOT_USERNAME,
                    },
                    "text": message_text,
                },
            },
        )

    # -- reading what the bot did

    def bot_messages(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """Bot messages to ``chat_id`` not returned before. Items look like
        ``{"messageId", "updateId", "time", "message": {"chat_id", "text", "reply_markup"...}}``;
        ``reply_markup`` is already a dict."""
        return list(self._post("/getUpdates", {"token": token, "chatId": chat_id}) or [])

    def wait_bot_messages(
        self, token: str, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Poll ``bot_messages`` until ``count`` arrived (sync: for async tests use
        ``await asyncio.to_thread(...)`` or ``await emulator.await_bot_messages(...)``)."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while True:
            found += self.bot_messages(token, chat_id)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} bot message(s) to chat {chat_id} within {timeout} s, "
                    f"got {len(found)}: {found}\nhistory: {self.history(token)}"
                )
            time.sleep(0.02)

    async def await_bot_messages(
        self, token: str, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """``wait_bot_messages`` for tests that run the bot's event loop meanwhile."""
        return await asyncio.to_thread(self.wait_bot_messages, token, chat_id, count, timeout)

    def history(self, token: str) -> list[dict[str, Any]]:
        """Everything stored for ``token``, user and bot side, oldest first, edits applied."""
        return list(self._post("/getUpdatesHistory", {"token": token}) or [])

    # -- isolation

    def reset(self) -> None:
        """Forget all messages and webhooks (restarts the server if it died)."""
        if not self.process.alive():
            self.process.stop()
            self.process.start(port=self.process.port)
        self._post("/__reset", {})


def start_telegram_emulator(log_dir: Path, store_timeout: int = 600) -> TelegramEmulator:
    """Start telegram-test-api on a free port and wait until it answers."""
    _require(TELEGRAM_TEST_API, "telegram-test-api")
    node = shutil.which("node")
    if node is None:
        raise EmulatorStartError(f"node not found on PATH: {INSTALL_HINT}")
    env = {**os.environ, "TELEGRAM_TEST_API_MODULE": str(TELEGRAM_TEST_API)}
    process = EmulatorProcess(
        "telegram-test-api",
        lambda port: [node, str(TELEGRAM_SCRIPT), str(port), str(store_timeout)],
        lambda url: _answers("POST", url + "/getUpdatesHistory", json={"token": "probe"}),
        log_dir,
        env=env,
    )
    process.start()
    return TelegramEmulator(process)


@pytest.fixture(scope="session")
def telegram_emulator(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TelegramEmulator]:
    """One telegram-test-api for the session. State leaks between tests that use this
    directly: prefer ``telegram_emulator_clean``."""
    emulator = start_telegram_emulator(tmp_path_factory.mktemp("emulators"))
    _record_start(request.config, "telegram-test-api", emulator.start_seconds)
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def telegram_emulator_clean(telegram_emulator: TelegramEmulator) -> TelegramEmulator:
    """The session's telegram-test-api with no messages or webhooks left from earlier tests."""
    telegram_emulator.reset()
    return telegram_emulator
