"""Placeholder until the pages are built."""

from django.http import Http404


def sms_messages(request, *args, **kwargs):
    raise Http404


def collection_record(request, *args, **kwargs):
    raise Http404


def written_only(request, *args, **kwargs):
    raise Http404


def consents(request, *args, **kwargs):
    raise Http404
