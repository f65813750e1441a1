"""The programme report: aggregate figures per month, team and municipality, never a person.

`period` cuts the report into local calendar months, `figures` counts with set-based SQL scoped
to one municipality (and optionally one team), `model` holds the result and the small-number
suppression for shared copies, `render` writes it as CSV, JSON or HTML with `charts` (SVG).
"""
