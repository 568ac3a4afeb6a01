from django.db import models

from . import crypto


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
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
