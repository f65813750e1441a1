"""Report charts as SVG, drawn on the server with pygal (no JavaScript, nothing fetched)."""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

from bot.core.i18n import gettext
from bot.models.enums import Severity
from bot.reports import labels
from bot.reports.model import Report, ScopeFigures

# The dashboard's palette: calm blue for volume, amber/red only where severity rises.
STYLE = Style(background="transparent", plot_background="transparent",
              font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
              colors=("#2f6690", "#81c3d7", "#d9a441", "#c0392b"), label_font_size=12,
              major_label_font_size=12, legend_font_size=13, title_font_size=15)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _render(chart: pygal.graph.graph.Graph) -> str:
    # pygal adds a small config <script> for its optional tooltips: not needed, not wanted.
    return _SCRIPT.sub("", chart.render(is_unicode=True, disable_xml_declaration=True))


def _series(report: Report, scope: ScopeFigures, metric: str) -> list[int | None]:
    """Monthly values; in a shared copy a suppressed (<5) month is left out of the bars."""
    values: list[int | None] = []
    for month in report.months:
        shown = scope.cell(month, metric).shown(report.shareable)
        values.append(shown if isinstance(shown, int) else None)
    return values


def _chart(kind: type[pygal.graph.graph.Graph], title: str, months: list[str],
           **options: object) -> pygal.graph.graph.Graph:
    chart = kind(style=STYLE, js=[], width=640, height=320, title=title,
                 x_label_rotation=-45 if len(months) > 6 else 0, legend_at_bottom=True,
                 legend_at_bottom_columns=4, print_values=False,
                 no_data_text=title, **options)
    chart.x_labels = months
    return chart


def checkins_chart(lang: str, report: Report, scope: ScopeFigures) -> str:
    chart = _chart(pygal.Bar, gettext(lang, labels.CHART_CHECKINS), report.months)
    for metric in ("checkins.sent", "checkins.answered"):
        chart.add(labels.metric_label(lang, metric), _series(report, scope, metric))
    return _render(chart)


def alerts_chart(lang: str, report: Report, scope: ScopeFigures) -> str:
    chart = _chart(pygal.StackedBar, gettext(lang, labels.CHART_ALERTS), report.months)
    for severity in (Severity.LOW, Severity.HIGH, Severity.CRITICAL):
        metric = f"alerts.severity.{severity.value}"
        chart.add(labels.metric_label(lang, metric), _series(report, scope, metric))
    return _render(chart)


CHARTS = (
    ("checkins", checkins_chart, ("checkins.sent", "checkins.answered")),
    ("alerts", alerts_chart, ("alerts.severity.low", "alerts.severity.high",
                              "alerts.severity.critical")),
)
