"""Resolve date expressions as news articles write them against the article's publication date.

Results are ISO 8601: ``YYYY-MM-DD`` for a day, ``YYYY-MM`` for a month, ``YYYY`` for a year, and
``start/end`` (two days) for a span such as "last week" or "over the weekend".

Rules where English is ambiguous:

* a bare weekday ("on Thursday", "Thursday night") is the latest such day on or before the
  publication date (news reports what happened);
* "last <weekday>" is that weekday in the previous calendar week (weeks start on Monday), so
  "last Friday" written on Thursday 17 January is 11 January, and "last Thursday" written on
  Monday 21 January is 17 January; "next <weekday>" is the first such day after publication;
* a day or month written without a year ("14 January", "in March") takes the year that puts it
  nearest to the publication date;
* "last March" is the latest March before the publication month; "March last year" is March of
  the previous year;
* "last week" is the previous calendar week, or the seven days before publication when the
  article appeared on a Saturday or Sunday (the week then ending is what "last week" means);
* "since X" resolves to X; durations ("the last nine months", "recent years") stay unresolved.
"""

from __future__ import annotations

import datetime as dt
import re

from qa.text import MONTHS, WEEKDAYS, number_words

NUMBER_WORDS = {"a": 1, "an": 1, **number_words(1, 12), "a couple of": 2, "couple of": 2}

_M = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?"
_W = r"(?P<weekday>" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\b\.?"
_D = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_Y = r"(?P<year>(?:19|20)\d{2})"
_N = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"

_ISO = re.compile(r"\b(?P<year>\d{4})-(?P<m>\d{2})-(?P<day>\d{2})\b")
_MONTH_DAY = (
    re.compile(rf"\b{_M}\s+{_D}\b(?:,?\s+{_Y}\b)?"),
    re.compile(rf"\b{_D}\s+(?:of\s+)?{_M}(?:,?\s+{_Y}\b)?"),
)
_MONTH_YEAR = re.compile(rf"\b{_M},?\s+(?:of\s+)?{_Y}\b")
_LEAD = r"(?:(?:in|on|since|by|until|from|early|late|mid|the|end of|start of|year|of)[\s-]+)*"
_YEAR = re.compile(rf"^{_LEAD}{_Y}$")
_AGO = re.compile(rf"\b{_N}\s+(?P<unit>hour|day|week|month|year)s?\s+ago\b")
_WHICH_MONTH = re.compile(rf"\b(?P<which>last|this|next)\s+{_M}")
_MONTH_OF_YEAR = re.compile(rf"\b{_M}\s+(?P<which>last|this|next)\s+year\b")
_BARE_MONTH = re.compile(rf"^{_LEAD}{_M}$")
_WEEKDAY_RE = re.compile(rf"\b(?:(?P<which>last|this|next|past)\s+)?{_W}")
_SPAN_WORDS = re.compile(
    r"\b(?:the\s+)?(?:last|past|previous|next|coming)\s+(?:\w+\s+)?(?:days|weeks|months|years)\b"
)


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip(" .,;:()\"'")


def _nearest_year(month: int, day: int, published: dt.date) -> dt.date | None:
    candidates = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            candidates.append(dt.date(year, month, day))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs((d - published).days), default=None)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _span(start: dt.date, end: dt.date) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _absolute(text: str, published: dt.date | None) -> str | None:
    if match := _ISO.search(text):
        try:
            return dt.date(int(match["year"]), int(match["m"]), int(match["day"])).isoformat()
        except ValueError:
            return None
    found_days = [m for m in (p.search(text) for p in _MONTH_DAY) if m]
    if found_days:
        match = min(found_days, key=lambda m: m.start())
        month, day = MONTHS[match["month"]], int(match["day"])
        if match["year"]:
            try:
                return dt.date(int(match["year"]), month, day).isoformat()
            except ValueError:
                return None
        if published is None:
            return None
        found = _nearest_year(month, day, published)
        return found.isoformat() if found else None
    if match := _MONTH_YEAR.search(text):
        return f"{int(match['year']):04d}-{MONTHS[match['month']]:02d}"
    if match := _YEAR.match(text):
        return match["year"]
    return None


