"""Working hours know Danish public holidays (bot.core.public_holidays with bot.core.timing).

Reference dates (Copenhagen): Easter Sunday 2026-04-05 and 2027-03-28 (also the spring DST
change); Kristi himmelfartsdag Thu 2026-05-14; 2. pinsedag Mon 2026-05-25; grundlovsdag
Fri 2026-06-05; 24-26 December 2025 Wed-Fri; 31 December 2026 a Thursday, 1 January 2027 a
Friday. Store bededag was Fri 2023-05-05, the last one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import public_holidays
from bot.core.public_holidays import WHOLE_DAY, closing_time, closures
from bot.core.timing import DEFAULT_TZ, in_working_hours, local_to_utc, next_working_moment

DK = closing_time("DK")
CPH = ZoneInfo(DEFAULT_TZ)
HYPO = settings(database=None, deadline=None, max_examples=300)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cph(*args: int) -> datetime:
    return local_to_utc(date(*args[:3]), time(*args[3:]), DEFAULT_TZ)


def next_dk(when: datetime, start: time = time(8), end: time = time(16)) -> datetime:
    return next_working_moment(when, DEFAULT_TZ, start=start, end=end, closes=DK)


# --------------------------------------------------------------------------- the calendar


def test_danish_public_holidays_close_the_whole_day() -> None:
    year = closures("DK", 2026)
    for day in (date(2026, 1, 1), date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6),
                date(2026, 5, 14), date(2026, 5, 25), date(2026, 12, 25), date(2026, 12, 26)):
        assert year[day] == WHOLE_DAY, day


def test_agreed_days_off_juleaften_whole_nytaarsaften_and_grundlovsdag_from_noon() -> None:
    assert DK(date(2026, 12, 24)) == WHOLE_DAY
    assert DK(date(2026, 12, 31)) == time(12)
    assert DK(date(2026, 6, 5)) == time(12)
    assert DK(date(2026, 5, 1)) is None  # 1 May: a working day
    assert DK(date(2026, 5, 13)) is None


def test_store_bededag_closes_until_2023_only() -> None:
    assert DK(date(2023, 5, 5)) == WHOLE_DAY
    assert DK(date(2024, 4, 26)) is None  # the Friday it would have been


def test_no_country_closes_nothing() -> None:
    none = closing_time(None)
    assert none(date(2026, 12, 25)) is None
    assert next_working_moment(cph(2026, 12, 25, 10, 0), closes=none) == cph(2026, 12, 25, 10, 0)


def test_each_year_is_built_once_and_the_function_is_shared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    real = holidays.country_holidays

    def counting(country: str, *, years: int) -> holidays.HolidayBase:
        built.append(years)
        return real(country, years=years)

    monkeypatch.setattr(public_holidays.holidays, "country_holidays", counting)
    closures.cache_clear()
    try:
        assert closing_time("DK") is DK  # one function per country, kept by every shift
        start = cph(2030, 12, 20, 17, 0)
        for hour in range(0, 24 * 20, 5):
            next_dk(start + timedelta(hours=hour))
        assert sorted(built) == [2030, 2031]
    finally:
        closures.cache_clear()


# --------------------------------------------------------------------------- working hours


def test_a_holiday_on_a_weekday_is_skipped() -> None:
    assert not in_working_hours(cph(2026, 5, 14, 10, 0), closes=DK)  # Kristi himmelfartsdag
    assert in_working_hours(cph(2026, 5, 14, 10, 0))  # without holidays: an ordinary Thursday
    assert next_dk(cph(2026, 5, 13, 17, 0)) == cph(2026, 5, 15, 8, 0)
    assert next_dk(cph(2026, 5, 14, 10, 0)) == cph(2026, 5, 15, 8, 0)
    # 2. pinsedag: Friday evening -> Tuesday.
    assert next_dk(cph(2026, 5, 22, 17, 0)) == cph(2026, 5, 26, 8, 0)


@pytest.mark.parametrize(("when", "expected"), [
    # Easter 2026: Wednesday evening before it -> the Tuesday after 2. påskedag.
    (cph(2026, 4, 1, 17, 0), cph(2026, 4, 7, 8, 0)),
    (cph(2026, 4, 2, 9, 0), cph(2026, 4, 7, 8, 0)),  # skærtorsdag
    (cph(2026, 4, 3, 10, 0), cph(2026, 4, 7, 8, 0)),  # langfredag, the Friday before 2. påskedag
    (cph(2026, 4, 6, 15, 0), cph(2026, 4, 7, 8, 0)),  # 2. påskedag
    # Easter moves: in 2027 it is a week earlier and on the spring DST change.
    (cph(2027, 3, 24, 17, 0), utc(2027, 3, 30, 6, 0)),  # 08:00 CEST
    (cph(2027, 3, 24, 10, 0), cph(2027, 3, 24, 10, 0)),  # Wednesday before: open
    # The same dates are ordinary working days in the other year.
    (cph(2026, 3, 26, 10, 0), cph(2026, 3, 26, 10, 0)),  # Thursday, 2026: not skærtorsdag
    (cph(2027, 4, 2, 10, 0), cph(2027, 4, 2, 10, 0)),  # Friday, 2027: not langfredag
])
def test_easter_moves_and_is_skipped(when: datetime, expected: datetime) -> None:
    assert next_dk(when) == expected


def test_christmas_and_new_year() -> None:
    # 24 (whole day), 25, 26 December 2025 are Wed-Fri: the 23rd's evening waits to Monday.
    assert next_dk(cph(2025, 12, 23, 17, 0)) == cph(2025, 12, 29, 8, 0)
    # Nytårsaftensdag is open until noon, then closed into the next year: nytårsdag (Friday)
    # and the weekend.
    assert next_dk(cph(2026, 12, 31, 11, 59)) == cph(2026, 12, 31, 11, 59)
    assert next_dk(cph(2026, 12, 31, 7, 0)) == cph(2026, 12, 31, 8, 0)
    assert next_dk(cph(2026, 12, 31, 12, 0)) == cph(2027, 1, 4, 8, 0)


def test_grundlovsdag_closes_at_noon() -> None:
    assert in_working_hours(cph(2026, 6, 5, 11, 59), closes=DK)
    assert not in_working_hours(cph(2026, 6, 5, 12, 0), closes=DK)
    assert next_dk(cph(2026, 6, 5, 13, 0)) == cph(2026, 6, 8, 8, 0)
    # A team that starts at noon has no working hours that day.
    assert next_dk(cph(2026, 6, 5, 7, 0), start=time(12), end=time(20)) == cph(2026, 6, 8, 12, 0)
    # A team ending before noon does not notice.
    assert next_dk(cph(2026, 6, 5, 7, 0), end=time(11)) == cph(2026, 6, 5, 8, 0)


def test_a_one_day_team_waits_past_its_holidays() -> None:
    thursdays = frozenset({4})
    # Kristi himmelfartsdag is the team's only day that week: the next Thursday.
    got = next_working_moment(cph(2026, 5, 8, 12, 0), DEFAULT_TZ, thursdays, closes=DK)
    assert got == cph(2026, 5, 21, 8, 0)


def test_a_calendar_closing_every_working_day_is_refused() -> None:
    with pytest.raises(ValueError, match="every working weekday is closed"):
        next_working_moment(cph(2026, 5, 8, 12, 0), closes=lambda day: WHOLE_DAY)


@HYPO
@given(minutes=st.integers(0, 4 * 366 * 24 * 60))
def test_the_next_working_moment_is_the_first_open_minute(minutes: int) -> None:
    when = utc(2024, 1, 1) + timedelta(minutes=minutes)
    got = next_dk(when)
    assert got >= when
    assert in_working_hours(got, closes=DK)
    local = got.astimezone(CPH)
    assert local.isoweekday() <= 5 and (DK(local.date()) or time.max) > local.time()
    if got > when:
        assert local.time() == time(8)
        # Nothing open in between: every working morning in the gap was closed.
        day = when.astimezone(CPH).date() + timedelta(days=1)
        while day < local.date():
            assert day.isoweekday() > 5 or DK(day) == WHOLE_DAY, day
            day += timedelta(days=1)
