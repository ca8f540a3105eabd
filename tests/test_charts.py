"""The run's charts as a reader of a printed strategy sees them: files opened as images and
SVG text, figures checked for what they draw."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image

from care_demand.outputs.charts import (
    PALETTE,
    contrast_ratio,
    placement_mix_chart,
    plot_fan,
    run_charts,
    style_colours,
    write_run_charts,
)
from care_demand.outputs.charts.mix import recorded_placement_mix
from care_demand.outputs.disclosure import DisclosureRule, recorded_values, suppress_stocks
from care_demand.outputs.run_files import read_run

SVG = "{http://www.w3.org/2000/svg}"
A4_TEXT_WIDTH_CM = 16.0
MIN_TEXT_PT = 9.0
# Charts whose y-axes count children (or pounds): they start at zero.
COUNT_CHARTS = (
    "children_in_care_fan",
    "continuum",
    "flows",
    "placement_mix",
    "sufficiency_inhouse_foster",
    "sufficiency_inhouse_residential",
    "demand_capacity",
    "out_of_area",
    "costs_by_line",
)


@pytest.fixture(scope="module")
def charts_dir(report_run: Path) -> Path:
    return report_run / "charts"


@pytest.fixture(scope="module")
def names(report_run: Path) -> list[str]:
    return [chart.name for chart in run_charts(report_run)]


def _font_sizes(svg: ET.Element) -> list[float]:
    sizes = []
    for text in svg.iter(f"{SVG}text"):
        found = re.search(r"font-size:\s*([\d.]+)px", text.get("style", ""))
        assert found, ET.tostring(text)[:200]
        sizes.append(float(found.group(1)))
    return sizes


def test_every_chart_is_16_cm_wide_with_text_of_9_pt_or_more(
    charts_dir: Path, names: list[str]
) -> None:
    assert set(names) == set(COUNT_CHARTS)
    for name in names:
        svg = ET.parse(charts_dir / f"{name}.svg").getroot()
        # SVG user units are points at the saved size (viewBox = width in pt).
        width_pt = float(svg.get("width", "").removesuffix("pt"))
        assert width_pt * 2.54 / 72 == pytest.approx(A4_TEXT_WIDTH_CM, abs=0.3), name
        sizes = _font_sizes(svg)
        assert sizes and min(sizes) >= MIN_TEXT_PT, (name, min(sizes))
        assert max(sizes) > MIN_TEXT_PT, name  # the title is larger
        with Image.open(charts_dir / f"{name}.png") as png:
            dpi = png.info["dpi"][0]
            assert png.width / dpi * 2.54 == pytest.approx(A4_TEXT_WIDTH_CM, abs=0.3), name


def test_every_svg_has_editable_text_a_title_and_a_description(
    report_run: Path, charts_dir: Path
) -> None:
    for chart in run_charts(report_run):
        svg = ET.parse(charts_dir / f"{chart.name}.svg").getroot()
        texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
        assert len(texts) > 5, chart.name
        words = set(" ".join(texts).split())
        assert set(chart.title.split()) <= words, chart.name  # the title, as text
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and title.text == chart.title
        assert desc is not None and desc.text and re.search(r"\d", desc.text), chart.name
        assert svg.get("role") == "img"
        # No text drawn as glyph outlines (matplotlib names outline glyphs after the font).
        raw = (charts_dir / f"{chart.name}.svg").read_text(encoding="utf-8")
        assert not re.search(r'id="(DejaVuSans|Arial|LiberationSans)', raw), chart.name


def test_every_chart_has_an_alt_text_file_stating_its_finding_in_numbers(
    report_run: Path, charts_dir: Path
) -> None:
    for chart in run_charts(report_run):
        assert chart.files() == [f"{chart.name}.{s}" for s in ("png", "svg", "txt")]
        text = (charts_dir / f"{chart.name}.txt").read_text(encoding="utf-8")
        assert text.startswith(chart.title), chart.name
        finding = text.split("\n\n", 1)[1]
        assert re.search(r"\d", finding), chart.name
    fan = (charts_dir / "children_in_care_fan.txt").read_text(encoding="utf-8")
    q = read_run(report_run).quantiles
    assert q is not None
    care = q[(q["measure"] == "children") & (q["category"] == "care") & (q["age_band"] == "all")]
    end = care.sort_values("month").iloc[-1]
    assert f"to {end['p50']:,.0f} by" in fan
    assert f"80% interval {end['p10']:,.0f}-{end['p90']:,.0f}" in fan


@pytest.mark.parametrize("suppress_max", [5, 20, 70])
def test_recorded_placement_bars_add_up_to_the_recorded_total(
    report_run: Path, suppress_max: int
) -> None:
    run = read_run(report_run)
    rule = DisclosureRule(suppress_max=suppress_max)
    stocks = suppress_stocks(run.stocks, rule)  # type: ignore[arg-type]
    care = stocks[(stocks["state"] == "care") & (stocks["placement_group"] == "all")]
    totals = pd.Series(recorded_values(care["children"]), index=pd.to_datetime(care["date"]))
    hidden = (stocks["children"] == rule.marker).sum()
    assert hidden >= 2  # the rule has groups to hide
    fig = placement_mix_chart(stocks, run.quantiles, rule=rule)  # type: ignore[arg-type]
    ax = fig.axes[0]
    recorded = list(ax.containers[:7])
    years = [round(bar.get_x() + bar.get_width() / 2) for bar in recorded[0]]
    heights = np.array([[bar.get_height() for bar in c] for c in recorded])
    drawn = dict(zip(years, heights.sum(axis=0), strict=True))
    assert drawn == {d.year: pytest.approx(v) for d, v in totals.items()}
    # No bar shows a count the published table hides.
    assert not ((heights >= 1) & (heights <= suppress_max)).any()
    mix = recorded_placement_mix(stocks, rule)
    assert (mix.drop(columns="total").sum(axis=1) == mix["total"]).all()
    plt.close(fig)


def test_every_colour_of_the_style_has_a_contrast_of_3_to_1_on_white() -> None:
    assert contrast_ratio("black") == pytest.approx(21.0)
    assert contrast_ratio("#E69F00") == pytest.approx(2.25, abs=0.01)  # Okabe-Ito orange fails
    for name, colour in style_colours().items():
        assert contrast_ratio(colour) >= 3.0, (name, colour, contrast_ratio(colour))
    assert set(PALETTE) <= set(style_colours())


def _on_white(rgba: tuple[float, float, float, float]) -> tuple[float, float, float]:
    r, g, b, a = rgba
    return (r * a + 1 - a, g * a + 1 - a, b * a + 1 - a)


def _drawn(report_run: Path) -> dict[str, Figure]:
    plt.close("all")  # every chart is drawn at once: start without other tests' figures
    return {chart.name: chart.draw() for chart in run_charts(report_run)}


def test_every_line_and_marker_drawn_has_a_contrast_of_3_to_1(report_run: Path) -> None:
    for name, fig in _drawn(report_run).items():
        for ax in fig.axes:
            for line in ax.lines:
                if not line.get_visible() or len(line.get_xdata()) == 0:
                    continue
                alpha = line.get_alpha()
                colour = to_rgba(line.get_color(), 1.0 if alpha is None else alpha)
                assert contrast_ratio(_on_white(colour)) >= 3.0, (name, line.get_label())
                marker = line.get_markerfacecolor()
                if line.get_marker() not in (None, "None", "") and marker != "none":
                    assert contrast_ratio(_on_white(to_rgba(marker))) >= 3.0, name
        plt.close(fig)


def test_count_axes_start_at_zero_and_no_text_is_cut_off(report_run: Path) -> None:
    for name, fig in _drawn(report_run).items():
        panels = [ax for ax in fig.axes if ax.axison and (ax.lines or ax.patches)]
        assert panels, name
        for ax in panels:
            bottom, top = ax.get_ylim()
            assert bottom == 0, (name, ax.get_title())
            for line in ax.lines:  # every line inside its panel, none cut off at the top
                y = np.asarray(line.get_ydata(), dtype=float)
                assert (y[np.isfinite(y)] <= top).all(), (name, line.get_label())
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        # Everything drawn (titles, ticks, legend, caption) lies inside the saved page.
        drawn = fig.get_tightbbox(renderer)
        width, height = fig.get_size_inches()
        assert drawn.x0 >= -0.01 and drawn.x1 <= width + 0.01, (name, drawn)
        assert drawn.y0 >= -0.01 and drawn.y1 <= height + 0.01, (name, drawn)
        # The legend sits above the panels, clear of every panel's data area.
        for legend in [a.get_legend() for a in fig.axes if a.get_legend() is not None]:
            box = legend.get_window_extent(renderer)
            for ax in panels:
                assert not box.overlaps(ax.get_window_extent(renderer)), name
        plt.close(fig)


def test_a_panel_draws_on_the_axes_it_is_given_and_returns_its_artists(
    report_run: Path,
) -> None:
    run = read_run(report_run)
    q = run.quantiles
    assert q is not None
    care = q[(q["measure"] == "children") & (q["category"] == "care") & (q["age_band"] == "all")]
    care = care.assign(month=pd.to_datetime(care["month"])).sort_values("month")
    fig, (left, right) = plt.subplots(1, 2)
    artists = plot_fan(pd.Series(dtype=float), care, ax=right, colour=PALETTE["green"])
    assert set(artists) == {"band_80", "band_50", "median"}
    assert artists["median"].axes is right and not left.lines
    artists["median"].set_linestyle("--")  # restyled by the user
    assert right.lines[0].get_linestyle() == "--"
    assert right.get_ylim()[0] == 0
    plt.close(fig)


def test_charts_drawn_in_parts_by_other_processes_equal_those_drawn_at_once(
    report_run: Path, tmp_path: Path
) -> None:
    # The run drew its charts in the worker pool, shared between two processes; drawn
    # again here, all in one process and in the other order, every file is the same.
    write_run_charts(report_run, tmp_path / "second", part=1, parts=2)
    write_run_charts(report_run, tmp_path / "second", part=0, parts=2)
    write_run_charts(report_run, tmp_path / "once")
    drawn = sorted(p.name for p in (report_run / "charts").iterdir())
    assert drawn == sorted(p.name for p in (tmp_path / "once").iterdir())
    assert len(drawn) == 3 * len(run_charts(report_run))
    for name in drawn:
        kept = (report_run / "charts" / name).read_bytes()
        assert (tmp_path / "once" / name).read_bytes() == kept, name
        assert (tmp_path / "second" / name).read_bytes() == kept, name


def test_drawing_a_run_s_charts_leaves_no_figure_open(report_run: Path, tmp_path: Path) -> None:
    # A worker process draws every scenario's charts of a multirun: a figure left open per
    # run piles up there (matplotlib warns past 20) and holds its memory.
    plt.close("all")
    charts = run_charts(report_run)
    assert plt.get_fignums() == []  # listing the charts draws nothing
    write_run_charts(report_run, tmp_path / "charts")
    assert plt.get_fignums() == []
    titles = {chart.name: chart.title for chart in charts}
    assert titles["sufficiency_inhouse_foster"].startswith("Sufficiency of in-house foster care")


@pytest.mark.parametrize("tight", [True, False])
def test_the_svg_has_the_png_s_layout_and_box(tmp_path: Path, tight: bool) -> None:
    """The SVG reuses the layout and trimmed box the PNG's drawing worked out: both files
    show the same area."""
    from care_demand.outputs.charts.style import save_figure

    fig = Figure(figsize=(6.3, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([2022, 2023, 2024], [410, 395, 388])
    ax.set_ylabel("Children in care")
    ax.set_title("A title the layout makes room for")
    png, svg = save_figure(fig, tmp_path / "chart.png", title="Test", tight=tight)
    with Image.open(png) as image:
        width_px, height_px = image.size
    root = ET.parse(svg).getroot()
    width_pt = float(root.get("width", "").removesuffix("pt"))
    height_pt = float(root.get("height", "").removesuffix("pt"))
    # The PNG is drawn at 150 dpi, the SVG in points (72 to the inch); pixels round.
    assert abs(width_pt - width_px * 72 / 150) < 1.0
    assert abs(height_pt - height_px * 72 / 150) < 1.0
    if not tight:
        assert (width_pt, height_pt) == pytest.approx((6.3 * 72, 3.8 * 72))