def _relative(text: str, published: dt.date) -> str | None:
    day = dt.timedelta(days=1)
    if re.search(r"\bthe day before yesterday\b", text):
        return (published - 2 * day).isoformat()
    if re.search(r"\b(?:yesterday|last night)\b", text):
        return (published - day).isoformat()
    if re.search(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", text):
        return published.isoformat()
    if re.search(r"\btomorrow\b", text):
        return (published + day).isoformat()
    if match := _AGO.search(text):
        n = int(match["n"]) if match["n"].isdigit() else NUMBER_WORDS[match["n"]]
        unit = match["unit"]
        if unit == "hour":
            return (published - dt.timedelta(days=n // 24)).isoformat()
        if unit in ("day", "week"):
            return (published - dt.timedelta(days=n * (7 if unit == "week" else 1))).isoformat()
        if unit == "month":
            year, month = _shift_month(published.year, published.month, -n)
            return f"{year:04d}-{month:02d}"
        return f"{published.year - n:04d}"
    if _SPAN_WORDS.search(text):
        return None
    if re.search(r"\b(?:this|the current) week\b", text):
        return _span(_monday(published), published)
    if re.search(r"\b(?:last|previous|past) week\b", text):
        if published.weekday() >= 5:  # written at the weekend, "last week" is the week ending
            return _span(published - 7 * day, published - day)
        start = _monday(published) - 7 * day
        return _span(start, start + 6 * day)
    if re.search(r"\bnext week\b", text):
        start = _monday(published) + 7 * day
        return _span(start, start + 6 * day)
    if re.search(r"\bweekend\b", text):
        saturday = published - dt.timedelta(days=(published.weekday() - 5) % 7)
        if re.search(r"\blast weekend\b", text) and published.weekday() >= 5:
            saturday -= 7 * day
        return _span(saturday, saturday + day)
    if match := _WEEKDAY_RE.search(text):
        weekday = WEEKDAYS[match["weekday"]]
        if match["which"] == "last":
            return (_monday(published) - 7 * day + weekday * day).isoformat()
        if match["which"] == "next":
            return (published + dt.timedelta(days=(weekday - published.weekday() - 1) % 7 + 1)).isoformat()
        return (published - dt.timedelta(days=(published.weekday() - weekday) % 7)).isoformat()
    if match := _MONTH_OF_YEAR.search(text):
        year = published.year + {"last": -1, "this": 0, "next": 1}[match["which"]]
        return f"{year:04d}-{MONTHS[match['month']]:02d}"
    if match := _WHICH_MONTH.search(text):
        month, which = MONTHS[match["month"]], match["which"]
        if which == "last":
            year = published.year if month < published.month else published.year - 1
        elif which == "next":
            year = published.year if month > published.month else published.year + 1
        else:
            year = published.year
        return f"{year:04d}-{month:02d}"
    if re.search(r"\b(?:this|the current) month\b", text):
        return f"{published.year:04d}-{published.month:02d}"
    if match := re.search(r"\b(?P<which>last|previous|next) month\b", text):
        year, month = _shift_month(published.year, published.month, -1 if match["which"] != "next" else 1)
        return f"{year:04d}-{month:02d}"
    if re.search(r"\bthis year\b", text):
        return f"{published.year:04d}"
    if match := re.search(r"\b(?P<which>last|previous|next) year\b", text):
        return f"{published.year + (1 if match['which'] == 'next' else -1):04d}"
    if match := _BARE_MONTH.match(text):
        month = MONTHS[match["month"]]
        found = _nearest_year(month, 1, published.replace(day=1))
        return f"{found.year:04d}-{month:02d}" if found else None
    return None


def resolve_date(text: str, published: str | dt.date | None) -> str | None:
    """The ISO date (or month, year, or ``start/end`` span) a date expression means, or None."""
    if isinstance(published, str):
        try:
            published = dt.date.fromisoformat(published)
        except ValueError:
            published = None
    norm = _normalise(text)
    if not norm:
        return None
    found = _absolute(norm, published)
    if found is not None or published is None:
        return found
    return _relative(norm, published)
