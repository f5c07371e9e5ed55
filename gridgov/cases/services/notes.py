"""工作记录: a note on the timeline by someone working the case, without changing its state.

The grid administrator who reviewed the village cameras, the police officer who called the owner,
the desk that phoned the department: what they did belongs on the case's timeline with the evidence.
The kind names the event (`note`, or `video_review` for a footage review); the workflow row `note`
decides who may write one and in which states.
"""

from django.db import transaction

from gridgov.core.errors import ValidationFailed

from .. import attachments
from . import common

KINDS = {"note": "工作记录", "video_review": "视频研判"}
MAX_NOTE = 2000


@transaction.atomic
def case_note(*, acting_user, case, note: str, kind: str = "note", data: dict | None = None, files=None):
    """Appends a `kind` event with the note (and checked attachments) to the case's timeline.

    Refusals: 404 for a case the user cannot see, 403 for a user with no working role on it, 409 for a
    rejected, voided or merged case, 422 for an empty or over-long note, an unknown kind or a file
    whose content is not an allowed type (nothing is written then)."""
    case, row, roles = common.begin(acting_user, case, "note")
    if kind not in KINDS:
        raise ValidationFailed("记录类型不正确", code="invalid_kind", extra={"field": "kind"})
    note = common.text(note, field="note", required=True, limit=MAX_NOTE, what="记录内容")
    checked = attachments.check_all(files)
    at = common.now()
    event = common.event(case, actor=acting_user, action=kind, from_state=case.state, to_state=case.state, at=at,
                         role=common.main_role(roles, row.roles), note=note, data=dict(data or {}))
    for upload, ext in checked:
        attachments.store(case=case, upload=upload, ext=ext, uploaded_by=acting_user, event=event)
    common.audit(acting_user, case, kind, {"note": note[:100], "files": len(checked)})
    return event
