"""city/indexes.py: a bulk load's indexes and foreign keys come back exactly, and a row that breaks
a key is refused when the key comes back."""

import pytest
from django.db import IntegrityError, connection, transaction

from gridgov.demo.city.indexes import indexes_set_aside
from gridgov.people.models import CareTag, Resident

pytestmark = pytest.mark.django_db


def _schema(table: str) -> tuple[set, set]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
            return set(cursor.fetchall()), set()
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = set(cursor.fetchall())
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                       "AND contype = 'f'", [table])
        return indexes, set(cursor.fetchall())


def test_indexes_and_keys_come_back_as_they_were():
    table = CareTag._meta.db_table
    indexes, keys = _schema(table)
    assert len(indexes) >= 3 and (keys or connection.vendor == "sqlite")
    with indexes_set_aside(CareTag):
        inside, inside_keys = _schema(table)
        assert len(inside) < len(indexes) and not inside_keys
        assert CareTag.objects.count() > 0  # the table is still read
    assert _schema(table) == (indexes, keys)

    with indexes_set_aside(CareTag, indexes=False):
        assert _schema(table)[0] == indexes
    assert _schema(table) == (indexes, keys)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_row_that_breaks_a_key_is_refused_when_the_key_comes_back():
    tag = CareTag.objects.order_by("id").first()
    missing = Resident.objects.order_by("-id").first().pk + 1000
    before = CareTag.objects.count()
    with pytest.raises(IntegrityError, match="resident"):
        with transaction.atomic(), indexes_set_aside(CareTag, indexes=False):
            tag.pk, tag.resident_id = None, missing
            tag.save()  # no check yet: the key is set aside
    assert CareTag.objects.count() == before
