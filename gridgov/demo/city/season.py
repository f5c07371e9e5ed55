"""Seasonality of five years of grid work in 钟祥 (pure, deterministic).

Every day of the period gets a weight per kind of activity; generators sample days from the
normalised weights. The shapes are the county's year as the grid workers describe it:
- Spring Festival (春节, from the official holiday calendar): visits drop in the holiday week, cases
  about fires, fireworks and family disputes rise in the weeks around it, and migrant workers come
  home (a rise of service applications just after);
- wheat harvest (late May–early June) and rice harvest (late September–October): fewer visits
  (everyone is in the fields), more cases (straw burning, farm-machine accidents, disputes over
  land);
- the flood season (梅雨 and 汛期, mid June–August): more cases (waterlogging, dykes, drowning risk);
- weekends: fewer visits and fewer desk-reported cases;
- a slow rise over the years as the platform is used more.
"""

from datetime import date, timedelta

import chinese_calendar
import numpy as np

YEARS = 5


def period(today: date, years: int = YEARS) -> tuple[date, int]:
    """(first day, number of days) of the `years` years up to and including `today`."""
    first = today.replace(year=today.year - years) + timedelta(days=1)
    return first, (today - first).days + 1


def spring_festival_days(first: date, days: int) -> np.ndarray:
    """Boolean per day: an official Spring Festival holiday day."""
    out = np.zeros(days, dtype=bool)
    for i in range(days):
        d = first + timedelta(days=i)
        if d.month in (1, 2):
            try:
                _on, name = chinese_calendar.get_holiday_detail(d)
            except NotImplementedError:  # outside the package's years: no holiday known
                name = None
            out[i] = name == chinese_calendar.Holiday.spring_festival.value
    return out


def _bump(doy: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A smooth bump in day-of-year (wraps around the new year)."""
    d = np.abs(doy - centre)
    d = np.minimum(d, 365 - d)
    return np.exp(-0.5 * (d / width) ** 2)


def weights(first: date, days: int, kind: str) -> np.ndarray:
    """Relative activity of `kind` ("visits", "cases", "applications", "points") per day."""
    dates = np.arange(np.datetime64(first), np.datetime64(first) + days, dtype="datetime64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    weekday = (dates.astype(int) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekend = weekday >= 5
    festival = spring_festival_days(first, days)
    near_festival = np.convolve(festival.astype(float), np.ones(29), mode="same") > 0  # two weeks either side
    wheat, rice, flood = _bump(doy, 152, 9), _bump(doy, 280, 14), _bump(doy, 200, 25)
    growth = np.linspace(0.8, 1.2, days)
    w = np.ones(days) * growth
    if kind == "visits":
        w *= np.where(weekend, 0.6, 1.0) * np.where(festival, 0.3, 1.0) * (1 - 0.35 * wheat) * (1 - 0.3 * rice)
    elif kind == "cases":
        w *= np.where(weekend, 0.75, 1.0) * np.where(near_festival, 1.3, 1.0) * np.where(festival, 0.8, 1.0)
        w *= 1 + 0.6 * wheat + 0.5 * rice + 0.7 * flood
    elif kind == "applications":
        after = np.roll(festival, 10)  # migrant workers apply before they leave again
        w *= np.where(weekend, 0.1, 1.0) * np.where(festival, 0.05, 1.0) * np.where(after, 1.8, 1.0)
    elif kind == "points":
        w *= np.where(festival, 1.5, 1.0) * (1 + 0.4 * flood)  # good deeds at the festival and in the floods
    else:
        raise ValueError(kind)
    return w / w.sum()


def sample_days(rng: np.random.Generator, w: np.ndarray, n: int, start: np.ndarray | None = None) -> np.ndarray:
    """`n` day indices drawn from the weights; with `start` (per draw), only from that day on."""
    cdf = np.cumsum(w)
    cdf[-1] = 1.0
    u = rng.random(n)
    if start is not None:
        base = np.where(start > 0, cdf[np.clip(start - 1, 0, len(w) - 1)], 0.0)
        u = base + u * (1.0 - base)
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(w) - 1)
