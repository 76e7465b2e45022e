"""The SVG bar chart: pure, escaped, accessible, and its scale."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from gatewayd.admin.svgchart import Series, label_every, nice_step, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def _chart(values_a: list[int], values_b: list[int], title: str = "Traffic") -> str:
    labels = [f"{n + 1:02d}/03" for n in range(len(values_a))]
    return stacked_bars(
        labels,
        [
            Series("National", values_a, "#2457c5", "national"),
            Series("Inter", values_b, "#f60", "i"),
        ],
        title,
        "Messages per day",
    )


def test_one_rect_per_non_zero_segment_stacked_on_the_baseline() -> None:
    root = ElementTree.fromstring(_chart([3, 0, 5], [1, 0, 0]))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    assert root.find(f"{SVG}title").text == "Traffic"  # type: ignore[union-attr]
    bars = root.findall(f".//{SVG}rect[@class]")
    assert [b.get("class") for b in bars] == ["bar bar-national", "bar bar-i", "bar bar-national"]
    first, second, third = ((float(b.get("y", "0")), float(b.get("height", "0"))) for b in bars)
    assert first[0] + first[1] == pytest.approx(third[0] + third[1])  # same baseline
    assert second[0] + second[1] == pytest.approx(first[0])  # stacked on the first
    assert first[1] / third[1] == pytest.approx(3 / 5)
    assert "01/03 · National : 3" in (bars[0].find(f"{SVG}title").text or "")  # type: ignore[union-attr]


def test_every_text_is_escaped() -> None:
    svg = stacked_bars(
        ["<b>"],
        [Series('"><script>x</script>', [1], "#000", "k")],
        "<script>alert(1)</script>",
        "& desc",
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; desc" in svg
    ElementTree.fromstring(svg)  # still well-formed


def test_empty_data_draws_axes_without_bars() -> None:
    svg = _chart([0, 0], [0, 0])
    assert 'class="bar ' not in svg and re.search(r">0</text>", svg)


def test_mismatched_series_are_refused() -> None:
    with pytest.raises(ValueError, match="2 values, not 3"):
        stacked_bars(["a", "b", "c"], [Series("x", [1, 2], "#000", "x")], "t", "d")


@pytest.mark.parametrize(
    ("maximum", "step"), [(0, 1), (3, 1), (7, 2), (10, 2), (11, 5), (240, 50), (1001, 500)]
)
def test_nice_steps(maximum: int, step: int) -> None:
    assert nice_step(maximum) == step


def test_x_labels_thin_out_when_days_are_many() -> None:
    assert label_every(7, 700) == 1
    assert label_every(366, 700) == 24
    svg = _chart([1] * 31, [0] * 31)
    assert svg.count('class="x-label"') == len(range(0, 31, label_every(31, 760 - 56 - 12)))
