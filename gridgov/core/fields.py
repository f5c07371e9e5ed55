"""Model fields for personal data: encrypted at rest, plaintext in Python."""

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Stores `crypto.encrypt(value, purpose)`; reads decrypt. Empty stays empty (not encrypted).

    Never filter on this column: search through the blind index stored beside it.
    """

    def __init__(self, *args, purpose: str = "", **kwargs):
        if not purpose:
            raise TypeError("EncryptedTextField needs a purpose, bound into the ciphertext")
        self.purpose = purpose
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        return crypto.decrypt(value, self.purpose)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return ""
        return crypto.encrypt(str(value), self.purpose)
