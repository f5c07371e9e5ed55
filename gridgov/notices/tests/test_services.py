"""Sending reaches exactly its scope; reading, acknowledging and withdrawing; the mobile contract."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.accounts.choices import DEPARTMENT_ROLES, REGION_ROLE_LEVELS, Role
from gridgov.accounts.models import Assignment, Department
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.notices import selectors, services
from gridgov.notices.models import Notice, Receipt

from .conftest import OTHER_TOWN, TOWN

pytestmark = pytest.mark.django_db


def _hand_count(region_prefix: str, roles=None) -> set[int]:
    """Who should receive: counted directly from the assignments, independently of the resolver."""
    users = set()
    for a in Assignment.objects.filter(is_active=True, user__is_active=True).select_related("region"):
        if a.region_id and a.region_id.startswith(region_prefix) and (roles is None or a.role in roles):
            users.add(a.user_id)
    return users


def test_town_notice_reaches_exactly_the_town(town_op):
    notice = services.notice_send(acting_user=town_op, title="防汛值班通知", body_html="<p>请各村做好值班</p>",
                                  region=TOWN)
    got = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    # the town's own region posts plus the departments with a jurisdiction node in the town (its police
    # station, and 城管局 which covers the urban streets)
    depts = {d.pk for d in Department.objects.all() if any(r.code.startswith(TOWN) for r in d.jurisdiction.all())}
    assert {Department.objects.get(code=f"GAJ-{TOWN}").pk} < depts
    expected = _hand_count(TOWN) | set(Assignment.objects.filter(
        is_active=True, department__in=depts).values_list("user_id", flat=True))
    expected.discard(town_op.pk)
    assert got == expected and len(got) > 100
    assert notice.recipient_count == len(got)
    assert not Receipt.objects.filter(notice=notice, region_code__startswith=OTHER_TOWN).exists()
    assert AuditEntry.objects.filter(action="notice.send", object_id=str(notice.pk)).count() == 1


def test_city_wide_notice_reaches_every_account_once(city):
    notice = services.notice_send(acting_user=city, title="全市网格员培训", region="420881")
    # every region and department post; the global administrators (system, security, audit) are not
    posts = Assignment.objects.filter(is_active=True, user__is_active=True,
                                      role__in=[*REGION_ROLE_LEVELS, *DEPARTMENT_ROLES])
    machines = set(posts.filter(user__is_machine=True).values_list("user_id", flat=True))
    assert machines  # the demo's SMS/WeChat desks: city operators that read nothing
    everyone = set(posts.values_list("user_id", flat=True)) - machines
    everyone.discard(city.pk)
    got = list(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert len(got) == len(set(got)) == len(everyone) > 5000
    assert set(got) == everyone


def test_roles_and_departments_narrow_the_scope(town_op, city):
    workers = services.notice_send(acting_user=town_op, title="网格员通知", region=TOWN, roles=[Role.GRID_WORKER])
    assert set(Receipt.objects.filter(notice=workers).values_list("user_id", flat=True)) == _hand_count(
        TOWN, {Role.GRID_WORKER})
    mz = Department.objects.get(code="MZJ")
    dept = services.notice_send(acting_user=city, title="民政专项", region="420881", departments=[mz.pk])
    got = set(Receipt.objects.filter(notice=dept).values_list("user_id", flat=True))
    assert got == set(Assignment.objects.filter(department=mz, is_active=True).values_list("user_id", flat=True))
    assert got


def test_refusals_change_nothing(town_op, worker, deadline):
    before = Notice.objects.count()
    with pytest.raises(ValidationFailed) as outside:
        services.notice_send(acting_user=town_op, title="越权", region=OTHER_TOWN)
    assert outside.value.code == "invalid_region"
    with pytest.raises(ValidationFailed):
        services.notice_send(acting_user=town_op, title="越权部门", region=TOWN,
                             departments=[Department.objects.get(code="MZJ").pk])
    with pytest.raises(PermissionDenied):
        services.notice_send(acting_user=worker, title="网格员不能发通知", region=worker.assignments.first().region_id)
    with pytest.raises(ValidationFailed) as past:
        services.notice_send(acting_user=town_op, title="过期", region=TOWN, requires_ack=True,
                             ack_deadline=timezone.now() - timedelta(hours=1))
    assert past.value.code == "deadline_past"
    with pytest.raises(ValidationFailed):
        services.notice_send(acting_user=town_op, title=" ", region=TOWN)
    with pytest.raises(ValidationFailed):
        services.notice_send(acting_user=town_op, title="坏角色", region=TOWN, roles=["auditor"])
    with pytest.raises(ValidationFailed) as bad_file:
        services.notice_send(acting_user=town_op, title="附件", region=TOWN,
                             files=[SimpleUploadedFile("a.pdf", b"MZ\x90\x00 not a pdf")])
    assert bad_file.value.code == "invalid_attachment"
    assert Notice.objects.count() == before
    assert not Receipt.objects.filter(notice__title__in=["越权", "过期", "附件"]).exists()


def test_body_is_sanitised(town_op):
    notice = services.notice_send(
        acting_user=town_op, title="富文本", region=TOWN,
        body_html='<p onclick="x()">正文<script>alert(1)</script><a href="javascript:alert(1)">链接</a>'
                  '<img src="http://cdn/x.png"><strong>重点</strong></p>')
    assert "<script" not in notice.body_html and "onclick" not in notice.body_html
    assert "javascript:" not in notice.body_html and "<img" not in notice.body_html
    assert "<strong>重点</strong>" in notice.body_html
    assert notice.body_text.startswith("正文")


def test_read_acknowledge_and_inbox(town_op, worker, deadline):
    notice = services.notice_send(acting_user=town_op, title="请签收：秸秆禁烧", region=TOWN, requires_ack=True,
                                  ack_deadline=deadline)
    rows = list(selectors.inbox(worker, unread=True))
    assert notice.pk in [r.notice_id for r in rows]
    assert notice.pk in [r.notice_id for r in selectors.inbox(worker, unacked=True)]
    assert notice.pk in [r.notice_id for r in selectors.inbox(worker, q="秸秆")]
    assert notice.pk not in [r.notice_id for r in selectors.inbox(worker, q="没有这个词")]
    receipt = services.notice_read(acting_user=worker, notice=notice.pk)
    first = receipt.read_at
    assert first is not None
    assert services.notice_read(acting_user=worker, notice=notice.pk).read_at == first  # first opening stands
    assert notice.pk not in [r.notice_id for r in selectors.inbox(worker, unread=True)]
    acked = services.acknowledge(worker, notice.pk, comment="已组织学习")
    assert acked.acked_at and acked.ack_comment == "已组织学习"
    assert notice.pk not in [r.notice_id for r in selectors.inbox(worker, unacked=True)]
    with pytest.raises(services.Conflict) as again:
        services.acknowledge(worker, notice.pk)
    assert again.value.code == "already_acknowledged"
    assert Receipt.objects.get(pk=acked.pk).ack_comment == "已组织学习"
    assert AuditEntry.objects.filter(action="notice.acknowledge", object_id=str(notice.pk)).count() == 1


def test_acknowledge_refusals(town_op, other_town_op, worker, deadline):
    plain = services.notice_send(acting_user=town_op, title="无需签收", region=TOWN)
    with pytest.raises(services.Conflict):
        services.acknowledge(worker, plain.pk)
    asked = services.notice_send(acting_user=town_op, title="需签收", region=TOWN, requires_ack=True,
                                 ack_deadline=deadline)
    with pytest.raises(NotFound):  # not a recipient: the notice does not exist for them
        services.acknowledge(other_town_op, asked.pk)
    with pytest.raises(NotFound):
        services.acknowledge(worker, "abc")
    with pytest.raises(ValidationFailed):
        services.acknowledge(worker, asked.pk, comment="长" * 501)
    assert not Receipt.objects.filter(notice=asked, acked_at__isnull=False).exists()


def test_withdraw(town_op, other_town_op, worker, deadline):
    notice = services.notice_send(acting_user=town_op, title="将撤回", region=TOWN, requires_ack=True,
                                  ack_deadline=deadline)
    with pytest.raises(NotFound):
        services.notice_withdraw(acting_user=other_town_op, notice=notice.pk, reason="x")
    with pytest.raises(ValidationFailed):
        services.notice_withdraw(acting_user=town_op, notice=notice.pk, reason="")
    services.notice_withdraw(acting_user=town_op, notice=notice.pk, reason="内容有误")
    notice.refresh_from_db()
    assert notice.status == "withdrawn" and notice.withdrawn_by == town_op
    assert notice.pk not in [r.notice_id for r in selectors.inbox(worker)]
    with pytest.raises(services.Conflict):
        services.acknowledge(worker, notice.pk)
    with pytest.raises(services.Conflict):
        services.notice_withdraw(acting_user=town_op, notice=notice.pk, reason="再次")
    assert AuditEntry.objects.filter(action="notice.withdraw", object_id=str(notice.pk)).count() == 1


def test_inbox_queries_do_not_grow(town_op, worker, django_assert_max_num_queries):
    for i in range(5):
        services.notice_send(acting_user=town_op, title=f"通知{i}", region=TOWN)
    with django_assert_max_num_queries(1):
        rows = list(selectors.inbox(worker)[:20])
        _ = [(r.notice.title, r.notice.author.username) for r in rows]
    assert len(rows) >= 5


def test_department_head_and_village_authors(village_admin, village):
    gaj = Department.objects.get(code="GAJ")
    head = user_with_role(Role.DEPT_HEAD, department_code="GAJ")
    notice = services.notice_send(acting_user=head, title="警务通知", region="420881", departments=[gaj.pk])
    stations = set(Department.objects.filter(parent=gaj).values_list("id", flat=True)) | {gaj.pk}
    expected = set(Assignment.objects.filter(is_active=True, department_id__in=stations)
                   .values_list("user_id", flat=True)) - {head.pk}
    got = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert got == expected and len(stations) == 19
    assert not Receipt.objects.filter(notice=notice).exclude(region_code="").exists()  # departments only
    with pytest.raises(ValidationFailed) as other:
        services.notice_send(acting_user=head, title="越权", region="420881",
                             departments=[Department.objects.get(code="MZJ").pk])
    assert other.value.code == "invalid_departments"
    local = services.notice_send(acting_user=village_admin, title="村务通知", region=village.code)
    assert set(Receipt.objects.filter(notice=local).values_list("user_id", flat=True)) == (
        _hand_count(village.code) - {village_admin.pk})
    with pytest.raises(ValidationFailed):
        services.notice_send(acting_user=village_admin, title="越级", region=TOWN)
