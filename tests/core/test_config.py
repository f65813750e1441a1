from datetime import time

import pytest

from bot.core.config import DEFAULT_DATABASE_URL, ConfigError, load_settings

SID = "AC" + "0" * 32


def test_defaults_need_nothing() -> None:
    s = load_settings({})
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.tz_name == "Europe/Copenhagen"
    assert (s.twilio, s.telegram, s.smtp) == (None, None, None)
    assert (s.quiet_start, s.quiet_end) == (time(21), time(8))
    assert s.holiday_country == "DK"
    assert len(s.disabled_channels()) == 3


def test_holiday_country_is_a_known_country_or_none() -> None:
    assert load_settings({"HOLIDAY_COUNTRY": " se "}).holiday_country == "SE"
    assert load_settings({"HOLIDAY_COUNTRY": "none"}).holiday_country is None


def test_postgres_urls_get_the_psycopg_driver() -> None:
    s = load_settings({"DATABASE_URL": "postgres://u@db:5432/th"})
    assert s.database_url == "postgresql+psycopg://u@db:5432/th"
    assert not s.is_sqlite


def test_full_twilio_and_telegram() -> None:
    s = load_settings({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "tok",
                       "TWILIO_FROM_NUMBER": "70 20 12 01", "TWILIO_API_URL": "http://127.0.0.1:4010/",
                       "TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "s3cr3t_-",
                       "PUBLIC_BASE_URL": "https://th.example/"})
    assert s.twilio is not None and s.twilio.from_number == "+4570201201"
    assert s.twilio.api_url == "http://127.0.0.1:4010"
    assert s.telegram is not None and s.telegram.webhook_secret == "s3cr3t_-"
    assert s.public_base_url == "https://th.example"


@pytest.mark.parametrize(("env", "names"), [
    ({"DATABASE_URL": "mysql://x"}, ["DATABASE_URL"]),
    ({"TZ_NAME": "Mars/Olympus"}, ["TZ_NAME"]),
    ({"PUBLIC_BASE_URL": "trygthjem.dk"}, ["PUBLIC_BASE_URL"]),
    ({"SECRET_KEY": "short"}, ["SECRET_KEY"]),
    ({"TWILIO_ACCOUNT_SID": SID}, ["TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"]),
    ({"TWILIO_ACCOUNT_SID": "nope", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+4570201201"},
     ["TWILIO_ACCOUNT_SID"]),
    ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "123"},
     ["TWILIO_FROM_NUMBER"]),
    ({"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_WEBHOOK_SECRET": "has space"},
     ["TELEGRAM_WEBHOOK_SECRET"]),
    ({"SMTP_HOST": "mail", "SMTP_PORT": "99999"}, ["SMTP_PORT"]),
    ({"SMS_RATE_PER_SECOND": "fast"}, ["SMS_RATE_PER_SECOND"]),
    ({"QUIET_HOURS_START": "9pm"}, ["QUIET_HOURS_START"]),
    ({"HOLIDAY_COUNTRY": "Danmark"}, ["HOLIDAY_COUNTRY"]),
    ({"LOG_LEVEL": "chatty", "LOG_FORMAT": "xml"}, ["LOG_LEVEL", "LOG_FORMAT"]),
])
def test_bad_values_name_the_variable(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    for name in names:
        assert name in str(info.value)
    assert len(info.value.problems) == len(names) or names == ["TWILIO_AUTH_TOKEN",
                                                                "TWILIO_FROM_NUMBER"]


def test_blank_values_count_as_unset() -> None:
    s = load_settings({"TWILIO_ACCOUNT_SID": "  ", "DATABASE_URL": ""})
    assert s.twilio is None and s.database_url == DEFAULT_DATABASE_URL
