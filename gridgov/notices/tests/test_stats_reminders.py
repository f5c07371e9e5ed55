"""Statistics that add up (rows = totals = a hand count, at every level) and idempotent reminders."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.errors import NotFound
from gridgov.core.testing import user_with_role
from gridgov.notices import selectors, services
from gridgov.notices.models import Receipt, Reminder

from .conftest import OTHER_TOWN, TOWN

pytestmark = pytest.mark.django_db


def _ack_some(notice, every: int):
    """Acknowledge every n-th receipt and read every other one. A few through the service, the bulk by a
    direct update (thousands of audited acknowledgements would only slow the test down)."""
    ids = list(Receipt.objects.filter(notice=notice).order_by("id").values_list("id", flat=True))
    for r in Receipt.objects.filter(pk__in=ids[:3 * every:every]).select_related("user"):
        services.acknowledge(r.user, notice.pk)
    now = timezone.now()
    Receipt.objects.filter(pk__in=ids[3 * every::every]).update(read_at=now, acked_at=now)
    Receipt.objects.filter(pk__in=[i for n, i in enumerate(ids) if n % every and n % 2 == 0]).update(read_at=now)


def _check_adds_up(user, notice, node):
    stats = selectors.notice_stats(user, notice, node)
    rows, totals = stats["rows"], stats["totals"]
    for key in ("total", "read", "acked"):
        assert totals[key] == sum(r[key] for r in rows), key
    node = stats["node"]["code"]
    if node == notice.target_region_id:  # the whole notice, department posts included
        hand = Receipt.objects.filter(notice=notice)
    else:
        hand = Receipt.objects.filter(notice=notice, region_code__startswith=node)
    assert totals["total"] == hand.count()
    assert totals["read"] == hand.filter(read_at__isnull=False).count()
    assert totals["acked"] == hand.filter(acked_at__isnull=False).count()
    return stats


def test_city_notice_statistics_add_up_at_every_level(city):
    notice = services.notice_send(acting_user=city, title="统计", region="420881", requires_ack=True,
                                  ack_deadline=timezone.now() + timedelta(days=2))
    _ack_some(notice, 7)
    top = _check_adds_up(city, notice, None)
    assert top["totals"]["total"] == notice.recipient_count
    assert top["rows"][-1]["code"] == ""  # department posts
    assert len([r for r in top["rows"] if r["level"] == 2]) == 18
    town = _check_adds_up(city, notice, TOWN)
    # the town row one level up equals the town's own total
    assert next(r for r in top["rows"] if r["code"] == TOWN)["total"] == town["totals"]["total"]
    village = next(r for r in town["rows"] if r["level"] == 3 and r["total"])
    v = _check_adds_up(city, notice, village["code"])
    assert v["totals"]["total"] == village["total"] and v["totals"]["acked"] == village["acked"]
    grid = next(r for r in v["rows"] if r["level"] == 4)
    g = _check_adds_up(city, notice, grid["code"])
    assert g["totals"]["total"] == grid["total"] == 1  # one grid worker per grid
    assert top["totals"]["ack_rate"] == round(100 * top["totals"]["acked"] / top["totals"]["total"], 1)


def test_town_sees_its_part_of_a_city_notice(city, town_op, other_town_op, village_admin):
    notice = services.notice_send(acting_user=city, title="分级统计", region="420881")
    mine = selectors.notice_stats(town_op, notice)
    assert mine["node"]["code"] == TOWN
    assert mine["totals"]["total"] == Receipt.objects.filter(notice=notice, region_code__startswith=TOWN).count()
    with pytest.raises(NotFound):
        selectors.notice_stats(town_op, notice, OTHER_TOWN)
    with pytest.raises(NotFound):
        selectors.notice_stats(town_op, notice, "420881")
    worker = user_with_role(Role.GRID_WORKER, village_admin.assignments.first().region_id + "001")
    with pytest.raises(NotFound):  # a recipient without notices.stats sees no statistics
        selectors.notice_stats(worker, notice)


def test_reminders_are_created_once(town_op, worker):
    soon = services.notice_send(acting_user=town_op, title="明天截止", region=TOWN, requires_ack=True,
                                ack_deadline=timezone.now() + timedelta(hours=10))
    later = services.notice_send(acting_user=town_op, title="下周截止", region=TOWN, requires_ack=True,
                                 ack_deadline=timezone.now() + timedelta(days=7))
    services.acknowledge(worker, soon.pk)
    out = StringIO()
    call_command("notice_reminders", stdout=out)
    unacked = Receipt.objects.filter(notice=soon, acked_at__isnull=True).count()
    assert Reminder.objects.filter(receipt__notice=soon).count() == unacked > 0
    assert not Reminder.objects.filter(receipt__notice=later).exists()
    assert not Reminder.objects.filter(receipt__user=worker, receipt__notice=soon).exists()
    call_command("notice_reminders", stdout=StringIO())
    assert Reminder.objects.filter(receipt__notice=soon).count() == unacked
    assert f"新建提醒 {unacked}" in out.getvalue() or int(out.getvalue().split("新建提醒 ")[1].split()[0]) >= unacked
    services.notice_withdraw(acting_user=town_op, notice=later.pk, reason="取消")
    result = services.reminders_create(now=timezone.now() + timedelta(days=6, hours=12))
    assert result["created"] == 0  # withdrawn notices are not reminded
