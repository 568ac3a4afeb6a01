"""Placeholder until the pages are built."""

from django.http import Http404


def calculator(request, *args, **kwargs):
    raise Http404


def quote(request, *args, **kwargs):
    raise Http404
