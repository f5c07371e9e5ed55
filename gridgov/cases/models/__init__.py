"""Models of the cases app, one submodule per subject. Other engineers add their own submodules
(components registry, police tips) and import them here."""

from .case import (
    Case,
    CaseAttachment,
    CaseCounter,
    CaseDispatch,
    CaseEvent,
    CaseQuerySet,
    Evaluation,
    ExtensionRequest,
    Supervision,
    Suspension,
)
from .taxonomy import CaseCategory

__all__ = [
    "Case",
    "CaseAttachment",
    "CaseCategory",
    "CaseCounter",
    "CaseDispatch",
    "CaseEvent",
    "CaseQuerySet",
    "Evaluation",
    "ExtensionRequest",
    "Supervision",
    "Suspension",
]
