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


def in_fen(expression):
    """An amount computed in SQL, rounded to the fen. SQLite adds decimals as floats
    (9000.00 − 8999.95 is 0.0499999…), so a balance brought to zero by equal amounts could
    otherwise end a hair below it and trip a non-negative check."""
    return models.functions.Round(
        expression, 2, output_field=models.DecimalField(max_digits=16, decimal_places=2)
    )
