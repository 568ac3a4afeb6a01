from django.db import models

from . import crypto


class Ciphertext(str):
    """A value already encrypted with our keys (e.g. copied from another encrypted column):
    stored as it is, not encrypted a second time."""


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python sees the plaintext.

    Ciphertext is randomised, so the column cannot be filtered or made unique: pair it with a
    blind-index column for that.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        if isinstance(value, Ciphertext):
            return str(value)
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
