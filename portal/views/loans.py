"""Placeholder until the pages are built."""

from django.http import Http404


def loan_list(request, *args, **kwargs):
    raise Http404
