"""Placeholder until the pages are built."""

from django.http import Http404


def repay(request, *args, **kwargs):
    raise Http404


def repay_loan(request, *args, **kwargs):
    raise Http404


def payment_result(request, *args, **kwargs):
    raise Http404
