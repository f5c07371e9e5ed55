"""city/pipeline.py: batches made in a forked child arrive in order, failures come back as errors,
and the parent's transaction survives the child."""

import os

import pytest
from django.db import connection, transaction

from gridgov.demo.city import pipeline
from gridgov.regions.models import Region

pytestmark = pytest.mark.skipif(not pipeline.second_cpu(), reason="one CPU: the pipeline runs inline")


def test_batches_come_in_order_from_another_process():
    parent = os.getpid()

    def produce():
        for i in range(7):
            yield {"i": i, "pid": os.getpid(), "rows": list(range(i * 1000))}

    got = list(pipeline.batches(produce, depth=2))
    assert [b["i"] for b in got] == list(range(7))
    assert all(len(b["rows"]) == b["i"] * 1000 for b in got)
    assert {b["pid"] for b in got} != {parent}  # made elsewhere


def test_inline_when_told_to(monkeypatch):
    monkeypatch.setenv("GRIDGOV_SEED_PROCESSES", "1")
    assert [b for b in pipeline.batches(lambda: iter([os.getpid()]))] == [os.getpid()]


def test_a_failure_in_the_child_is_raised_with_its_traceback():
    def produce():
        yield 1
        raise ValueError("第二批数据有误")

    got = []
    with pytest.raises(pipeline.ProducerFailed, match="第二批数据有误"):
        for batch in pipeline.batches(produce):
            got.append(batch)
    assert got == [1]


def test_a_child_that_dies_is_reported():
    def produce():
        yield 1
        os._exit(3)

    with pytest.raises(pipeline.ProducerFailed, match="exit code 3"):
        list(pipeline.batches(produce))


@pytest.mark.django_db
def test_the_parents_transaction_survives_the_child():
    """A query in the child goes through a connection of its own; the parent's uncommitted row stays
    visible to the parent only, and its session goes on."""
    with transaction.atomic():
        Region.objects.filter(code="420881").update(name="钟祥市（未提交）")

        def produce():
            yield Region.objects.get(code="420881").name  # the child's own connection: committed data

        assert list(pipeline.batches(produce)) == ["钟祥市"]
        assert Region.objects.get(code="420881").name == "钟祥市（未提交）"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
