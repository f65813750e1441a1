"""The report as CSV (Danish Excel), JSON, or HTML with charts (a page, or the dashboard's part)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from bot.core.i18n import gettext, normalize_lang
from bot.reports import charts, labels
from bot.reports.model import METRIC_KIND, METRICS, SECTIONS, SMALL, Kind, Report

_env = Environment(loader=PackageLoader("bot.reports", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_LOCALES = {"da": "da_DK", "en": "en_GB"}


def formatted(value: str | float | int | None, kind: Kind, lang: str) -> str:
    """A shown value (see Cell.shown) for people: 87 %, 12,5 (Danish decimal comma), <5, –."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    locale = _LOCALES[normalize_lang(lang)]
    if kind == Kind.RATE:
        return format_percent(value, locale=locale)
    if kind == Kind.MINUTES:
        return format_decimal(round(value, 1), format="#,##0.#", locale=locale)
    return format_decimal(value, locale=locale)


def to_json(report: Report) -> str:
    return json.dumps({
        "organisation": report.organisation,
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "generated_at_local": report.generated_local.isoformat(timespec="seconds"),
        "time_zone": report.tz_name,
        "shareable": report.shareable,
        "suppressed_below": SMALL if report.shareable else None,
        "months": report.months,
        "metrics": [{"key": m.key, "section": m.section, "kind": m.kind.value} for m in METRICS],
        "scopes": [{"name": s.name, "kind": s.kind, "figures": {
            column: {m.key: s.cell(column, m.key).shown(report.shareable) for m in METRICS}
            for column in report.columns}} for s in report.scopes],
    }, ensure_ascii=False, indent=2)


def to_csv(report: Report, lang: str = "da") -> str:
    """Semicolon-separated with a UTF-8 BOM: Danish Excel opens it with columns and ÆØÅ right.

    Numbers use the language's decimal mark (Danish: comma), rates are percentages.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([gettext(lang, labels.MUNICIPALITY) + "/" + gettext(lang, labels.TEAM),
                     gettext(lang, labels.FIGURE), "key",
                     *(labels.column_label(lang, c) for c in report.columns)])
    for scope in report.scopes:
        for metric in METRICS:
            row = [scope.name, labels.metric_label(lang, metric.key), metric.key]
            for column in report.columns:
                shown = scope.cell(column, metric.key).shown(report.shareable)
                row.append("" if shown is None else _csv_number(shown, metric.kind, lang))
            writer.writerow(row)
    return out.getvalue()


def _csv_number(value: str | float | int, kind: Kind, lang: str) -> str:
    if isinstance(value, str):
        return value
    if kind == Kind.RATE:
        value = round(value * 100, 1)
    text = str(value)
    return text.replace(".", ",") if normalize_lang(lang) == "da" else text


def _context(report: Report, lang: str) -> dict[str, Any]:
    def t(msgid: str, **params: object) -> str:
        return gettext(lang, msgid, **params)

    def cell(scope: Any, column: str, key: str) -> str:
        return formatted(scope.cell(column, key).shown(report.shareable), METRIC_KIND[key], lang)

    scopes = []
    for scope in report.scopes:
        figures = [(name, Markup(draw(lang, report, scope)), keys)
                   for name, draw, keys in charts.CHARTS]
        scopes.append({"scope": scope, "charts": figures})
    sections = [(labels.section_label(lang, s), [m.key for m in METRICS if m.section == s])
                for s in SECTIONS]
    return {"report": report, "t": t, "L": labels, "cell": cell, "scopes": scopes,
            "sections": sections, "label": lambda key: labels.metric_label(lang, key),
            "column": lambda c: labels.column_label(lang, c), "lang": normalize_lang(lang),
            "generated": made_at(report)}


def made_at(report: Report) -> str:
    """When the report was made, in the municipality's time: "2026-03-02 09:15 CET"; a zone
    without a common abbreviation shows its offset ("2025-07-01 09:30 UTC-01", Nuuk)."""
    local = report.generated_local
    zone = local.tzname() or ""
    return f"{local:%Y-%m-%d %H:%M} {'UTC' + zone if zone[:1] in '+-' else zone}".rstrip()


def stylesheet() -> str:
    """The report's CSS, for pages that embed :func:`report_body`."""
    loader = _env.loader
    assert loader is not None
    return loader.get_source(_env, "report.css")[0]


def report_body(report: Report, lang: str = "da") -> Markup:
    """The report's content (headings, charts with their numbers, tables), for any page."""
    return Markup(_env.get_template("report_body.html").render(**_context(report, lang)))


def to_html(report: Report, lang: str = "da") -> str:
    """A standalone page (the CLI's --format html): the same body, its own small stylesheet."""
    return _env.get_template("report_page.html").render(
        body=report_body(report, lang), **_context(report, lang))
