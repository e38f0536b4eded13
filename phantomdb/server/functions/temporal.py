"""Date, time and duration functions (docs/sql-functions.md, "Date and time").

Stored forms: dates ``YYYY-MM-DD``, times ``HH:MM:SS[.ffffff]``, datetimes
``YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]``, durations integer microseconds.

The signatures and results follow Django's SQLite backend (the ``django_*``
functions), so a backend that subclasses it only has to rename the calls.
Rules shared by every function here:

- a NULL value (or NULL lookup / connector) gives NULL;
- a value that is not a date/time in a form we can read gives NULL;
- an unknown lookup type, connector or time zone name raises (the statement
  fails), because silently returning NULL would hide a programming error.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from .numeric import to_number

_UTC = UTC
_MIDNIGHT = time()

# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

# Fallback for text datetime.fromisoformat() refuses but which is still
# unambiguous: one-digit fields, more than six fractional digits, surrounding
# blanks, a blank before the offset.
_DATETIME_RE = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{1,2})(?::?(\d{2}))?)?)?\s*",
    re.ASCII,
)
_TIME_RE = re.compile(
    r"\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?"
    r"\s*(?:[Zz]|[+-]\d{1,2}(?::?\d{2})?)?\s*",
    re.ASCII,
)


def _microseconds(fraction: str | None) -> int:
    return int((fraction + "000000")[:6]) if fraction else 0


def _parse_datetime_slow(text: str) -> date | datetime | None:
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        zone = None
        if zulu:
            zone = _UTC
        elif sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            zone = timezone(-offset if sign == "-" else offset)
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            _microseconds(fraction),
            zone,
        )
    except ValueError:
        return None


def parse_datetime(value: object) -> date | datetime | None:
    """Read stored date/datetime text.

    Return a ``date`` for date-only text, a ``datetime`` (aware when the text
    carries an offset) otherwise, ``None`` when ``value`` is not such text.
    """
    if value.__class__ is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return _parse_datetime_slow(value)
    # Every date-only ISO form is at most 10 characters, every form with a time longer.
    if len(value) <= 10:
        return parsed.date()
    return parsed


def parse_time(value: object) -> time | None:
    """Read stored time text (``HH:MM[:SS[.ffffff]]``); offsets are ignored."""
    if value.__class__ is not str:
        return None
    try:
        return time.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        pass
    match = _TIME_RE.fullmatch(value)
    if match is None:
        return None
    hour, minute, second, fraction = match.groups()
    try:
        return time(int(hour), int(minute), int(second or 0), _microseconds(fraction))
    except ValueError:
        return None


def _time_of(value: object) -> time | None:
    """A time from time text or from the time part of datetime text."""
    parsed = parse_time(value)
    if parsed is None:
        moment = parse_datetime(value)
        if moment is not None:
            parsed = moment.time() if isinstance(moment, datetime) else _MIDNIGHT
    return parsed


# --------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        if name.upper() in ("UTC", "Z"):
            return _UTC
        raise ValueError(f"unknown time zone: {name!r}") from None


_TZ_OFFSET_RE = re.compile(r"(.*?)([+-])(\d{1,2})(?::?(\d{2}))?", re.ASCII)


@lru_cache(maxsize=256)
def _target_zone(tzname: str, conn_tzname: str | None) -> tuple[tzinfo, timedelta | None]:
    """Resolve a target zone name as Django's SQLite backend spells it.

    A plain IANA name (``Europe/Paris``, ``Etc/GMT-10``) is used as is.
    Otherwise a trailing ``±HH[:MM]`` is split off (``UTC+05:30``, ``+05:00``):
    the value is shifted by that offset and then converted to the named zone,
    or to ``conn_tzname`` (UTC if that is NULL) when no name precedes it.
    """
    try:
        return _zone(tzname), None
    except ValueError:
        pass
    match = _TZ_OFFSET_RE.fullmatch(tzname)
    if match is None or int(match[3]) > 23 or int(match[4] or 0) > 59:
        raise ValueError(f"unknown time zone: {tzname!r}")
    name, sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if sign == "-":
        delta = -delta
    if not name:
        name = conn_tzname or "UTC"
    return _zone(name), delta


def _local(value: date | datetime, tzname: object, conn_tzname: object) -> datetime | None:
    """The wall-clock datetime of a parsed value in the zone ``tzname``.

    - date-only values are calendar dates: midnight, never shifted;
    - ``tzname`` NULL: the wall clock as stored (any stored offset is ignored);
    - otherwise a naive value is read in ``conn_tzname`` (UTC if NULL), a value
      with an offset is that instant, and the result is its wall clock in ``tzname``.
    """
    if value.__class__ is date:
        return datetime(value.year, value.month, value.day)
    if tzname is None:
        return value  # type: ignore[return-value]
    if value.tzinfo is None:  # type: ignore[union-attr]
        if conn_tzname is None:
            value = value.replace(tzinfo=_UTC)  # type: ignore[call-arg]
        elif tzname == conn_tzname:
            return value  # type: ignore[return-value]
        else:
            value = value.replace(tzinfo=_zone(conn_tzname))  # type: ignore[call-arg]
    zone, delta = _target_zone(tzname, conn_tzname)
    try:
        if delta is not None:
            value = value + delta
        return value.astimezone(zone)  # type: ignore[union-attr]
    except (OverflowError, ValueError):
        return None


def _localized(value: object, tzname: object, conn_tzname: object) -> datetime | None:
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    return _local(parsed, tzname, conn_tzname)


# --------------------------------------------------------------------------
# Extract
# --------------------------------------------------------------------------

_DATE_PARTS = {
    "year": lambda d: d.year,
    "quarter": lambda d: (d.month + 2) // 3,
    "month": lambda d: d.month,
    "week": lambda d: d.isocalendar()[1],
    "iso_year": lambda d: d.isocalendar()[0],
    "day": lambda d: d.day,
    # Sunday=1 ... Saturday=7, as Django's week_day.
    "week_day": lambda d: d.isoweekday() % 7 + 1,
    # Monday=1 ... Sunday=7.
    "iso_week_day": lambda d: d.isoweekday(),
}
_TIME_PARTS = {
    "hour": lambda t: t.hour,
    "minute": lambda t: t.minute,
    "second": lambda t: t.second,
    "microsecond": lambda t: t.microsecond,
}
_DATETIME_PARTS = {**_DATE_PARTS, **_TIME_PARTS}


def _part(table: dict, lookup_type: str, what: str):
    getter = table.get(lookup_type)
    if getter is None:
        getter = table.get(str(lookup_type).lower())
        if getter is None:
            raise ValueError(f"unsupported {what} lookup type: {lookup_type!r}")
    return getter


def datetime_extract(lookup_type, value, tzname=None, conn_tzname=None):
    """DATETIME_EXTRACT(lookup_type, value, tzname, conn_tzname) -> integer."""
    if lookup_type is None or value is None:
        return None
    getter = _part(_DATETIME_PARTS, lookup_type, "extract")
    moment = _localized(value, tzname, conn_tzname)
    return None if moment is None else getter(moment)


def date_extract(lookup_type, value):
    """DATE_EXTRACT(lookup_type, value) -> integer (no time zone conversion)."""
    return datetime_extract(lookup_type, value)


def time_extract(lookup_type, value):
    """TIME_EXTRACT(lookup_type, value) -> integer; value is time (or datetime) text."""
    if lookup_type is None or value is None:
        return None
    getter = _part(_TIME_PARTS, lookup_type, "time extract")
    moment = _time_of(value)
    return None if moment is None else getter(moment)


# --------------------------------------------------------------------------
# Truncate
# --------------------------------------------------------------------------


def _trunc_date(lookup_type: str, moment: datetime) -> str | None:
    day: date
    if lookup_type == "day":
        day = moment
    elif lookup_type == "month":
        return f"{moment.year:04d}-{moment.month:02d}-01"
    elif lookup_type == "year":
        return f"{moment.year:04d}-01-01"
    elif lookup_type == "quarter":
        return f"{moment.year:04d}-{moment.month - (moment.month - 1) % 3:02d}-01"
    elif lookup_type == "week":
        # 0001-01-01 is a Monday, so this never leaves the calendar.
        day = moment.date() - timedelta(days=moment.weekday())
    else:
        return None
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def _trunc_time(lookup_type: str, moment: datetime | time) -> str | None:
    if lookup_type == "hour":
        return f"{moment.hour:02d}:00:00"
    if lookup_type == "minute":
        return f"{moment.hour:02d}:{moment.minute:02d}:00"
    if lookup_type == "second":
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    return None


_DATE_LEVELS = frozenset({"year", "quarter", "month", "week", "day"})
_TIME_LEVELS = frozenset({"hour", "minute", "second"})
_DATETIME_LEVELS = _DATE_LEVELS | _TIME_LEVELS


def _level(levels: frozenset, lookup_type, what: str) -> str:
    if lookup_type in levels:
        return lookup_type
    lowered = str(lookup_type).lower()
    if lowered in levels:
        return lowered
    raise ValueError(f"unsupported {what} lookup type: {lookup_type!r}")


def date_trunc(lookup_type, value, tzname=None, conn_tzname=None):
    """DATE_TRUNC(lookup_type, value, tzname, conn_tzname) -> 'YYYY-MM-DD'."""
    if lookup_type is None or value is None:
        return None
    level = _level(_DATE_LEVELS, lookup_type, "date truncation")
    moment = _localized(value, tzname, conn_tzname)
    return None if moment is None else _trunc_date(level, moment)


def datetime_trunc(lookup_type, value, tzname=None, conn_tzname=None):
    """DATETIME_TRUNC(lookup_type, value, tzname, conn_tzname) -> 'YYYY-MM-DD HH:MM:SS'."""
    if lookup_type is None or value is None:
        return None
    level = _level(_DATETIME_LEVELS, lookup_type, "datetime truncation")
    moment = _localized(value, tzname, conn_tzname)
    if moment is None:
        return None
    if level in _TIME_LEVELS:
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {_trunc_time(level, moment)}"
    return f"{_trunc_date(level, moment)} 00:00:00"


def time_trunc(lookup_type, value, tzname=None, conn_tzname=None):
    """TIME_TRUNC(lookup_type, value, tzname, conn_tzname) -> 'HH:MM:SS'.

    ``value`` is datetime text (converted to ``tzname`` first) or time text.
    """
    if lookup_type is None or value is None:
        return None
    level = _level(_TIME_LEVELS, lookup_type, "time truncation")
    moment = _localized(value, tzname, conn_tzname)
    if moment is None:
        moment = parse_time(value)
        if moment is None:
            return None
    return _trunc_time(level, moment)


# --------------------------------------------------------------------------
# Casts
# --------------------------------------------------------------------------


def datetime_cast_date(value, tzname=None, conn_tzname=None):
    """DATETIME_CAST_DATE(value, tzname, conn_tzname) -> 'YYYY-MM-DD'."""
    if value is None:
        return None
    moment = _localized(value, tzname, conn_tzname)
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def datetime_cast_time(value, tzname=None, conn_tzname=None):
    """DATETIME_CAST_TIME(value, tzname, conn_tzname) -> 'HH:MM:SS[.ffffff]'."""
    if value is None:
        return None
    moment = _localized(value, tzname, conn_tzname)
    return None if moment is None else moment.time().isoformat()


# --------------------------------------------------------------------------
# Differences and duration arithmetic
# --------------------------------------------------------------------------

_US_PER_DAY = 86_400_000_000


def _time_us(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


def _delta_us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def time_diff(lhs, rhs):
    """TIME_DIFF(lhs, rhs) -> integer microseconds lhs - rhs (times of day)."""
    if lhs is None or rhs is None:
        return None
    left = _time_of(lhs)
    right = _time_of(rhs)
    if left is None or right is None:
        return None
    return _time_us(left) - _time_us(right)


def _as_datetime(value: date | datetime) -> datetime:
    if value.__class__ is date:
        return datetime(value.year, value.month, value.day)
    return value  # type: ignore[return-value]


def _subtract(left: date | datetime, right: date | datetime) -> int:
    left = _as_datetime(left)
    right = _as_datetime(right)
    if (left.tzinfo is None) != (right.tzinfo is None):
        # One side has an offset and the other not: compare wall clocks.
        left = left.replace(tzinfo=None)
        right = right.replace(tzinfo=None)
    return _delta_us(left - right)


def timestamp_diff(lhs, rhs):
    """TIMESTAMP_DIFF(lhs, rhs) -> integer microseconds lhs - rhs.

    Two values with offsets are compared as instants; otherwise wall clocks.
    """
    if lhs is None or rhs is None:
        return None
    left = parse_datetime(lhs)
    right = parse_datetime(rhs)
    if left is None or right is None:
        return None
    return _subtract(left, right)


def _operand(value):
    """A duration (int/float microseconds) stays a number; text becomes a date/datetime/time."""
    cls = value.__class__
    if cls is int or cls is float:
        return value
    moment = parse_datetime(value)
    if moment is not None:
        return moment
    return parse_time(value)


def _format_moment(moment: date | datetime | time) -> str:
    return str(moment) if moment.__class__ is not time else moment.isoformat()


def _shift(moment: date | datetime | time, microseconds: int | float, subtract: bool) -> str:
    delta = timedelta(microseconds=microseconds)
    if moment.__class__ is time:
        shift = _delta_us(delta)
        total = (_time_us(moment) + (-shift if subtract else shift)) % _US_PER_DAY
        seconds, micro = divmod(total, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return time(hour, minute, second, micro).isoformat()
    # A date stays a date and moves by the duration's whole days (Python's date
    # arithmetic, as in Django): '2024-01-10' - 36 hours is '2024-01-09'.
    return str(moment - delta if subtract else moment + delta)  # type: ignore[operator]


def format_dtdelta(connector, lhs, rhs):
    """FORMAT_DTDELTA(connector, lhs, rhs): arithmetic with durations.

    ``+`` / ``-``: a duration (integer microseconds) added to / subtracted from
    date, datetime or time text gives text of the same kind; two durations or
    two moments of the same kind give integer microseconds.
    ``*`` / ``/``: plain numeric product / quotient (durations scaled by numbers).
    """
    if connector is None or lhs is None or rhs is None:
        return None
    connector = str(connector).strip()
    if connector in ("*", "/"):
        left = to_number(lhs)
        right = to_number(rhs)
        if left is None or right is None:
            return None
        if connector == "*":
            return left * right
        return None if right == 0 else left / right
    if connector not in ("+", "-"):
        raise ValueError(f"unsupported duration connector: {connector!r}")
    left = _operand(lhs)
    right = _operand(rhs)
    if left is None or right is None:
        return None
    left_is_number = left.__class__ is int or left.__class__ is float
    right_is_number = right.__class__ is int or right.__class__ is float
    try:
        if left_is_number and right_is_number:
            return left + right if connector == "+" else left - right
        if right_is_number:
            return _shift(left, right, connector == "-")
        if left_is_number:
            return _shift(right, left, False) if connector == "+" else None
        if connector == "-":
            if left.__class__ is time and right.__class__ is time:
                return _time_us(left) - _time_us(right)
            if left.__class__ is not time and right.__class__ is not time:
                return _subtract(left, right)
        return None
    except (OverflowError, ValueError):
        return None


# --------------------------------------------------------------------------
# Registration table: (name, number of arguments, function, deterministic)
# --------------------------------------------------------------------------


def _without_tz(function):
    def short(lookup_type, value):
        return function(lookup_type, value, None, None)

    return short


FUNCTIONS = [
    ("DATE_EXTRACT", 2, date_extract),
    ("DATE_TRUNC", 4, date_trunc),
    ("DATE_TRUNC", 2, _without_tz(date_trunc)),
    ("DATETIME_CAST_DATE", 3, datetime_cast_date),
    ("DATETIME_CAST_DATE", 1, datetime_cast_date),
    ("DATETIME_CAST_TIME", 3, datetime_cast_time),
    ("DATETIME_CAST_TIME", 1, datetime_cast_time),
    ("DATETIME_EXTRACT", 4, datetime_extract),
    ("DATETIME_EXTRACT", 2, datetime_extract),
    ("DATETIME_TRUNC", 4, datetime_trunc),
    ("DATETIME_TRUNC", 2, _without_tz(datetime_trunc)),
    ("TIME_EXTRACT", 2, time_extract),
    ("TIME_TRUNC", 4, time_trunc),
    ("TIME_TRUNC", 2, _without_tz(time_trunc)),
    ("TIME_DIFF", 2, time_diff),
    ("TIMESTAMP_DIFF", 2, timestamp_diff),
    ("FORMAT_DTDELTA", 3, format_dtdelta),
]
