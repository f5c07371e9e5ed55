"""The demo's year of points (gridgov/demo/points.py) on the session's demo database: every village
has activity, the books balance, and the article's story is on record with three approvals."""

import pytest
from django.db.models import Count

from gridgov.people.models import Resident
from gridgov.points.choices import ClaimStatus, EntryKind, Vote
from gridgov.points.ledger_check import check_ledger
from gridgov.points.models import Certificate, Claim, LedgerEntry, Subject
from gridgov.points.services import certificate_verify, code_of
from gridgov.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_points(db):
    """The seed's points data, or — while seed_demo does not write it yet — this test's own."""
    if not Subject.objects.filter(kind="cadre", user__username__startswith="vc").exists():
        from gridgov.demo.points import seed_points

        seed_points(seed=2013)


def test_every_village_has_a_year_of_points(demo_points):
    villages = set(Region.objects.filter(level=3).values_list("code", flat=True))
    active = {code[:12] for code in Claim.objects.filter(entered_by__username__startswith="g")
              .values_list("region_id", flat=True)}
    assert villages <= active
    statuses = dict(Claim.objects.values_list("status").annotate(n=Count("id")))
    assert statuses[ClaimStatus.POSTED] > statuses.get(ClaimStatus.PENDING, 0) > 0
    assert statuses.get(ClaimStatus.REJECTED, 0) > 0
    kinds = set(Subject.objects.values_list("kind", flat=True))
    assert {"resident", "household", "cadre"} <= kinds or not Resident.objects.exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()
    assert check_ledger()[0] == []


def test_the_article_story(demo_points):
    if not Resident.objects.filter(name="吴正宪", region__code__startswith="420881107201").exists():
        pytest.skip("the demo population (吴正宪, 姚宣立) is not seeded")
    claim = Claim.objects.get(subject__name="吴正宪", subject__kind="resident", points=500)
    assert claim.status == ClaimStatus.POSTED and claim.needs_collective and claim.quorum == 3
    assert claim.reporter_name == "姚宣立" and claim.source == "neighbour"
    voters = list(claim.votes.filter(decision=Vote.APPROVE).values_list("member__username", flat=True))
    assert sorted(voters) == [f"vc420881107201-{i}" for i in (1, 2, 3)]
    assert [e.action for e in claim.events.all()] == ["submit", "approve", "approve", "approve", "post"]
    assert LedgerEntry.objects.get(claim=claim, kind=EntryKind.AWARD).delta == 500
    assert LedgerEntry.objects.get(claim=claim, kind=EntryKind.ROLLUP).subject.name == "吴正宪户"
    cert = Certificate.objects.get(subject=claim.subject)
    assert certificate_verify(code_of(cert)).valid and cert.earned >= 500
