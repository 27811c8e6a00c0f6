"""Due dates ("within 15 working days") follow China's official calendar, 调休 included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xometry_site.services.working_days import (
    add_working_days,
    is_official,
    is_working_day,
    official_calendar_years,
    working_days_between,
)


def test_fifteen_working_days_from_friday_27_september_2024_is_23_october():
    # Counted by hand from the State Council's 2024 arrangement:
    # 28 Sep (Sat) rest; 29 Sep (Sun, adjusted) 1; 30 Sep 2; 1-7 Oct National Day;
    # 8-11 Oct 3-6; 12 Oct (Sat, adjusted) 7; 14-18 Oct 8-12; 21-23 Oct 13-15.
    assert add_working_days(date(2024, 9, 27), 15) == date(2024, 10, 23)


def test_adjusted_weekends_work_and_holidays_do_not():
    assert is_working_day(date(2024, 9, 29))  # Sunday, adjusted working day
    assert is_working_day(date(2024, 10, 12))  # Saturday, adjusted working day
    assert not is_working_day(date(2024, 10, 1))  # National Day
    assert not is_working_day(date(2024, 10, 7))  # Monday, still in the holiday
    assert not is_working_day(date(2024, 10, 13))  # ordinary Sunday
    assert is_working_day(date(2024, 10, 14))  # ordinary Monday


def test_spring_festival_2025_skips_the_holiday_and_counts_the_adjusted_days():
    # Friday 24 Jan 2025: 26 Jan (Sun, adjusted) 1; 27 Jan 2; 28 Jan-4 Feb holiday; 5-7 Feb 3-5;
    # 8 Feb (Sat, adjusted) 6.
    assert add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)
    assert add_working_days(date(2025, 1, 24), 6) == date(2025, 2, 8)


def test_national_day_2025_with_mid_autumn_lasts_eight_days():
    # Tuesday 30 Sep 2025: 1-8 Oct off; 9 Oct 1; 10 Oct 2; 11 Oct (Sat, adjusted) 3.
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)


def test_the_request_day_itself_never_counts():
    assert add_working_days(date(2024, 10, 14), 1) == date(2024, 10, 15)  # Monday -> Tuesday
    assert add_working_days(date(2024, 10, 12), 1) == date(2024, 10, 14)  # working Saturday
    assert add_working_days(date(2024, 10, 14), 0) == date(2024, 10, 14)
    with pytest.raises(ValueError):
        add_working_days(date(2024, 10, 14), -1)


def test_a_request_late_in_the_evening_utc_is_dated_in_china_time():
    # 17:00 UTC on Sunday 29 Sep 2024 is already 01:00 on Monday 30 Sep in China.
    assert add_working_days(datetime(2024, 9, 29, 17, 0, tzinfo=UTC), 1) == date(2024, 10, 8)
    assert add_working_days(datetime(2024, 9, 29, 17, 0), 1) == date(2024, 10, 8)  # naive = UTC
    assert add_working_days(date(2024, 9, 29), 1) == date(2024, 9, 30)


def test_years_the_package_does_not_know_fall_back_to_monday_to_friday():
    later = official_calendar_years().stop + 3
    friday = date(later, 1, 1)
    while friday.weekday() != 4:
        friday += timedelta(days=1)
    assert not is_official(friday)
    assert is_official(date(2024, 10, 1))
    assert add_working_days(friday, 1) == friday + timedelta(days=3)
    assert add_working_days(friday, 5) == friday + timedelta(days=7)
    assert not is_working_day(friday + timedelta(days=1))
    assert add_working_days(date(1999, 12, 31), 1) == date(2000, 1, 3)  # before the package's data


def test_a_due_date_running_past_the_last_known_year_does_not_crash():
    last_known = date(official_calendar_years().stop - 1, 12, 20)
    due = add_working_days(last_known, 15)
    assert due.year == last_known.year + 1
    assert working_days_between(last_known, due) == 15


def test_working_days_between_counts_after_a_up_to_b():
    assert working_days_between(date(2024, 9, 27), date(2024, 10, 23)) == 15
    assert working_days_between(date(2024, 9, 30), date(2024, 10, 7)) == 0
    assert working_days_between(date(2024, 10, 23), date(2024, 9, 27)) == -15
    assert working_days_between(date(2024, 10, 23), date(2024, 10, 23)) == 0


@given(
    st.dates(min_value=date(2005, 1, 1), max_value=date(2025, 10, 1)),
    st.integers(min_value=0, max_value=40),
)
def test_agrees_with_the_packages_own_list_of_working_days(start, n):
    due = add_working_days(start, n)
    between = chinese_calendar.get_workdays(start + timedelta(days=1), due)
    assert len(between) == n
    assert n == 0 or chinese_calendar.is_workday(due)
    assert working_days_between(start, due) == n
