"""Settings from the environment (12-factor), validated once at start.

Every problem is reported with the variable's name, so an operator can fix a deployment from the
error message alone. Secrets are only ever read from the environment, never from files in the repo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.checkin_rules import DEFAULT_MISS_THRESHOLDS
from bot.models.enums import Severity

DEFAULT_DATABASE_URL = "sqlite:///trygthjem.sqlite3"
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


class ConfigError(ValueError):
    """One or more environment variables are invalid; the message names each of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str
    api_url: str | None = None


@dataclass(frozen=True)
class TelegramSettings:
    bot_token: str
    webhook_secret: str | None = None
    api_url: str | None = None
    bot_username: str | None = None  # for invite links; asked from getMe when not set


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    sender: str = "trygthjem@localhost"
    starttls: bool = False


@dataclass(frozen=True)
class AlertWebhookSettings:
    url: str
    secret: str


ALERT_SMS_DETAIL_LEVELS = ("name_area", "minimal")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    public_base_url: str | None = None
    # Defaults for a NEW organisation only (TZ_NAME, QUIET_HOURS_*): each municipality then
    # keeps its own on its row (bot.core.organisations; `trygthjem org set`).
    tz_name: str = "Europe/Copenhagen"
    # Whose public holidays close working hours (bot.core.public_holidays); None: no holidays.
    holiday_country: str | None = "DK"
    twilio: TwilioSettings | None = None
    telegram: TelegramSettings | None = None
    smtp: SmtpSettings | None = None
    # Messages per second per sending number; a Danish long code takes about one per second.
    sms_rate_per_second: float = 1.0
    # Sends one dispatcher keeps in flight: its rate is at most this / provider latency.
    dispatch_concurrency: int = 16
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    log_format: str = "json"
    log_level: str = "INFO"
    console_channels: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    # Check-in scheduler: "at least N consecutive misses -> severity", and rows per batch.
    miss_thresholds: Mapping[int, Severity] = field(default_factory=lambda: DEFAULT_MISS_THRESHOLDS)
    checkin_batch_size: int = 500
    # GDPR retention: message bodies and audit details older than this are blanked.
    retention_days: int = 365
    # --- escalation / caseworker alerts ---
    alert_sms_detail: str = "name_area"  # name_area | minimal: how much an alert SMS reveals
    alert_webhook: AlertWebhookSettings | None = None
    # Reverse proxies in front of the web processes whose X-Forwarded-For is believed (the
    # client address decides login throttling and the audit log).
    trusted_proxies: int = 0
    # --- operations: /metrics (web) and the worker's own metrics port ---
    metrics_token: str | None = None  # bearer token; without it only loopback may scrape
    metrics_port: int | None = None  # the worker serves its metrics here when set

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def disabled_channels(self) -> list[str]:
        """Human-readable reasons for channels that are off, logged once at start."""
        reasons = []
        if self.twilio is None:
            reasons.append("SMS (Twilio) disabled: TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN/"
                           "TWILIO_FROM_NUMBER not set")
        if self.telegram is None:
            reasons.append("Telegram disabled: TELEGRAM_BOT_TOKEN not set")
        if self.smtp is None:
            reasons.append("E-mail disabled: SMTP_HOST not set")
        return reasons


