"""The wellbeing trend as an SVG chart, drawn on the server with pygal (no JavaScript, no CDN).

The SVG is served as an image of its own (`<img>` with an alt text), next to a table with the
same numbers as the text alternative. pygal's tooltip script is switched off (``js=[]``) and
its config script removed, so the SVG holds no script; its styles are inside the SVG
document, which the page's Content-Security-Policy does not govern when loaded as an image.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

import pygal
from pygal.style import Style

from bot.casework.tenant_view import Week
from bot.core.i18n import gettext

# WCAG AA against white: every colour here has a contrast ratio of at least 4.5:1.
_STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1d2330",
               foreground_strong="#1d2330", foreground_subtle="#5b6474",
               colors=("#1f5fae", "#b35c00", "#b3261e"), font_family="system-ui, sans-serif",
               label_font_size=13, major_label_font_size=13, legend_font_size=14,
               title_font_size=16, opacity="1", opacity_hover="1")  # no fading: full contrast


def wellbeing_svg(weeks: Sequence[Week], lang: str, *, narrow: bool = False) -> bytes:
    """Per week: the average answer (1 good .. 3 needs help), misses and alerts, as bars.
    ``narrow``: drawn for a phone (fewer date labels, taller), so its text stays readable."""
    top = max([3, *(w.missed for w in weeks), *(w.alerts for w in weeks)])
    chart = pygal.Bar(style=_STYLE, js=[], width=420 if narrow else 900,
                      height=420 if narrow else 400, show_y_guides=True, x_label_rotation=0,
                      show_minor_x_labels=False, legend_at_bottom=True,
                      legend_at_bottom_columns=1, truncate_legend=-1,
                      print_values=False, disable_xml_declaration=True,
                      title=gettext(lang, "Wellbeing, last {n} weeks", n=len(weeks)),
                      y_labels=list(range(top + 1)), truncate_label=-1)
    chart.x_labels = [w.start.strftime("%d.%m") for w in weeks]
    chart.x_labels_major = [w.start.strftime("%d.%m") for w in weeks[::8 if narrow else 4]]
    chart.add(gettext(lang, "Average answer (1 good, 3 needs help)"),
              [w.mean for w in weeks], secondary=False)
    chart.add(gettext(lang, "Missed check-ins"), [w.missed for w in weeks])
    chart.add(gettext(lang, "Alerts"), [w.alerts for w in weeks])
    return _without_scripts(chart.render_tree())


def _without_scripts(tree: ElementTree.Element) -> bytes:
    """pygal always embeds its config as a <script> (for its optional tooltips); an image
    needs none, and a CSP-strict page must not carry any."""
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    data: bytes = ElementTree.tostring(tree, encoding="utf-8")
    return data


def summary(weeks: Sequence[Week], lang: str) -> str:
    """One sentence for the image's alt text; the table beside it has every number."""
    answers = [a for w in weeks for a in w.answers]
    mean = f"{sum(answers) / len(answers):.1f}" if answers else "–"
    return gettext(lang, "{answers} answers (average {mean}), {missed} missed check-ins and "
                         "{alerts} alerts in {n} weeks.",
                   answers=len(answers), mean=mean,
                   missed=sum(w.missed for w in weeks), alerts=sum(w.alerts for w in weeks),
                   n=len(weeks))
