"""Police tips and rewards, services: routing, sight, transitions, money (never negative, idempotent,
append-only, verifiable) and the totals."""

import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.cases.models import Case, CaseCategory
from gridgov.cases.models.tip import AppendOnlyError, FundEntry, RewardFund, Tip, TipEvent
from gridgov.cases.tips import selectors, services
from gridgov.cases.tips.access import access_tip
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.people.models import Resident
from gridgov.regions.models import Region

from .test_tips_support import (
    HUJI,
    SHIPAI,
    city,
    county_fund,
    grid_in,
    key,
    rewarded_tip,
    send,
    station_head,
    station_staff,
    useful_tip,
    worker_in,
)

pytestmark = pytest.mark.django_db


def state_of(tip) -> str:
    return Tip.objects.values_list("state", flat=True).get(pk=tip.pk)


# --- sending and routing ---------------------------------------------------------------------------

def test_a_tip_goes_to_the_station_of_its_town():
    huji = send(worker_in(HUJI), informant_name="王某", informant_phone="13800001111")
    shipai = send(worker_in(SHIPAI))
    assert huji.station.code == f"GAJ-{HUJI}" and huji.station.name.endswith("派出所")
    assert shipai.station.code == f"GAJ-{SHIPAI}"
    assert huji.region_id == grid_in(HUJI).code and huji.state == "sent"
    assert list(TipEvent.objects.filter(tip=huji).values_list("to_state", flat=True)) == ["sent"]
    audit = AuditEntry.objects.get(action="tip.send", object_id=str(huji.pk))
    assert "王某" not in str(audit.changes) and audit.changes["informant"] == "named"
    with connection.cursor() as cursor:  # the informant is encrypted at rest
        cursor.execute("SELECT informant_name, informant_phone FROM cases_tip WHERE id = %s", [huji.pk])
        name, phone = cursor.fetchone()
    assert name.startswith("g1$") and phone.startswith("g1$") and "王某" not in name
    assert Tip.objects.get(pk=huji.pk).informant_phone == "13800001111"


def test_routing_prefers_the_most_specific_station_and_falls_back_to_the_bureau():
    grid = grid_in(HUJI)
    village = grid.parent
    bureau = Department.objects.get(code="GAJ")
    post = Department.objects.create(code="GAJ-TEST-VILLAGE", name="测试警务室", kind="station", parent=bureau)
    post.jurisdiction.add(village)
    assert services.route_station(grid.code) == post
    elsewhere = Region.objects.filter(level=4, code__startswith=HUJI).exclude(parent_id=village.code).first()
    assert services.route_station(elsewhere.code).code == f"GAJ-{HUJI}"
    Department.objects.filter(code__in=[post.code, f"GAJ-{HUJI}"]).update(is_active=False)
    tip = send(worker_in(HUJI))
    assert tip.station == bureau
    bureau_staff = user_with_role(Role.DEPT_STAFF, department_code="GAJ")
    assert Tip.objects.visible_to(bureau_staff).filter(pk=tip.pk).exists()


def test_sending_refusals_change_nothing():
    worker = worker_in(HUJI)
    before = (Tip.objects.count(), TipEvent.objects.count())
    with pytest.raises(ValidationFailed, match="请填写信息内容"):
        services.tip_send(acting_user=worker, content="  ")
    with pytest.raises(NotFound):
        services.tip_send(acting_user=worker, content="x", region_code=grid_in(SHIPAI).code)
    with pytest.raises(ValidationFailed, match="电话号码格式不正确"):
        services.tip_send(acting_user=worker, content="x", informant_name="李某", informant_phone="12345")
    with pytest.raises(PermissionDenied):
        services.tip_send(acting_user=station_staff(HUJI), content="x", region_code=HUJI)
    with pytest.raises(PermissionDenied):
        services.tip_send(acting_user=user_with_role(Role.VILLAGE_CADRE), content="x")
    stranger = Resident.objects.create(region=grid_in(SHIPAI), name="外镇人", gender="male")
    with pytest.raises(NotFound, match="信息提供人"):
        services.tip_send(acting_user=worker, content="x", informant_resident_id=stranger.pk)
    other_case = Case.objects.create(number="TIPTEST0001", region=grid_in(SHIPAI), source="hotline",
                                     category=CaseCategory.objects.get(code="C0101"), description="井盖丢失",
                                     created_at=timezone.now())
    with pytest.raises(NotFound, match="关联案件"):
        services.tip_send(acting_user=worker, content="x", case_id=other_case.pk)
    assert (Tip.objects.count(), TipEvent.objects.count()) == before


