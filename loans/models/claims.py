"""A work queue's claim on an item: who is working it and since when."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ClaimFields(models.Model):
    """Who is working a queue item and since when (claim / release, `loans.queues`).

    A claim is taken with a conditional UPDATE ... WHERE claimed_by IS NULL, so two people
    clicking "claim" at once cannot both get it."""

    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    class Meta:
        abstract = True
