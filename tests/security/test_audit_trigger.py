"""The database itself refuses edits of the audit log (gridgov/core/security/auditguard.py)."""

import pytest
from django.db import DatabaseError, connection, transaction

from gridgov.accounts.models import User
from gridgov.core.audit import audit_record
from gridgov.core.models import AuditEntry
from gridgov.core.security import chain

pytestmark = pytest.mark.django_db
POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite keeps DELETE possible: Django empties tables with DELETE (flush) and SQLite has no "
           "transaction-local setting to let only the retention command through; the chain finds deletions")


def _row(username="trigger-test"):
    return audit_record(actor=None, username=username, action="triggertest.write", changes={"n": 1})


@pytest.mark.parametrize("change", [{"message": "改过"}, {"actor_username": "someone"}, {"entry_hash": "0" * 64},
                                    {"message": "改过", "actor": None}])
def test_an_update_is_refused(change):
    row = _row()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=row.pk).update(**change)
    assert AuditEntry.objects.get(pk=row.pk).message == row.message
    assert chain.verify().ok


@POSTGRES_ONLY
def test_a_delete_is_refused_even_in_raw_sql():
    row = _row()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [row.pk])
    assert AuditEntry.objects.filter(pk=row.pk).exists()


@POSTGRES_ONLY
def test_the_retention_setting_lets_a_delete_through():
    row, other = _row(), _row()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL gridgov.audit_retention = 'on'")
            cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [row.pk])
    assert not AuditEntry.objects.filter(pk=row.pk).exists()
    # SET LOCAL lasts until the outermost transaction ends (here: the test's); switch it off, the guard is back.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gridgov.audit_retention = 'off'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [other.pk])


def test_deleting_a_user_unlinks_their_rows_and_the_chain_still_verifies():
    user = User.objects.create_user(username="leaver-1", password="Pw-for-tests-2026")
    row = audit_record(actor=user, action="triggertest.write")
    user.delete()
    row = AuditEntry.objects.get(pk=row.pk)
    assert row.actor_id is None and row.actor_username == "leaver-1"
    assert chain.verify().ok