def test_tip_with_a_registered_informant_and_a_case():
    grid = grid_in(HUJI)
    worker = worker_in(HUJI)
    resident = Resident.objects.create(region=grid, name="胡某", gender="male")
    case = Case.objects.create(number="TIPTEST0002", region=grid, source="grid_worker",
                               category=CaseCategory.objects.get(code="C0101"), description="空调被盗",
                               created_at=timezone.now())
    tip = send(worker, informant_resident_id=resident.pk, case_id=case.pk)
    assert tip.informant_resident == resident and tip.case == case


def test_a_repeated_client_id_sends_once():
    worker = worker_in(HUJI)
    client_id = uuid.uuid4()
    first = send(worker, "同一条", client_id=client_id)
    again = send(worker, "同一条", client_id=client_id)
    assert again.pk == first.pk and again.replayed and Tip.objects.filter(client_id=client_id).count() == 1
    with pytest.raises(services.Conflict):
        send(worker_in(HUJI, 1), "别人的", client_id=client_id)


# --- who sees what -----------------------------------------------------------------------------------

def test_sight():
    tip = send(worker_in(HUJI))
    sees = {
        "sender": worker_in(HUJI), "station staff": station_staff(HUJI), "station head": station_head(HUJI),
        "bureau": user_with_role(Role.DEPT_STAFF, department_code="GAJ"),
        "town": user_with_role(Role.TOWN_OPERATOR, HUJI), "city": city(),
    }
    blind = {
        "another worker": worker_in(HUJI, 1), "other station": station_staff(SHIPAI),
        "other town": user_with_role(Role.TOWN_OPERATOR, SHIPAI), "another department": user_with_role(
            Role.DEPT_STAFF, department_code="MZJ"),
        "grid admin of the village": user_with_role(Role.GRID_ADMIN, grid_in(HUJI).parent_id),
    }
    for who, user in sees.items():
        assert access_tip(user, tip.pk) == tip, who
    for who, user in blind.items():
        with pytest.raises(NotFound):
            access_tip(user, tip.pk)
        assert not Tip.objects.visible_to(user).filter(pk=tip.pk).exists(), who
    for role in (Role.AUDITOR, Role.SYSADMIN, Role.VILLAGE_CADRE):
        with pytest.raises(PermissionDenied):
            access_tip(user_with_role(role), tip.pk)


def test_informant_is_masked_outside_the_sender_and_the_police():
    tip = send(worker_in(HUJI), informant_name="王小明", informant_phone="13800001111")
    for user in (worker_in(HUJI), station_staff(HUJI), user_with_role(Role.DEPT_HEAD, department_code="GAJ")):
        view = selectors.informant_view(access_tip(user, tip.pk), user)
        assert (view.name, view.phone, view.masked) == ("王小明", "13800001111", False)
    town = user_with_role(Role.TOWN_OPERATOR, HUJI)
    view = selectors.informant_view(access_tip(town, tip.pk), town)
    assert (view.name, view.phone, view.masked) == ("王*明", "138****1111", True)


# --- transitions ---------------------------------------------------------------------------------

def test_station_staff_of_another_town_cannot_touch_the_tip():
    tip = send(worker_in(HUJI))
    with pytest.raises(NotFound):
        services.tip_decide(acting_user=station_staff(SHIPAI), tip_id=tip.pk, useful=True)
    with pytest.raises(PermissionDenied, match="派出所可以研判"):  # the bureau sees it but the station judges it
        services.tip_decide(acting_user=user_with_role(Role.DEPT_STAFF, department_code="GAJ"), tip_id=tip.pk,
                            useful=True)
    assert state_of(tip) == "sent"
    services.tip_decide(acting_user=station_staff(HUJI), tip_id=tip.pk, useful=False, note="不属实")
    assert state_of(tip) == "not_useful"


