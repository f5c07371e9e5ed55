"""Writes of 政务网上办. Every function here:

- takes keyword-only arguments, the first being `acting_user`;
- checks that the application is visible to the actor (404), that the actor's role may take the
  step (403) and that the state allows it (409 wrong_state), before writing anything;
- validates input and raises ApplicationError with a Chinese message and per-field `extra["errors"]`;
- runs in one transaction: the change, one timeline event, the notifications, one audit row — and
  re-checks afterwards that the application is still inside the actor's scope;
- takes an optional `idempotency_key`: a retry of the same step answers with the result as it is.
"""

from .applications import (
    application_accept,
    application_approve,
    application_complete,
    application_create,
    application_material_add,
    application_refuse,
    application_resubmit,
    application_return,
    application_submit,
    application_town_pass,
    application_verify,
    application_withdraw,
)
from .catalogue import service_item_create, service_item_update
from .eligibility import eligibility_scan_grid, eligibility_scan_region
from .payments import payment_record
from .workflow import available_actions

__all__ = [
    "application_accept", "application_approve", "application_complete", "application_create",
    "application_material_add", "application_refuse", "application_resubmit", "application_return",
    "application_submit", "application_town_pass", "application_verify", "application_withdraw",
    "available_actions", "eligibility_scan_grid", "eligibility_scan_region", "payment_record",
    "service_item_create", "service_item_update",
]
