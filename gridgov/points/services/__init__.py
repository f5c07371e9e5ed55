"""Writes of the points scheme. Each is one transaction with one audit row (CONVENTIONS rule 2)."""

from ._common import Conflict, EffectiveScheme, scheme_for
from .certificates import certificate_issue, certificate_revoke, certificate_verify, code_of
from .claims import cap_check, claim_approve, claim_reject, claim_submit
from .ledger import entry_reverse
from .schemes import scheme_set
from .shop import goods_create, goods_restock, goods_update, order_cancel, order_fulfil, order_place, shop_create
from .subjects import subject_open

__all__ = [
    "Conflict", "EffectiveScheme", "cap_check", "certificate_issue", "certificate_revoke", "certificate_verify",
    "claim_approve", "claim_reject", "claim_submit", "code_of", "entry_reverse", "goods_create", "goods_restock",
    "goods_update", "order_cancel", "order_fulfil", "order_place", "scheme_for", "scheme_set", "shop_create",
    "subject_open",
]
