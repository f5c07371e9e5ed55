"""The city seed's calendar (pure): the seasons the generators sample from."""

from datetime import date, timedelta

import numpy as np

from gridgov.demo.city import per_grid_for, season

TODAY = date(2026, 12, 4)


def test_period_is_five_years_up_to_today():
    first, days = season.period(TODAY)
    assert first == date(2021, 12, 5)
    assert first + timedelta(days=days - 1) == TODAY


def test_weights_are_distributions_for_every_kind():
    first, days = season.period(TODAY)
    for kind in ("visits", "cases", "applications", "points"):
        w = season.weights(first, days, kind)
        assert w.shape == (days,)
        assert (w > 0).all()
        assert abs(w.sum() - 1.0) < 1e-9


def test_spring_festival_comes_from_the_official_calendar():
    first, days = season.period(TODAY)
    festival = season.spring_festival_days(first, days)
    on = {first + timedelta(days=int(i)) for i in np.flatnonzero(festival)}
    assert date(2024, 2, 10) in on and date(2025, 1, 29) in on and date(2026, 2, 17) in on  # 春节 (初一)
    assert date(2024, 3, 10) not in on
    assert 7 * 4 <= len(on) <= 11 * 5  # 7-10 holiday days a year (weekends inside count), four or five festivals


def test_seasons_shape_the_year():
    first, days = season.period(TODAY)
    visits, cases = season.weights(first, days, "visits"), season.weights(first, days, "cases")
    festival = season.spring_festival_days(first, days)

    def idx(d: date) -> int:
        return (d - first).days

    assert visits[festival].mean() < 0.5 * visits[~festival].mean()  # the holiday week: few visits
    flood, spring = idx(date(2025, 7, 23)), idx(date(2025, 4, 16))  # both Wednesdays
    assert cases[flood] > 1.4 * cases[spring]  # the flood season
    rice = idx(date(2025, 10, 8))  # Wednesday in the rice harvest (after the National Day week)
    assert visits[rice] < visits[spring] and cases[rice] > cases[spring]
    saturday, monday = idx(date(2025, 4, 19)), idx(date(2025, 4, 21))
    assert visits[saturday] < visits[monday]
    assert cases[-30:].mean() > cases[:30].mean() * 0.9  # more use of the platform over the years


def test_sampling_respects_each_draws_start_day():
    first, days = season.period(TODAY)
    w = season.weights(first, days, "visits")
    rng = np.random.default_rng(1)
    start = rng.integers(0, days, 50_000)
    drawn = season.sample_days(rng, w, 50_000, start)
    assert (drawn >= start).all() and (drawn < days).all()


def test_per_grid_gives_the_city_population():
    # The population code's mean household overshoot and urban factor (docs/performance.md):
    # per_grid 358 gave 1,05x,xxx residents on the full run.
    assert 350 <= per_grid_for(1_050_000) <= 365
    assert per_grid_for(1000) == 3  # the population code's floor
