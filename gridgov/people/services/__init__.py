"""Writes of the people registry (一标三实 and care tags), and the privacy actions on a person.

Every function here:
- takes keyword-only arguments, the first being `acting_user`;
- checks the permission (accounts/policy.py) and that every row it touches or points to is inside
  the actor's scope (a row outside is reported as missing, never as forbidden);
- validates (clean data → `full_clean()` → rules across rows) and raises ApplicationError with a
  Chinese message and a per-field `extra["errors"]`, leaving nothing changed;
- writes one audit row whose `changes` never hold a plaintext ID number, phone or health fact;
- runs in one transaction and re-checks, after the write, that the row is still in scope.
"""

from ._common import DUPLICATE_ID
from .care_tags import care_tag_add, care_tag_end, care_tag_update, clean_tag_attributes
from .households import household_create, household_update
from .organisations import credit_code_error, organisation_create, organisation_update
from .places import address_create, address_update, house_create, house_update
from .privacy import SubjectAccessPackage, resident_reveal, resident_subject_access_export
from .residents import RESIDENT_FIELDS, resident_correct, resident_create, resident_move, resident_update

__all__ = [
    "DUPLICATE_ID", "RESIDENT_FIELDS", "SubjectAccessPackage", "address_create", "address_update", "care_tag_add",
    "care_tag_end", "care_tag_update", "clean_tag_attributes", "credit_code_error", "house_create", "house_update",
    "household_create", "household_update", "organisation_create", "organisation_update", "resident_correct",
    "resident_create", "resident_move", "resident_reveal", "resident_subject_access_export", "resident_update",
]