def _clean(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_time(env: Mapping[str, str], name: str, default: time, problems: list[str]) -> time:
    raw = _clean(env, name)
    if raw is None:
        return default
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", raw)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        problems.append(f"{name}={raw!r} is not a time of day like 21:00")
        return default
    return time(int(m.group(1)), int(m.group(2)))


def _check_url(name: str, value: str | None, problems: list[str]) -> None:
    if value is None:
        return
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"{name}={value!r} must be an absolute http(s) URL")


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out (postgres://) and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _digits(raw: str) -> bool:
    """Safe for int(): str.isdigit() alone accepts "²", and int() refuses over 4300 digits."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def _parse_int(env: Mapping[str, str], name: str, default: int, low: int, high: int,
               expect: str, problems: list[str]) -> int:
    """A whole number in [low, high]; otherwise `expect` is reported and the default used."""
    raw = _clean(env, name)
    if raw is None:
        return default
    if not _digits(raw) or not low <= int(raw) <= high:
        problems.append(f"{name}={raw!r} {expect}")
        return default
    return int(raw)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate all settings; raise ConfigError listing every problem at once."""
    env = os.environ if env is None else env
    problems: list[str] = []

    database_url = normalise_database_url(_clean(env, "DATABASE_URL") or DEFAULT_DATABASE_URL)
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", database_url):
        problems.append(f"DATABASE_URL must be an sqlite:/// or postgresql:// URL, got "
                        f"{database_url.split('://')[0]!r}")

    tz_name = _clean(env, "TZ_NAME") or "Europe/Copenhagen"
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"TZ_NAME={tz_name!r} is not a known time zone (e.g. Europe/Copenhagen)")
        tz_name = "Europe/Copenhagen"

    holiday_country = _holiday_country(env, problems)

    public_base_url = _clean(env, "PUBLIC_BASE_URL")
    _check_url("PUBLIC_BASE_URL", public_base_url, problems)
    if public_base_url:
        public_base_url = public_base_url.rstrip("/")

    secret_key = _clean(env, "SECRET_KEY")
    if secret_key is not None and len(secret_key) < 16:
        problems.append("SECRET_KEY is too short: use at least 16 random characters")

    twilio = None
    twilio_vars = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
    present = {n: _clean(env, n) for n in twilio_vars}
    if any(present.values()):
        missing = [n for n, v in present.items() if not v]
        if missing:
            problems.append(f"{', '.join(missing)} must be set together with the other TWILIO_ "
                            "variables")
        else:
            sid = present["TWILIO_ACCOUNT_SID"] or ""
            if not _ACCOUNT_SID.match(sid):
                problems.append("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
            from bot.core.phones import InvalidPhone, normalise_phone

            try:
                from_number = normalise_phone(present["TWILIO_FROM_NUMBER"] or "")
            except InvalidPhone as exc:
                problems.append(f"TWILIO_FROM_NUMBER: {exc}")
                from_number = ""
            api_url = _clean(env, "TWILIO_API_URL")
            _check_url("TWILIO_API_URL", api_url, problems)
            twilio = TwilioSettings(sid, present["TWILIO_AUTH_TOKEN"] or "", from_number,
                                    api_url.rstrip("/") if api_url else None)

    telegram = None
    token = _clean(env, "TELEGRAM_BOT_TOKEN")
    if token:
        api_url = _clean(env, "TELEGRAM_API_URL")
        _check_url("TELEGRAM_API_URL", api_url, problems)
        secret = _clean(env, "TELEGRAM_WEBHOOK_SECRET")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            problems.append("TELEGRAM_WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and - "
                            "(Telegram's rule), 1-256 characters")
        username = _clean(env, "TELEGRAM_BOT_USERNAME")
        if username is not None:
            username = username.lstrip("@")
            if not re.fullmatch(r"[A-Za-z0-9_]{5,32}", username):
                problems.append("TELEGRAM_BOT_USERNAME must be the bot's username, 5-32 "
                                "characters of A-Z, a-z, 0-9 and _ (e.g. TrygtHjemBot)")
        telegram = TelegramSettings(token, secret, api_url.rstrip("/") if api_url else None,
                                    username)

    smtp = None
    smtp_host = _clean(env, "SMTP_HOST")
    if smtp_host:
        port = _parse_int(env, "SMTP_PORT", 25, 1, 65535, "is not a port number", problems)
        smtp = SmtpSettings(
            host=smtp_host,
            port=port,
            username=_clean(env, "SMTP_USERNAME"),
            password=_clean(env, "SMTP_PASSWORD"),
            sender=_clean(env, "SMTP_FROM") or "trygthjem@localhost",
            starttls=(_clean(env, "SMTP_STARTTLS") or "").lower() in ("1", "true", "yes"),
        )

    rate_raw = _clean(env, "SMS_RATE_PER_SECOND") or "1"
    try:
        rate = float(rate_raw)
        if not 0 < rate <= 100:
            raise ValueError
    except ValueError:
        problems.append(f"SMS_RATE_PER_SECOND={rate_raw!r} must be a number between 0 and 100")
        rate = 1.0

    dispatch_concurrency = _parse_int(env, "DISPATCH_CONCURRENCY", 16, 1, 64,
                                      "must be a whole number of sends in flight, 1-64", problems)

    # Unset: readable lines for a person at a terminal, JSON for a log collector.
    log_format = (_clean(env, "LOG_FORMAT") or "auto").lower()
    if log_format not in ("json", "console", "auto"):
        problems.append(f"LOG_FORMAT={log_format!r} must be json, console or auto")
    log_level = (_clean(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")

    quiet_start = _parse_time(env, "QUIET_HOURS_START", time(21, 0), problems)
    quiet_end = _parse_time(env, "QUIET_HOURS_END", time(8, 0), problems)

    miss_thresholds = _parse_miss_thresholds(env, problems)
    batch_size = _parse_int(env, "CHECKIN_BATCH_SIZE", 500, 10, 10000,
                            "must be a whole number 10-10000", problems)
    retention_days = _parse_int(env, "RETENTION_DAYS", 365, 30, 3650,
                                "must be a whole number of days between 30 and 3650", problems)
    alert_sms_detail, alert_webhook = _alert_settings(env, problems)
    trusted_proxies = _parse_int(env, "TRUSTED_PROXIES", 0, 0, 5,
                                 "must be the number of proxies in front of the app, 0-5",
                                 problems)
    metrics_token = _clean(env, "METRICS_TOKEN")
    if metrics_token is not None and len(metrics_token) < 16:
        problems.append("METRICS_TOKEN is too short: use at least 16 random characters")
    metrics_port = _parse_int(env, "METRICS_PORT", 0, 1, 65535, "is not a port number",
                              problems) or None

    if problems:
        raise ConfigError(problems)
    return Settings(
        database_url=database_url,
        secret_key=secret_key,
        public_base_url=public_base_url,
        tz_name=tz_name,
        holiday_country=holiday_country,
        twilio=twilio,
        telegram=telegram,
        smtp=smtp,
        sms_rate_per_second=rate,
        dispatch_concurrency=dispatch_concurrency,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        log_format=log_format,
        log_level=log_level,
        console_channels=(_clean(env, "CONSOLE_CHANNELS") or "").lower() in ("1", "true", "yes"),
        miss_thresholds=miss_thresholds,
        checkin_batch_size=batch_size,
        retention_days=retention_days,
        alert_sms_detail=alert_sms_detail,
        alert_webhook=alert_webhook,
        trusted_proxies=trusted_proxies,
        metrics_token=metrics_token,
        metrics_port=metrics_port,
    )


def _holiday_country(env: Mapping[str, str], problems: list[str]) -> str | None:
    """HOLIDAY_COUNTRY: an ISO country code the `holidays` package knows (DK), or none."""
    from bot.core.public_holidays import is_supported

    raw = (_clean(env, "HOLIDAY_COUNTRY") or "DK").upper()
    if raw == "NONE":
        return None
    if not is_supported(raw):
        problems.append(f"HOLIDAY_COUNTRY={raw!r} is not a country code with known public "
                        "holidays (e.g. DK), or none")
        return "DK"
    return raw


def _parse_miss_thresholds(env: Mapping[str, str],
                           problems: list[str]) -> Mapping[int, Severity]:
    """MISSED_ALERT_THRESHOLDS="1:low,2:high": from N consecutive misses on, that severity."""
    raw = _clean(env, "MISSED_ALERT_THRESHOLDS")
    if raw is None:
        return DEFAULT_MISS_THRESHOLDS
    result: dict[int, Severity] = {}
    for part in raw.split(","):
        count, _, severity = part.strip().partition(":")
        severity = severity.strip().lower()
        if not _digits(count.strip()) or int(count) < 1 or severity not in (
                "low", "high", "critical"):
            problems.append(f"MISSED_ALERT_THRESHOLDS={raw!r} must look like '1:low,2:high' "
                            "(count >= 1, severity low, high or critical)")
            return DEFAULT_MISS_THRESHOLDS
        result[int(count)] = Severity(severity)
    return result


def _alert_settings(env: Mapping[str, str],
                    problems: list[str]) -> tuple[str, AlertWebhookSettings | None]:
    """ALERT_SMS_DETAIL and the outgoing alert webhook (URL and secret only together)."""
    detail = (_clean(env, "ALERT_SMS_DETAIL") or "name_area").lower()
    if detail not in ALERT_SMS_DETAIL_LEVELS:
        problems.append(f"ALERT_SMS_DETAIL={detail!r} must be name_area or minimal")
        detail = "name_area"
    url = _clean(env, "ALERT_WEBHOOK_URL")
    secret = _clean(env, "ALERT_WEBHOOK_SECRET")
    if url is None and secret is None:
        return detail, None
    if url is None or secret is None:
        missing = "ALERT_WEBHOOK_URL" if url is None else "ALERT_WEBHOOK_SECRET"
        problems.append(f"{missing} must be set together with "
                        f"{'ALERT_WEBHOOK_SECRET' if url is None else 'ALERT_WEBHOOK_URL'}")
        return detail, None
    before = len(problems)
    _check_url("ALERT_WEBHOOK_URL", url, problems)
    if len(secret) < 16:
        # The receiver verifies with it; a short secret can be guessed offline from one request.
        problems.append("ALERT_WEBHOOK_SECRET is too short: use at least 16 random characters")
    if len(problems) > before:
        return detail, None
    return detail, AlertWebhookSettings(url, secret)
