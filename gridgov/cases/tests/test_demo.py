"""Demo cases (gridgov/demo/cases.py): timelines consistent with the states, and the article's story in
胡集镇袁台村 told through the services."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.cases import workflow
from gridgov.cases.choices import FINAL_STATES, OPEN_STATES, STAGE_OF_STATE, CaseState, Source
from gridgov.cases.models import Case, CaseDispatch, CaseEvent, Evaluation
from gridgov.core.models import AuditEntry
from gridgov.demo import cases as demo

pytestmark = pytest.mark.django_db

STATELESS = {"escalate", "flag_duplicate", "absorb", "attach", "video_review", "note"}


def check_timeline(case: Case) -> None:
    """Every event starts where the previous one ended, follows a row of the workflow table with a
    role that row allows, and the last one ends in the case's state; an open case's stage clock
    started with the event that entered its stage."""
    state, stage_start = "", None
    for event in case.events.order_by("created_at", "id"):
        if event.action in STATELESS:
            assert event.from_state == event.to_state == state, (case.number, event.action)
            continue
        if STAGE_OF_STATE.get(event.to_state) != STAGE_OF_STATE.get(state):
            stage_start = event.created_at
        assert event.from_state == state, (case.number, event.action, event.from_state, state)
        rows = [r for r in workflow.TABLE if r.action == event.action and state in r.sources]
        assert rows, (case.number, event.action, state)
        assert any(event.actor_role in r.roles or (event.actor_role == "grid_worker" and "reporter" in r.roles)
                   for r in rows), (case.number, event.action, event.actor_role)
        state = event.to_state
    assert state == case.state, (case.number, state, case.state)
    if case.state in OPEN_STATES:
        assert case.stage == STAGE_OF_STATE[case.state] and case.stage_started_at == stage_start, case.number


def test_demo_cases_are_consistent_with_the_workflow(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = set(Case.objects.values_list("pk", flat=True))
    counts = demo.seed_cases(seed=7, count=150, days=45)
    cases = list(Case.objects.exclude(pk__in=before).select_related("category", "lead_department")
                 .order_by("created_at"))
    made = [c for c in cases if c.created_at.year > 2018]
    assert counts["cases"] == len(made) >= 140
    states = {c.state for c in made}
    assert {CaseState.CLOSED, CaseState.EVALUATED} <= states and states & OPEN_STATES
    assert sum(c.state in (CaseState.CLOSED, CaseState.EVALUATED) for c in made) > len(made) / 2
    sources = {c.source for c in made}
    assert {Source.GRID_WORKER, Source.HOTLINE} <= sources
    for case in made:
        check_timeline(case)
        active_lead = CaseDispatch.objects.filter(case=case, is_active=True, role="lead").first()
        if case.lead_department_id:
            assert active_lead is not None and active_lead.department_id == case.lead_department_id
        if case.state in OPEN_STATES:
            assert case.stage and case.stage_deadline and case.stage_started_at <= case.stage_deadline
        else:
            assert case.stage == "" and case.stage_deadline is None
        if case.state in (CaseState.CLOSED, CaseState.EVALUATED):
            assert case.closed_at is not None
        if case.state == CaseState.EVALUATED:
            assert Evaluation.objects.filter(case=case).exists()
        if case.state == CaseState.MERGED:
            assert case.duplicate_of_id is not None
        if case.source in (Source.HOTLINE, Source.SMS, Source.WECHAT):
            assert case.reporter_phone and case.reporter_phone_index
        assert case.region_id.startswith("420881") and len(case.region_id) == 15
    assert all(c.state in FINAL_STATES | OPEN_STATES | {CaseState.SUSPENDED} for c in made)


def test_the_session_seed_holds_the_demo_cases():
    """seed_demo (run once for the test session) calls demo.cases through demo/seed.py."""
    assert AuditEntry.objects.filter(action="demo.seed_cases").exists()
    recent = timezone.now() - timedelta(days=demo.DEFAULT_DAYS + 1)
    assert Case.objects.filter(created_at__gte=recent).count() > 1000
    assert demo.story_case() is not None


def test_the_article_story(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = demo.story_case()
    assert case is not None, "seed_demo should have told the 袁台村 story"
    assert case.region_id.startswith(demo.YUANTAI) and case.category.code == "G0102"
    assert case.source == Source.PATROL and case.state == CaseState.EVALUATED
    assert case.lead_department.code == "GAJ-420881103"
    events = list(case.events.order_by("created_at", "id"))
    assert [e.action for e in events] == ["report", "accept", "register", "dispatch", "handle", "video_review",
                                          "feedback", "verify_pass", "close", "evaluate", "evaluate"]
    by_action = {e.action: e for e in events}
    assert by_action["report"].actor_role == "grid_worker" and "空调" in case.description
    assert by_action["video_review"].actor_name == "魏林" and by_action["video_review"].actor_role == "grid_admin"
    assert "视频监控" in by_action["video_review"].note
    assert by_action["dispatch"].data["lead"] == "GAJ-420881103"
    caught = by_action["feedback"]
    assert "抓获" in caught.note and caught.created_at - case.created_at < timedelta(days=7)
    assert case.closed_at - case.created_at < timedelta(days=8)
    assert case.created_at.year == 2018 and case.created_at.month == 4
    assert case.attachments.filter(kind="photo").exists()
    assert set(Evaluation.objects.filter(case=case).values_list("evaluator_kind", flat=True)) == {"reporter",
                                                                                                  "centre"}
    check_timeline(case)
    # 胡某's household is in the story's grid when the population is seeded
    from gridgov.people.models import Resident

    hu = Resident.objects.filter(name="胡某").first()
    if hu is not None:
        assert case.region_id == hu.region_id and "胡某" in case.description
    # the story is told once
    assert demo.seed_article_story().pk == case.pk
    # and shown on its page to the town desk
    client = Client()
    client.force_login(case.events.get(action="close").actor)
    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "视频研判" in html and "魏林" in html and "胡集派出所" in html


def test_demo_events_are_dated_in_order(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = CaseEvent.objects.count()
    demo.seed_cases(seed=11, count=40, days=20, story=False)
    assert CaseEvent.objects.count() > before
    for case in Case.objects.filter(events__id__gt=0).distinct().order_by("-id")[:40]:
        times = [e.created_at for e in case.events.order_by("id")]
        assert times == sorted(times), case.number
        assert times[0] == case.created_at