def test_transitions_are_refused_in_the_wrong_state_and_change_nothing():
    tip = useful_tip()
    snapshot = Tip.objects.filter(pk=tip.pk).values().get()
    events = TipEvent.objects.filter(tip=tip).count()
    with pytest.raises(services.WrongState) as refused:
        services.tip_decide(acting_user=station_staff(HUJI), tip_id=tip.pk, useful=False)
    assert refused.value.status == 409 and "当前状态为“有价值”" in refused.value.message
    with pytest.raises(services.WrongState):
        services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    with pytest.raises(PermissionDenied):  # staff judge, the head decides the reward
        services.tip_reward_decide(acting_user=station_staff(HUJI), tip_id=tip.pk, amount_fen=100,
                                   recipient_kind="sender")
    with pytest.raises(ValidationFailed, match="金额应大于 0"):
        services.tip_reward_decide(acting_user=station_head(HUJI), tip_id=tip.pk, amount_fen=0,
                                   recipient_kind="sender")
    with pytest.raises(ValidationFailed, match="没有记录信息提供人"):
        services.tip_reward_decide(acting_user=station_head(HUJI), tip_id=tip.pk, amount_fen=100,
                                   recipient_kind="informant")
    assert Tip.objects.filter(pk=tip.pk).values().get() == snapshot
    assert TipEvent.objects.filter(tip=tip).count() == events

    rejected = send(worker_in(HUJI))
    services.tip_decide(acting_user=station_staff(HUJI), tip_id=rejected.pk, useful=False)
    with pytest.raises(services.WrongState):
        services.tip_reward_decide(acting_user=station_head(HUJI), tip_id=rejected.pk, amount_fen=100,
                                   recipient_kind="sender")
    assert state_of(rejected) == "not_useful"


def test_reward_recipients_and_their_keys():
    worker = worker_in(HUJI)
    by_sender = rewarded_tip(worker=worker, recipient_kind="sender")
    assert by_sender.recipient_user == worker and by_sender.recipient_key == f"user:{worker.pk}"
    named = useful_tip(informant_name="李四", informant_phone="13912345678")
    named = services.tip_reward_decide(acting_user=station_head(HUJI), tip_id=named.pk, amount_fen=20_000,
                                       recipient_kind="informant")
    assert named.recipient_name == "李四" and named.recipient_key.startswith("person:")
    assert named.recipient_key == services.person_key("李四", "13912345678")
    resident = Resident.objects.create(region=grid_in(HUJI), name="胡某", gender="male")
    registered = useful_tip(informant_resident_id=resident.pk)
    registered = services.tip_reward_decide(acting_user=station_head(HUJI), tip_id=registered.pk,
                                            amount_fen=20_000, recipient_kind="informant")
    assert registered.recipient_key == f"resident:{resident.pk}"
    other = useful_tip()
    with pytest.raises(ValidationFailed, match="受奖人电话"):
        services.tip_reward_decide(acting_user=station_head(HUJI), tip_id=other.pk, amount_fen=100,
                                   recipient_kind="other", recipient_name="赵六")
    assert state_of(other) == "useful"


# --- money ---------------------------------------------------------------------------------------

def test_a_fund_never_goes_negative_and_a_refusal_changes_nothing():
    fund = county_fund(10_000)  # 100 yuan
    tip = rewarded_tip(amount_fen=15_000)
    entries = FundEntry.objects.count()
    with pytest.raises(services.InsufficientFunds) as refused:
        services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    assert refused.value.status == 409 and refused.value.code == "insufficient_funds"
    assert refused.value.message == "奖励资金余额不足"
    fund.refresh_from_db()
    assert fund.balance_fen == 10_000 and FundEntry.objects.count() == entries and state_of(tip) == "rewarded"
    assert services.fund_verify(fund).ok
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses it too
        RewardFund.objects.filter(pk=fund.pk).update(balance_fen=-1)
    fund.refresh_from_db()
    assert fund.balance_fen == 10_000


