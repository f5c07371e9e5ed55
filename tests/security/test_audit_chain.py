"""The audit log's hash chain: tampering of every kind is found, retention keeps it verifiable."""

import gzip
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from gridgov.core.audit import audit_record
from gridgov.core.models import AuditChainHead, AuditEntry
from gridgov.core.security import chain
from gridgov.core.security.auditguard import unguarded

pytestmark = pytest.mark.django_db


def _write(n, action="chaintest.write"):
    return [audit_record(actor=None, username="tester", action=action, object_id=str(i),
                         changes={"i": i, "when": timezone.now()}) for i in range(n)]


def _verify_fails_at(expected_id):
    with pytest.raises(CommandError) as err:
        call_command("audit_verify")
    assert err.value.returncode == 1
    assert f"id={expected_id} " in str(err.value)


def test_an_untouched_chain_verifies_including_the_seeded_rows(capsys):
    _write(3)
    result = chain.verify()
    assert result.ok, result
    assert result.checked == AuditEntry.objects.count()
    call_command("audit_verify")
    assert "审计链校验通过" in capsys.readouterr().out


def test_rows_link_to_their_predecessor_in_sequence():
    a, b = _write(2)
    assert b.seq == a.seq + 1 and b.prev_hash == a.entry_hash
    head = AuditChainHead.objects.get()
    assert (head.last_seq, head.last_hash) == (b.seq, b.entry_hash)


@pytest.mark.parametrize("field,value", [("message", "改过"), ("actor_username", "someone"),
                                         ("changes", {"i": 99}), ("created_at", "2020-01-01T00:00:00Z"),
                                         ("outcome", "failure")])
def test_an_edited_row_is_found(field, value):
    rows = _write(3)
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=rows[1].pk).update(**{field: value})  # bypasses the append-only save()
    _verify_fails_at(rows[1].pk)
    assert "被修改" in chain.verify().reason


def test_an_edit_that_recomputes_the_hash_without_the_key_is_found(settings):
    rows = _write(3)
    real_key = settings.AUDIT_CHAIN_KEY
    settings.AUDIT_CHAIN_KEY = "attacker-guess"
    forged = AuditEntry.objects.get(pk=rows[1].pk)
    forged.message = "改过"
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=forged.pk).update(message="改过", entry_hash=chain.entry_digest(forged))
    settings.AUDIT_CHAIN_KEY = real_key
    _verify_fails_at(rows[1].pk)


def test_a_deleted_row_is_found():
    rows = _write(3)
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=rows[1].pk).delete()
    _verify_fails_at(rows[2].pk)
    assert "缺失" in chain.verify().reason


def test_a_deleted_last_row_is_found():
    rows = _write(3)
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=rows[2].pk).delete()
    _verify_fails_at(rows[1].pk)
    assert "链尾" in chain.verify().reason


def test_an_inserted_row_is_found():
    rows = _write(2)
    # A row slipped in without a sequence number (seq is unique, so it cannot copy a real one's).
    fake = AuditEntry(actor_username="ghost", action="chaintest.write", created_at=timezone.now(),
                      seq=None, prev_hash=rows[0].entry_hash)
    AuditEntry.objects.bulk_create([fake])
    _verify_fails_at(fake.pk)
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=fake.pk).delete()
    # Appended after the head without the key: the head disagrees and the hash is wrong.
    head = AuditChainHead.objects.get()
    fake = AuditEntry(actor_username="ghost", action="chaintest.write", created_at=timezone.now(),
                      seq=head.last_seq + 1, prev_hash=head.last_hash, entry_hash="0" * 64)
    AuditEntry.objects.bulk_create([fake])
    _verify_fails_at(fake.pk)


def _restart_chain():
    """Empty the log (inside the test's transaction) so the retention tests control every row's age."""
    with unguarded():  # the database refuses DELETE on the log otherwise
        AuditEntry.objects.all().delete()
    AuditChainHead.objects.update_or_create(pk=chain.HEAD_PK, defaults={
        "last_seq": 0, "last_hash": "", "anchor_seq": 0, "anchor_hash": ""})


def _append_at(when, n):
    out = []
    for i in range(n):
        entry = AuditEntry(actor_username="tester", action="chaintest.old", object_id=str(i), created_at=when)
        chain.append(entry)
        out.append(entry)
    return out


def test_retention_refuses_less_than_six_months():
    before = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="183"):
        call_command("audit_retention", keep_days=182)
    assert AuditEntry.objects.count() == before


def test_retention_refuses_a_broken_chain(tmp_path):
    _restart_chain()
    rows = _append_at(timezone.now() - timedelta(days=400), 3)
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=rows[1].pk).update(message="x")
    with pytest.raises(CommandError, match="校验失败"):
        call_command("audit_retention", keep_days=200, archive_dir=str(tmp_path))
    assert AuditEntry.objects.count() == 3 and not list(tmp_path.iterdir())


def test_retention_archives_old_rows_and_the_rest_still_verifies(tmp_path):
    _restart_chain()
    old = _append_at(timezone.now() - timedelta(days=400), 4)
    recent = _append_at(timezone.now() - timedelta(days=10), 2)
    call_command("audit_retention", keep_days=183, archive_dir=str(tmp_path))
    assert not AuditEntry.objects.filter(pk__in=[r.pk for r in old]).exists()
    assert AuditEntry.objects.filter(pk__in=[r.pk for r in recent]).count() == 2
    head = AuditChainHead.objects.get()
    assert (head.anchor_seq, head.anchor_hash) == (old[-1].seq, old[-1].entry_hash)
    assert chain.verify().ok
    # The retention run itself is audited, on the chain.
    assert AuditEntry.objects.filter(action="audit.retention", changes__archived=4).exists()
    # The archive holds the cut rows with their hashes, linked from the previous anchor.
    (archive,) = tmp_path.iterdir()
    lines = [json.loads(line) for line in gzip.open(archive, "rt", encoding="utf-8")]
    assert [r["seq"] for r in lines] == [1, 2, 3, 4] and lines[0]["prev_hash"] == ""
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in zip(lines, lines[1:], strict=False))
    # Deleting the first kept row is still found after the cut.
    with unguarded():  # plays the attacker with database access
        AuditEntry.objects.filter(pk=recent[0].pk).delete()
    assert not chain.verify().ok and chain.verify().first_bad_id == recent[1].pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain():
    """Threads with their own connections append at once; the head lock makes them queue."""
    errors, per_thread, threads = [], 15, 6

    def worker(k):
        try:
            for i in range(per_thread):
                with transaction.atomic():
                    audit_record(actor=None, username=f"t{k}", action="chaintest.race", object_id=str(i))
        except Exception as exc:  # reported below: a failure must not hide in a thread
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    rows = AuditEntry.objects.filter(action="chaintest.race")
    assert rows.count() == per_thread * threads
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert chain.verify().ok
