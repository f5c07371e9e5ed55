"""Claims: entry, verification, collective approval by distinct committee members, caps, deductions,
household roll-up, corrections. Every refusal changes nothing, and the tests check that."""

from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied
from gridgov.points import services
from gridgov.points.choices import ClaimStatus, EntryKind, SubjectKind
from gridgov.points.ledger_check import check_ledger
from gridgov.points.models import Balance, Claim, ClaimEvent, ClaimVote, LedgerEntry, Subject

from . import factories as f

pytestmark = pytest.mark.django_db


def state(claim):
    """Everything a refused vote must leave untouched."""
    claim = Claim.objects.get(pk=claim.pk)
    return (claim.status, ClaimVote.objects.filter(claim=claim).count(), ClaimEvent.objects.filter(claim=claim).count(),
            LedgerEntry.objects.filter(claim=claim).count())


def balance(subject):
    b = Balance.objects.get(subject=subject)
    return b.earned, b.spent, b.spendable


def error(call, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        call(**kwargs)
    return info.value


# --- entry ------------------------------------------------------------------------------------------


def test_a_small_award_posts_after_one_cadre_verifies(village):
    subject = village.subject("王好人")
    claim = f.submit(village, subject, "M04", 3, source="self", channel="wechat")
    assert claim.status == ClaimStatus.PENDING and not claim.needs_collective and claim.quorum == 1
    assert balance(subject) == (0, 0, 0)
    claim = services.claim_approve(acting_user=village.cadres[0], claim=claim.pk)
    assert claim.status == ClaimStatus.POSTED
    assert balance(subject) == (3, 0, 3)
    entry = LedgerEntry.objects.get(claim=claim)
    assert (entry.kind, entry.delta, entry.score_delta, entry.actor) == (EntryKind.AWARD, 3, 3, village.cadres[0])
    assert entry.idempotency_key == f"claim:{claim.pk}"
    assert [e.action for e in claim.events.all()] == ["submit", "approve", "post"]
    assert check_ledger()[0] == []


def test_entry_checks_the_item_the_points_the_date_and_the_evidence(village):
    subject = village.subject()
    before = Claim.objects.count()
    assert error(f.submit, village=village, subject=subject, code="M02", points=None).code == "points_required"
    assert error(f.submit, village=village, subject=subject, code="M02", points=501).code == "points_out_of_range"
    assert error(f.submit, village=village, subject=subject, code="M02", points=5).code == "points_out_of_range"
    assert error(f.submit, village=village, subject=subject, code="Z99").code == "invalid_item"
    # 门前三包 is for households and organisations, not a resident
    assert error(f.submit, village=village, subject=subject, code="V01").code == "item_not_for_subject"
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert error(f.submit, village=village, subject=subject, code="M04", points=2,
                 occurred_on=tomorrow).code == "date_in_future"
    assert error(f.submit, village=village, subject=subject, code="M04", points=2,
                 occurred_on=date(2000, 1, 1)).code == "date_too_old"
    assert error(f.submit, village=village, subject=subject, code="M02", points=20, evidence="").code == \
        "evidence_required"
    assert error(f.submit, village=village, subject=subject, code="M04", points=2, source="neighbour").code == \
        "reporter_required"
    assert error(f.submit, village=village, subject=subject, code="M04", points=2,
                 public_reason="电话 13800001234").code == "personal_data_in_public_text"
    assert Claim.objects.count() == before


def test_entry_is_for_grid_workers_in_scope(village, other_village):
    subject = village.subject()
    with pytest.raises(PermissionDenied):
        services.claim_submit(acting_user=village.cadres[0], subject=subject.pk, item="M04", points=2,
                              occurred_on=timezone.localdate(), description="x", channel="sms", source="cadre")
    with pytest.raises(NotFound):
        f.submit(other_village, subject, "M04", 2)


def test_a_retried_entry_with_the_same_key_is_entered_once(village):
    subject = village.subject()
    first = f.submit(village, subject, "M04", 3, idempotency_key_value="claim-key-0001")
    again = f.submit(village, subject, "M04", 3, idempotency_key_value="claim-key-0001")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert Claim.objects.filter(subject=subject).count() == 1
    assert error(f.submit, village=village, subject=subject, code="M04", points=4,
                 idempotency_key_value="claim-key-0001").code == "idempotency_key_reused"
    assert error(f.submit, village=village, subject=subject, code="M04", points=4,
                 idempotency_key_value="short").code == "invalid_idempotency_key"


# --- collective approval ----------------------------------------------------------------------------


def test_500_points_need_three_distinct_committee_members(village):
    """The article's case: the committee collectively awards 500 points."""
    wu = village.subject("吴正宪")
    claim = f.submit(village, wu, "M02", 500, public_reason="每天接送姚宣立家两个孩子上学并买早餐")
    assert claim.needs_collective and claim.quorum == 3
    one, two, three = village.cadres
    claim = services.claim_approve(acting_user=one, claim=claim.pk)
    assert claim.status == ClaimStatus.COLLECTIVE
    claim = services.claim_approve(acting_user=two, claim=claim.pk)
    assert claim.status == ClaimStatus.COLLECTIVE
    assert balance(wu) == (0, 0, 0) and not LedgerEntry.objects.filter(claim=claim).exists()
    claim = services.claim_approve(acting_user=three, claim=claim.pk)
    assert claim.status == ClaimStatus.POSTED
    assert balance(wu) == (500, 0, 500)
    assert ClaimVote.objects.filter(claim=claim, decision="approve").count() == 3


def test_the_same_member_twice_counts_once(village):
    subject = village.subject()
    claim = f.submit(village, subject, "M02", 300)
    one, two, _ = village.cadres
    services.claim_approve(acting_user=one, claim=claim.pk)
    for _ in range(3):
        again = services.claim_approve(acting_user=one, claim=claim.pk)
        assert again.replayed and again.status == ClaimStatus.COLLECTIVE
    services.claim_approve(acting_user=two, claim=claim.pk)
    assert state(claim) == (ClaimStatus.COLLECTIVE, 2, 3, 0)
    assert balance(subject) == (0, 0, 0)
    # and a member cannot turn an approval into a rejection
    assert error(services.claim_reject, acting_user=one, claim=claim.pk, reason="改主意").code == "already_voted"
    assert state(claim) == (ClaimStatus.COLLECTIVE, 2, 3, 0)


def test_a_cadre_of_another_village_cannot_approve(village, other_village):
    subject = village.subject()
    claim = f.submit(village, subject, "M02", 300)
    before = state(claim)
    for outsider in other_village.cadres:
        with pytest.raises(NotFound):
            services.claim_approve(acting_user=outsider, claim=claim.pk)
        with pytest.raises(NotFound):
            services.claim_reject(acting_user=outsider, claim=claim.pk, reason="不同意")
    assert state(claim) == before


def test_only_committee_members_vote(village):
    subject = village.subject()
    claim = f.submit(village, subject, "M02", 300)
    before = state(claim)
    town = f.make_user(Role.TOWN_OPERATOR, village.region.parent, "镇综治")
    for user in (village.worker, village.admin, town):
        with pytest.raises(PermissionDenied):
            services.claim_approve(acting_user=user, claim=claim.pk)
    # a user who is a cadre elsewhere but sees this village through another post is not on this committee
    mixed = f.make_user(Role.VILLAGE_CADRE, f.Village(town=f.HUJI, name="第三村").region, "兼职")
    from gridgov.accounts.models import Assignment

    Assignment.objects.create(user=mixed, role=Role.TOWN_OPERATOR, region=village.region.parent)
    with pytest.raises(PermissionDenied):
        services.claim_approve(acting_user=mixed, claim=claim.pk)
    assert state(claim) == before


def test_whoever_entered_the_claim_or_is_its_subject_does_not_vote(village):
    cadre = village.cadres[0]
    subject = services.subject_open(acting_user=village.admin, kind=SubjectKind.CADRE, user=cadre.pk)
    with pytest.raises(NotFound):  # a grid worker's scope is the grid; the cadre's account is the village's
        f.submit(village, subject, "M27", 20, by=village.worker)
    claim = f.submit(village, subject, "M27", 20)  # 干部领办民生实事, entered by the grid administrator
    with pytest.raises(PermissionDenied):
        services.claim_approve(acting_user=cadre, claim=claim.pk)
    assert state(claim)[1] == 0
    claim = services.claim_approve(acting_user=village.cadres[1], claim=claim.pk)
    assert claim.status == ClaimStatus.POSTED


def test_fewer_than_quorum_never_posts_even_with_rejections_mixed_in():
    village = f.Village(cadres=5)
    subject = village.subject()
    claim = f.submit(village, subject, "M02", 200)
    a, b, c, d, e = village.cadres
    services.claim_approve(acting_user=a, claim=claim.pk)
    services.claim_reject(acting_user=b, claim=claim.pk, reason="事迹需要再核实")
    services.claim_approve(acting_user=c, claim=claim.pk)
    assert state(claim)[0] == ClaimStatus.COLLECTIVE and balance(subject) == (0, 0, 0)
    # 2 approve, 2 reject, 1 undecided: quorum 3 is still within reach
    services.claim_reject(acting_user=d, claim=claim.pk, reason="事迹不够突出")
    assert state(claim)[0] == ClaimStatus.COLLECTIVE and balance(subject) == (0, 0, 0)
    # the last member says no: 2 approvals can no longer become 3
    services.claim_reject(acting_user=e, claim=claim.pk, reason="不符合条件")
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.status == ClaimStatus.REJECTED and claim.reject_reason == "不符合条件"
    assert balance(subject) == (0, 0, 0) and not LedgerEntry.objects.filter(claim=claim).exists()
    assert error(services.claim_approve, acting_user=a, claim=claim.pk).code == "wrong_state"


def test_one_rejection_rejects_a_small_claim(village):
    subject = village.subject()
    claim = f.submit(village, subject, "M04", 3)
    assert error(services.claim_reject, acting_user=village.cadres[0], claim=claim.pk, reason=" ").code == \
        "reason_required"
    claim = services.claim_reject(acting_user=village.cadres[0], claim=claim.pk, reason="当天未参加活动")
    assert claim.status == ClaimStatus.REJECTED
    assert error(services.claim_approve, acting_user=village.cadres[1], claim=claim.pk).code == "wrong_state"
    assert balance(subject) == (0, 0, 0)


@override_settings(POINTS_COLLECTIVE_THRESHOLD=50, POINTS_COMMITTEE_QUORUM=2)
def test_threshold_and_quorum_come_from_settings_and_schemes(village):
    subject = village.subject()
    assert f.submit(village, subject, "M02", 60).quorum == 2
    town = f.make_user(Role.TOWN_OPERATOR, village.region.parent, "镇综治")
    services.scheme_set(acting_user=town, region=village.code, collective_threshold=400, committee_quorum=3,
                        household_rollup=False, notice_full_names=True, notice_days=30)
    claim = f.submit(village, subject, "M02", 300)
    assert not claim.needs_collective and claim.quorum == 1
    claim = f.submit(village, subject, "M02", 450)
    assert claim.needs_collective and claim.quorum == 3
    with pytest.raises(NotFound):
        services.scheme_set(acting_user=town, region="420881103", collective_threshold=1, committee_quorum=1,
                            household_rollup=False, notice_full_names=True, notice_days=30)
    with pytest.raises(PermissionDenied):
        services.scheme_set(acting_user=village.cadres[0], region=village.code, collective_threshold=1,
                            committee_quorum=1, household_rollup=False, notice_full_names=True, notice_days=30)


# --- caps --------------------------------------------------------------------------------------------


def test_a_monthly_cap_on_times(village):
    """参加治安巡逻: 2 points, at most 8 times a month."""
    subject = village.subject()
    day = timezone.localdate().replace(day=1)
    for _ in range(8):
        f.credit(village, subject, None, "S06", occurred_on=day)
    assert balance(subject) == (16, 0, 16)
    assert error(f.submit, village=village, subject=subject, code="S06", occurred_on=day).code == "cap_exceeded"
    # last month is another period
    f.credit(village, subject, None, "S06", occurred_on=day - timedelta(days=1))
    assert balance(subject)[0] == 18


def test_a_cap_is_enforced_at_posting_too(village):
    """Two claims entered while under the cap: the second to be approved is refused, its vote undone."""
    subject = village.subject()
    day = timezone.localdate().replace(day=1)
    for _ in range(7):
        f.credit(village, subject, None, "S06", occurred_on=day)
    first = f.submit(village, subject, "S06", occurred_on=day)
    second = f.submit(village, subject, "S06", occurred_on=day)
    services.claim_approve(acting_user=village.cadres[0], claim=first.pk)
    before = state(second)
    err = error(services.claim_approve, acting_user=village.cadres[0], claim=second.pk)
    assert err.code == "cap_exceeded" and err.status == 409
    assert state(second) == before
    assert balance(subject)[0] == 16


def test_a_yearly_cap_on_points(village):
    """提供治安线索: at most 300 points a year."""
    subject = village.subject()
    day = timezone.localdate()
    for points in (100, 100, 80):
        f.credit(village, subject, points, "S02", evidence="派出所回执", occurred_on=day)
    err = error(f.submit, village=village, subject=subject, code="S02", points=30, evidence="回执", occurred_on=day)
    assert err.code == "cap_exceeded" and err.extra["left"] == 20
    f.credit(village, subject, 20, "S02", evidence="派出所回执", occurred_on=day)
    assert balance(subject)[0] == 300


def test_a_reversed_award_no_longer_counts_towards_the_cap(village):
    subject = village.subject()
    home = services.subject_open(acting_user=village.worker, kind=SubjectKind.HOUSEHOLD,
                                 household=f.make_household(village.grid).pk)
    claim = f.credit(village, home, None, "V07")  # 无害化厕所改造: once ever
    assert error(f.submit, village=village, subject=home, code="V07").code == "cap_exceeded"
    entry = LedgerEntry.objects.get(claim=claim)
    services.entry_reverse(acting_user=village.cadres[0], entry=entry.pk, reason="录错对象")
    f.credit(village, home, None, "V07")
    assert balance(home)[0] == 20
    assert subject  # the resident subject is untouched


# --- deductions, roll-up, corrections ------------------------------------------------------------------


def test_a_deduction_lowers_the_score_fully_and_the_spendable_points_as_far_as_there_are(village):
    subject = village.subject()
    f.credit(village, subject, 30)
    f.credit(village, subject, 50, "S31", evidence="处罚决定书")  # 参与赌博 -50..-100
    assert balance(subject) == (-20, 0, 0)
    entry = LedgerEntry.objects.get(subject=subject, kind=EntryKind.DEDUCTION)
    assert (entry.score_delta, entry.delta) == (-50, -30)
    assert check_ledger()[0] == []


def test_a_residents_points_roll_up_to_the_household(village):
    home = f.make_household(village.grid, "姚宣立")
    member = f.make_resident(village.grid, name="姚小明", household=home)
    subject = services.subject_open(acting_user=village.worker, kind=SubjectKind.RESIDENT, resident=member.pk)
    f.credit(village, subject, 40)
    household = Subject.objects.get(household=home)
    assert household.name == "姚宣立户"
    assert balance(subject) == (40, 0, 40)
    assert balance(household) == (40, 0, 0)  # the family's score, not a second wallet
    rollup = LedgerEntry.objects.get(subject=household)
    assert rollup.kind == EntryKind.ROLLUP
    assert check_ledger()[0] == []


def test_roll_up_can_be_switched_off(village):
    town = f.make_user(Role.TOWN_OPERATOR, village.region.parent, "镇综治")
    services.scheme_set(acting_user=town, region=village.region.parent_id, collective_threshold=100,
                        committee_quorum=3, household_rollup=False, notice_full_names=True, notice_days=30)
    home = f.make_household(village.grid)
    member = f.make_resident(village.grid, household=home)
    subject = services.subject_open(acting_user=village.worker, kind=SubjectKind.RESIDENT, resident=member.pk)
    f.credit(village, subject, 40)
    assert not Subject.objects.filter(household=home).exists()


def test_a_correction_is_a_reversing_entry(village):
    home = f.make_household(village.grid)
    member = f.make_resident(village.grid, household=home)
    subject = services.subject_open(acting_user=village.worker, kind=SubjectKind.RESIDENT, resident=member.pk)
    claim = f.credit(village, subject, 60)
    entry = LedgerEntry.objects.get(claim=claim, kind=EntryKind.AWARD)
    with pytest.raises(PermissionDenied):
        services.entry_reverse(acting_user=village.worker, entry=entry.pk, reason="错")
    entries = services.entry_reverse(acting_user=village.cadres[0], entry=entry.pk, reason="重复录入")
    assert [(e.kind, e.delta, e.score_delta) for e in entries] == [("correction", -60, -60), ("correction", 0, -60)]
    assert entries[0].reverses_id == entry.pk
    assert balance(subject) == (0, 0, 0)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.REVERSED
    assert error(services.entry_reverse, acting_user=village.cadres[1], entry=entry.pk, reason="再来").code in (
        "already_reversed",)
    assert error(services.entry_reverse, acting_user=village.cadres[1], entry=entries[0].pk, reason="x").code == \
        "not_reversible"
    assert LedgerEntry.objects.filter(subject=subject).count() == 2  # the original stays
    assert check_ledger()[0] == []


def test_ledger_rows_cannot_be_edited_or_deleted(village):
    subject = village.subject()
    f.credit(village, subject, 10)
    entry = LedgerEntry.objects.get(subject=subject)
    entry.delta = 1000
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    with pytest.raises(RuntimeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(delta=1000)
    with pytest.raises(RuntimeError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).delta == 10


# --- subjects -----------------------------------------------------------------------------------------


def test_opening_accounts_is_idempotent_and_checks_the_kind(village, other_village):
    person = village.resident("赵党员", political_status="party_member")
    first = services.subject_open(acting_user=village.worker, kind=SubjectKind.RESIDENT, resident=person.pk)
    again = services.subject_open(acting_user=village.worker, kind=SubjectKind.RESIDENT, resident=person.pk)
    assert first.pk == again.pk and first.created and not again.created
    member = services.subject_open(acting_user=village.worker, kind=SubjectKind.PARTY_MEMBER, resident=person.pk)
    assert member.pk != first.pk and member.kind == "party_member"
    masses = village.resident()
    assert error(services.subject_open, acting_user=village.worker, kind=SubjectKind.PARTY_MEMBER,
                 resident=masses.pk).code == "not_a_party_member"
    org = services.subject_open(acting_user=village.worker, kind=SubjectKind.ORGANISATION,
                                organisation=f.make_organisation(village.grid, "百井村小卖部").pk)
    assert org.name == "百井村小卖部"
    cadre = services.subject_open(acting_user=village.admin, kind=SubjectKind.CADRE, user=village.cadres[0].pk)
    assert cadre.region_id == village.code and cadre.name == "村委1"
    with pytest.raises(NotFound):
        services.subject_open(acting_user=other_village.worker, kind=SubjectKind.RESIDENT, resident=person.pk)
    with pytest.raises(NotFound):
        services.subject_open(acting_user=other_village.worker, kind=SubjectKind.CADRE, user=village.cadres[0].pk)
    assert Balance.objects.filter(subject__in=[first, member, org, cadre]).count() == 4