def test_payment_is_idempotent():
    fund = county_fund(100_000)
    tip = rewarded_tip(amount_fen=30_000)
    k = key()
    first = services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=k, reference="PZ-001")
    again = services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=k, reference="PZ-001")
    assert not first.replayed and again.replayed and again.entry.pk == first.entry.pk
    fund.refresh_from_db()
    assert fund.balance_fen == 70_000 and first.entry.balance_after_fen == 70_000
    assert FundEntry.objects.filter(tip=tip, kind="payment").count() == 1
    assert state_of(tip) == "paid" and TipEvent.objects.filter(tip=tip, to_state="paid").count() == 1
    other = rewarded_tip(amount_fen=100)
    with pytest.raises(services.Conflict, match="幂等键已用于另一笔操作"):
        services.reward_pay(acting_user=city(), tip_id=other.pk, idempotency_key=k)
    with pytest.raises(services.Conflict):
        services.fund_deposit(acting_user=city(), fund_id=fund.pk, amount_fen=100, idempotency_key=k)
    with pytest.raises(services.WrongState):  # a new key cannot pay a paid tip twice
        services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    fund.refresh_from_db()
    assert fund.balance_fen == 70_000 and state_of(other) == "rewarded"


def test_who_pays_from_which_fund():
    station = Department.objects.get(code=f"GAJ-{HUJI}")
    station_fund = services.fund_create(acting_user=city(), name="胡集派出所助警奖励", department_code=station.code)
    services.fund_deposit(acting_user=station_head(HUJI), fund_id=station_fund.pk, amount_fen=50_000,
                          idempotency_key=key())
    tip = rewarded_tip(amount_fen=20_000)
    assert services.serving_fund(tip) == station_fund
    with pytest.raises(NotFound):  # another station does not even see the tip
        services.reward_pay(acting_user=station_head(SHIPAI), tip_id=tip.pk, idempotency_key=key())
    with pytest.raises(PermissionDenied):  # the bureau sees it but does not manage the station's fund
        services.reward_pay(acting_user=user_with_role(Role.DEPT_HEAD, department_code="GAJ"), tip_id=tip.pk,
                            idempotency_key=key())
    with pytest.raises(PermissionDenied):
        services.fund_deposit(acting_user=station_staff(HUJI), fund_id=station_fund.pk, amount_fen=1,
                              idempotency_key=key())
    with pytest.raises(PermissionDenied):
        services.fund_create(acting_user=station_head(HUJI), name="自设资金")
    result = services.reward_pay(acting_user=station_head(HUJI), tip_id=tip.pk, idempotency_key=key())
    assert result.entry.fund == station_fund and result.entry.balance_after_fen == 30_000
    with pytest.raises(services.Conflict, match="已设立"):
        services.fund_create(acting_user=city(), name="重复", department_code=station.code)


def test_reversal_and_the_ledger_verifies():
    fund = county_fund(0)
    start = fund.balance_fen
    services.fund_deposit(acting_user=city(), fund_id=fund.pk, amount_fen=80_000, idempotency_key=key())
    tip = rewarded_tip(amount_fen=25_000)
    services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    with pytest.raises(ValidationFailed, match="冲正原因"):
        services.payment_reverse(acting_user=city(), tip_id=tip.pk, reason="", idempotency_key=key())
    k = key()
    reversal = services.payment_reverse(acting_user=city(), tip_id=tip.pk, reason="重复发放，已退回", idempotency_key=k)
    assert services.payment_reverse(acting_user=city(), tip_id=tip.pk, reason="重复发放，已退回",
                                    idempotency_key=k).replayed
    assert reversal.entry.kind == "reversal" and reversal.entry.delta_fen == 25_000
    assert state_of(tip) == "rewarded" and Tip.objects.get(pk=tip.pk).paid_at is None
    services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    fund.refresh_from_db()
    assert fund.balance_fen == start + 80_000 - 25_000
    check = services.fund_verify(fund)
    assert check.ok and check.ledger_fen == fund.balance_fen and check.last_balance_after_fen == fund.balance_fen
    kinds = list(FundEntry.objects.filter(tip=tip).order_by("id").values_list("kind", "delta_fen"))
    assert kinds == [("payment", -25_000), ("reversal", 25_000), ("payment", -25_000)]
    RewardFund.objects.filter(pk=fund.pk).update(balance_fen=fund.balance_fen + 1)  # tampering shows
    assert not services.fund_verify(fund).ok


