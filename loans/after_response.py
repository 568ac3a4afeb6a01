"""Work that the answer to a request does not wait for.

A view wrapped in `after_response` collects what its services hand to `run_after_response`
and runs it when the server closes the response, which WSGI and ASGI servers do after the last
byte has gone out. Outside such a view (shell, commands, tasks) the work runs at once.

Used for texting one-time codes: the time of the answer must not tell a prober whether we
texted a borrower, and the send (an outbox row, a provider request) is what takes the time.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps

log = logging.getLogger(__name__)

_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar("after_response", default=None)


def run_after_response(work: Callable[[], object]) -> None:
    pending = _pending.get()
    if pending is None:
        work()
    else:
        pending.append(work)


def _run(pending: list[Callable[[], object]]) -> None:
    for work in pending:
        try:
            work()
        except Exception:  # noqa: BLE001 - HttpResponse.close() would swallow it unlogged
            log.exception("Work deferred until after the response failed")
    pending.clear()


def after_response(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        pending: list[Callable[[], object]] = []
        token = _pending.set(pending)
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            _pending.reset(token)
            _run(pending)  # the change behind the work committed: do it anyway
            raise
        _pending.reset(token)
        if pending:
            # HttpResponse.close() calls its closers before request_finished, so the work
            # still runs inside Django's request cycle (connections are tidied after it).
            response._resource_closers.append(lambda: _run(pending))
        return response

    return wrapper
