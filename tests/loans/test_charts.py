"""The server-drawn SVG charts (loans/charts.py): bars scale to the largest value, nothing
breaks on empty or hostile input, every label is escaped, the SVG is well formed."""

import xml.etree.ElementTree as ET
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from loans import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything not well formed
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.HEIGHT}"
    return root


def bar_heights(root) -> list[float]:
    return [
        float(r.get("height")) for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None
    ]


def test_bars_scale_to_the_largest_value():
    root = parse(charts.bar_chart(["a", "b", "c"], [Decimal("50"), Decimal("100"), 25], title="t"))
    heights = bar_heights(root)
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert heights == [plot / 2, plot, plot / 4]


def test_a_zero_or_negative_value_draws_no_bar_and_nothing_grows_downwards():
    root = parse(charts.bar_chart(["a", "b", "c"], [0, -40, 10], title="t"))
    assert bar_heights(root) == [charts.HEIGHT - charts.TOP - charts.BOTTOM]
    for rect in root.iter(f"{SVG}rect"):
        assert float(rect.get("height")) >= 0


def test_empty_data_says_so():
    for svg in (
        charts.bar_chart([], [], title="t", empty="No data"),
        charts.bar_chart(["a"], [0], title="t", empty="No data"),
        charts.line_chart([], [], title="t", empty="No data"),
        charts.stacked_bar_chart(["a"], [charts.Series("x", [0])], title="t", empty="No data"),
    ):
        root = parse(svg)
        assert [t.text for t in root.iter(f"{SVG}text")] == ["No data"]


def test_labels_titles_and_colours_are_escaped():
    evil = '<script>alert("x")</script>&'
    svg = charts.bar_chart(
        [evil, "b"], [1, 2], title=evil, value_labels=[evil, "2"], colours=['"/><script>', "#000"]
    )
    assert "<script" not in svg
    root = parse(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert evil in texts  # shown as text, not markup
    assert root.get("aria-label") == evil
    line = charts.line_chart([evil], [charts.Series(evil, [1])], title=evil)
    assert "<script" not in line
    parse(line)


def test_stacked_bars_stack_each_series_on_the_last():
    series = [charts.Series("delivered", [30, 10]), charts.Series("failed", [10, 0])]
    root = parse(charts.stacked_bar_chart(["mon", "tue"], series, title="t"))
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    rects = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    first_delivered, first_failed, second_delivered = rects
    assert float(first_delivered.get("height")) + float(first_failed.get("height")) == plot
    # The failed part sits on top of the delivered part.
    assert float(first_failed.get("y")) + float(first_failed.get("height")) == float(
        first_delivered.get("y")
    )
    assert float(second_delivered.get("height")) == plot / 4
    legend = [t.text for t in root.iter(f"{SVG}text")]
    assert "delivered" in legend and "failed" in legend


def test_a_line_chart_puts_the_highest_point_at_the_top_and_skips_missing_points():
    root = parse(
        charts.line_chart(
            ["1", "2", "3"], [charts.Series("a", [5, None, 10]), charts.Series("b", [0])], title="t"
        )
    )
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    points = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    assert len(points) == 2  # the missing middle point is left out
    assert points[1][1] == charts.TOP  # 10 is the top
    assert points[0][1] == charts.TOP + (charts.HEIGHT - charts.TOP - charts.BOTTOM) / 2


def test_a_long_line_chart_writes_only_a_few_labels_the_last_always():
    labels = [f"d{i}" for i in range(90)]
    root = parse(charts.line_chart(labels, [charts.Series("", list(range(90)))], title="t"))
    written = [t.text for t in root.iter(f"{SVG}text") if t.text in labels]
    assert 2 <= len(written) <= 7
    assert written[0] == "d0" and written[-1] == "d89"


@given(
    st.lists(
        st.tuples(
            st.text(max_size=20),
            st.one_of(
                st.integers(min_value=-(10**12), max_value=10**12),
                st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
            ),
        ),
        max_size=30,
    )
)
def test_any_bars_make_a_well_formed_svg_within_its_viewbox(rows):
    svg = charts.bar_chart([label for label, _ in rows], [v for _, v in rows], title="t")
    root = parse(svg)
    for rect in root.iter(f"{SVG}rect"):
        y, h = float(rect.get("y")), float(rect.get("height"))
        assert h >= 0 and y >= 0 and y + h <= charts.HEIGHT + 0.1
    heights = bar_heights(root)
    if heights:
        assert max(heights) == charts.HEIGHT - charts.TOP - charts.BOTTOM