def test_the_ledger_is_append_only():
    fund = county_fund(5_000)
    entry = FundEntry.objects.filter(fund=fund).latest("id")
    entry.note = "改动"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        FundEntry.objects.filter(pk=entry.pk).update(note="改动")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_fundentry SET delta_fen = 1 WHERE id = %s", [entry.pk])
    assert FundEntry.objects.get(pk=entry.pk).note != "改动"


# --- totals --------------------------------------------------------------------------------------

def test_totals_per_period_and_region():
    county_fund(1_000_000)
    huji_worker, shipai_worker = worker_in(HUJI), worker_in(SHIPAI)
    base = selectors.tip_totals(user=city())
    for _ in range(3):
        send(huji_worker)
    useful_tip(HUJI)
    paid = [rewarded_tip(HUJI, 10_000, worker=huji_worker), rewarded_tip(HUJI, 20_000, worker=huji_worker),
            rewarded_tip(SHIPAI, 5_000, worker=shipai_worker)]
    for tip in paid:
        services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    not_paid = rewarded_tip(SHIPAI, 7_000)
    assert not_paid.state == "rewarded"

    totals = selectors.tip_totals(user=city())
    assert totals.total.sent - base.total.sent == 3 + 1 + 3 + 1
    assert totals.total.useful - base.total.useful == 1 + 3 + 1
    assert totals.total.paid_fen - base.total.paid_fen == 35_000
    assert totals.total.rewarded_people - base.total.rewarded_people == 2  # the HUJI worker counts once
    rows = {r.code: r for r in totals.rows}
    assert rows[HUJI].paid_fen >= 30_000 and rows[SHIPAI].paid_fen >= 5_000
    assert rows[HUJI].name.endswith(("镇", "街道", "乡"))

    town = selectors.tip_totals(user=user_with_role(Role.TOWN_OPERATOR, HUJI))
    assert town.total.paid_fen == rows[HUJI].paid_fen and set(r.code for r in town.rows) == {HUJI}
    mine = selectors.tip_totals(user=shipai_worker)
    assert mine.total.paid_fen == 5_000 and mine.total.rewarded_people == 1
    drill = selectors.tip_totals(user=city(), region=HUJI)
    assert all(len(r.code) == 12 for r in drill.rows) and drill.total.paid_fen == rows[HUJI].paid_fen

    tomorrow = timezone.localdate() + timedelta(days=1)
    empty = selectors.tip_totals(user=city(), since=tomorrow)
    assert (empty.total.sent, empty.total.paid_fen, empty.rows) == (0, 0, [])
    with pytest.raises(ValidationFailed):
        selectors.tip_totals(user=city(), since=tomorrow, until=timezone.localdate())
    with pytest.raises(PermissionDenied):
        selectors.tip_totals(user=user_with_role(Role.AUDITOR))


def test_the_articles_year_200_tips_47_people_64000_yuan():
    """网格“两员”为公安机关提供助警奖励信息200余条，47人受到助警奖励，获奖资金6.4万元。"""
    county_fund(6_400_000)
    towns = list(Region.objects.filter(level=2).order_by("code").values_list("code", flat=True))
    since = timezone.localdate()
    tips = []
    for i in range(203):
        town = towns[i % len(towns)]
        tips.append(send(worker_in(town, i // len(towns))))
    # 50 rewards to 47 people (three of them rewarded twice), 64,000 yuan in all
    amounts = [130_000] * 49 + [6_400_000 - 130_000 * 49]
    people = [f"{n:02d}" for n in range(47)] + ["00", "01", "02"]
    for tip, amount, person in zip(tips[:50], amounts, people, strict=True):
        town = tip.region_id[:9]
        services.tip_decide(acting_user=station_staff(town), tip_id=tip.pk, useful=True)
        services.tip_reward_decide(acting_user=station_head(town), tip_id=tip.pk, amount_fen=amount,
                                   recipient_kind="other", recipient_name=f"受奖人{person}",
                                   recipient_phone=f"138000000{person}")
        services.reward_pay(acting_user=city(), tip_id=tip.pk, idempotency_key=key())
    totals = selectors.tip_totals(user=city(), since=since)
    assert totals.total.sent == 203 and totals.total.useful == 50
    assert totals.total.rewarded_people == 47 and totals.total.paid_fen == 6_400_000
    assert len(totals.rows) == len(towns)
    assert services.fund_verify(RewardFund.objects.get(department__isnull=True)).ok
