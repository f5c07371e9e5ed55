import pytest

from gridgov.accounts.choices import Role
from gridgov.core.audit import audit_record
from gridgov.core.models import AuditEntry
from gridgov.core.testing import ApiClient, assert_error, user_with_role

pytestmark = pytest.mark.django_db


def test_audit_rows_are_append_only():
    entry = audit_record(actor=None, action="test.write", object_type="x", object_id="1")
    entry.message = "edited"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).message == ""


def test_audit_records_address_and_changes_of_a_write(client):
    operator = user_with_role(Role.TOWN_OPERATOR, "420881103")
    from gridgov.accounts.services import api_token_issue

    _, raw = api_token_issue(acting_user=operator)
    ApiClient(token=raw).delete("auth/tokens/999999", REMOTE_ADDR="10.1.2.3")  # refused: nothing logged
    token = operator.api_tokens.first()
    ApiClient(token=raw).delete(f"auth/tokens/{token.pk}", REMOTE_ADDR="10.1.2.3")
    entry = AuditEntry.objects.filter(action="api_token.revoke").latest("id")
    assert entry.ip == "10.1.2.3"
    assert entry.actor == operator and entry.actor_username == operator.username
    assert entry.changes == {"prefix": token.prefix}
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1


def test_auditor_reads_and_filters_the_log():
    worker = user_with_role(Role.GRID_WORKER)
    audit_record(actor=worker, action="audittest.create", region_code=worker.assignments.first().region_id)
    audit_record(actor=None, action="demo.other", username="system")
    auditor = ApiClient(user_with_role(Role.AUDITOR))
    status, body = auditor.get("audit", {"actor": worker.username})
    assert status == 200
    assert body["count"] >= 1 and all(i["actor_username"] == worker.username for i in body["items"])
    _, by_action = auditor.get("audit", {"action": "audittest."})
    assert {i["action"] for i in by_action["items"]} == {"audittest.create"}
    _, by_region = auditor.get("audit", {"region": "420881103"})
    assert all(i["region_code"].startswith("420881103") for i in by_region["items"])


@pytest.mark.parametrize("role,where", [(Role.GRID_WORKER, None), (Role.CITY_OPERATOR, "420881")])
def test_other_roles_cannot_read_the_log(role, where):
    status, body = ApiClient(user_with_role(role, where)).get("audit")
    assert_error(status, body, 403, "permission_denied")


def test_bad_audit_filters_are_422():
    auditor = ApiClient(user_with_role(Role.AUDITOR))
    for params in ({"since": "yesterday"}, {"outcome": "maybe"}, {"region": "abc"}):
        assert_error(*auditor.get("audit", params), 422, "invalid_input")

