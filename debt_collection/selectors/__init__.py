"""What the collections desk reads: who sees which cases and a collector's work queue
(`queue`), a case's timeline (`timeline`) and the supervisor figures (`figures`). Each is a
fixed number of queries, however many cases there are: nothing here queries once per row."""

from .figures import (
    FIGURE_DEFINITIONS,
    ROLL_PAIRS,
    FigureRow,
    Figures,
    RollRate,
    supervisor_figures,
)
from .queue import (
    SUPERVISE_CASE,
    VIEW_CASE,
    WORK_CASE,
    QueueRank,
    ranked_cases,
    sees_every_case,
    visible_cases,
    work_queue,
)
from .timeline import TimelineEntry, case_timeline, plan_terms

__all__ = [
    "FIGURE_DEFINITIONS",
    "ROLL_PAIRS",
    "SUPERVISE_CASE",
    "VIEW_CASE",
    "WORK_CASE",
    "FigureRow",
    "Figures",
    "QueueRank",
    "RollRate",
    "TimelineEntry",
    "case_timeline",
    "plan_terms",
    "ranked_cases",
    "sees_every_case",
    "supervisor_figures",
    "visible_cases",
    "work_queue",
]
