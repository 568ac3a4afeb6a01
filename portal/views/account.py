"""Placeholder until the pages are built."""

from django.http import Http404


def set_language(request, *args, **kwargs):
    raise Http404
