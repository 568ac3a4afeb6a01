"""Delinquency rules (DESIGN §4, Overdue): the buckets by days past due and the write-off
threshold. Defined once here, imported wherever they are applied, end-of-day SQL included.

Plain Python, no Django: DPD in, bucket out.
"""

CURRENT = "current"
M1 = "M1"
M2 = "M2"
M3 = "M3"
M4_PLUS = "M4+"  # non-performing

# (highest DPD in the bucket, bucket), in order; beyond the last bound a loan is M4+.
BUCKET_BOUNDS: tuple[tuple[int, str], ...] = ((0, CURRENT), (30, M1), (60, M2), (90, M3))
LAST_BUCKET = M4_PLUS
# Where every loan with any days past due is: a filter on these finds overdue loans by the
# bucket index (days past due itself is not indexed; end of day changes it daily).
OVERDUE_BUCKETS: tuple[str, ...] = (*(b for _, b in BUCKET_BOUNDS[1:]), LAST_BUCKET)

# 核销 (write-off): a loan becomes a candidate once its DPD is strictly greater than this.
WRITE_OFF_DPD = 180


def bucket_for(dpd: int) -> str:
    """current (0), M1 (1–30), M2 (31–60), M3 (61–90), M4+ (over 90)."""
    for bound, bucket in BUCKET_BOUNDS:
        if dpd <= bound:
            return bucket
    return LAST_BUCKET


def is_write_off_candidate(dpd: int) -> bool:
    return dpd > WRITE_OFF_DPD
