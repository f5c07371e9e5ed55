"""Writes of the cases app: one service per workflow transition (workflow.TABLE), the report, the
overdue sweep, attachments and the taxonomy."""

from .attachments import case_attach
from .categories import category_create, category_update
from .common import Conflict
from .notes import case_note
from .report import case_report
from .sweep import SweepResult, sweep_overdue
from .transitions import (
    case_accept,
    case_close,
    case_dispatch,
    case_evaluate,
    case_extend_decide,
    case_extend_request,
    case_feedback,
    case_handle,
    case_merge,
    case_register,
    case_reject,
    case_resume,
    case_return,
    case_self_resolve,
    case_supervise,
    case_suspend,
    case_verify,
    case_void,
)

__all__ = [
    "Conflict", "SweepResult", "case_accept", "case_attach", "case_close", "case_dispatch", "case_evaluate",
    "case_extend_decide", "case_extend_request", "case_feedback", "case_handle", "case_merge", "case_note",
    "case_register", "case_reject", "case_report", "case_resume", "case_return", "case_self_resolve", "case_supervise",
    "case_suspend", "case_verify", "case_void", "category_create", "category_update", "sweep_overdue",
]
