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
from .component import Component, ComponentState  # noqa: F401  (部件普查)
from .counts import CaseCount
from .taxonomy import CaseCategory
from .tip import FundEntry, RewardFund, Tip, TipEvent  # noqa: F401  (助警信息)

__all__ = [
    "Case",
    "CaseAttachment",
    "CaseCategory",
    "CaseCount",
    "CaseCounter",
    "CaseDispatch",
    "CaseEvent",
    "CaseQuerySet",
    "Evaluation",
    "ExtensionRequest",
    "Supervision",
    "Suspension",
]
