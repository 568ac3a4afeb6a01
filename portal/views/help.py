"""Placeholder until the pages are built."""

from django.http import Http404


def help_index(request, *args, **kwargs):
    raise Http404


def hardship_new(request, *args, **kwargs):
    raise Http404


def hardship_detail(request, *args, **kwargs):
    raise Http404


def complaint_new(request, *args, **kwargs):
    raise Http404


def complaint_detail(request, *args, **kwargs):
    raise Http404
