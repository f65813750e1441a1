"""An alert's timeline in words: what happened, on which channel, to whom, and why.

Pure: takes the AlertEvent rows, a names lookup and a language, returns lines to show. The
event kinds and their ``detail`` are written by bot.alerts (lifecycle, escalator) and
bot.casework; a kind this module does not know is still shown, under its own name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.i18n import gettext
from webhooks.dashboard.labels import label


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str  # the kind in words
    who: str  # the person who acted, or "System"
    text: str  # the detail in words ("" when there is nothing to add)


def _person(names: Mapping[int, str], value: Any) -> str:
    try:
        return names.get(int(value), "?")
    except (TypeError, ValueError):
        return "?"


def _actor(names: Mapping[int, str], actor: str, lang: str) -> str:
    kind, _sep, ident = actor.partition(":")
    if kind == "caseworker" and ident.isdigit():
        return names.get(int(ident), actor)
    return label(lang, "actor", actor)


def describe(kind: str, detail: Mapping[str, Any], names: Mapping[int, str], lang: str) -> str:
    """The detail of one event in ``lang`` (see the module docstring)."""
    d = detail or {}
    channel = label(lang, "channel", d.get("channel", ""))
    if kind == "notified":
        text = _notified(d, channel, names, lang)
        if d.get("counted") is False:  # bot.alerts.routing.counts_as_told
            text += " " + gettext(lang, "Not counted as telling a person: the alert is urgent "
                                        "and an e-mail may lie unread.")
        return text
    if kind == "skipped":
        return gettext(lang, "{channel} to {person} not sent: {reason}.", channel=channel,
                       person=_person(names, d.get("caseworker_id")),
                       reason=label(lang, "reason", d.get("reason", "")))
    if kind == "unreachable":
        # retry_of: sent again after every message of it died, and still nobody (alerts.passon)
        if d.get("joined") and d.get("retry_of"):
            return gettext(lang, "The messages about the new words all failed, and nobody else "
                                 "could be reached.")
        if d.get("reminder") and d.get("retry_of"):
            return gettext(lang, "The reminder's messages all failed, and nobody else could be "
                                 "reached.")
        if d.get("reminder"):
            return gettext(lang, "The reminder reached nobody.")
        return gettext(lang, "This step reached nobody ({target}), so the next step started "
                             "at once.", target=label(lang, "target", d.get("target", "")))
    if kind in ("acknowledged", "resolved", "reopened"):
        via = d.get("via")
        return gettext(lang, "Via {channel}.", channel=label(lang, "channel", via)) if via else ""
    if kind == "reassigned":
        before = _person(names, d.get("from")) if d.get("from") else "–"
        if d.get("told") is False:  # older events have no "told": they were told
            return gettext(lang, "From {before} to {after}; {after} could not be reached on "
                                 "any channel.", before=before, after=_person(names, d.get("to")))
        return gettext(lang, "From {before} to {after}; {after} was told at once.",
                       before=before, after=_person(names, d.get("to")))
    if kind == "message_sent":
        return gettext(lang, "SMS to the tenant: \u201c{text}\u201d", text=d.get("text", ""))
    if kind == "stale_code":  # bot.casework.sms_replies
        return gettext(lang, "{action} by SMS not done: the code was for an earlier message. "
                             "The answer told them the news; the same code again acts.",
                       action=label(lang, "action", d.get("wanted", "")))
    if kind == "escalation_failed":
        return gettext(lang, "An error stopped the escalation; it is tried again shortly.")
    if kind in ("raised", "folded", "retriggered"):
        return trigger_text(d, lang)
    return ""


def _notified(d: Mapping[str, Any], channel: str, names: Mapping[int, str], lang: str) -> str:
    person = _person(names, d.get("caseworker_id"))
    if d.get("why") == "handover":
        return gettext(lang, "{channel} to {person}: the alert was handed to them.",
                       channel=channel, person=person)
    if d.get("why") == "joined":
        return gettext(lang, "{channel} to {person}: a new message on the case.",
                       channel=channel, person=person)
    if d.get("reminder"):
        return gettext(lang, "Reminder by {channel} to {person}: still not resolved.",
                       channel=channel, person=person)
    return gettext(lang, "{channel} to {person} ({target}), step {step}.",
                   channel=channel, person=person,
                   target=label(lang, "target", d.get("target", "")),
                   step=int(d.get("step") or 0) + 1)


def trigger_text(d: Mapping[str, Any], lang: str) -> str:
    parts = []
    if d.get("severity"):
        parts.append(gettext(lang, "Severity: {severity}.",
                             severity=label(lang, "severity", d["severity"])))
    if d.get("answer"):
        parts.append(label(lang, "answer", d["answer"]) + ".")
    if d.get("text"):
        parts.append(gettext(lang, "Wrote: \u201c{text}\u201d", text=d["text"]))
    if d.get("missed"):
        parts.append(gettext(lang, "Missed check-ins in a row: {n}.", n=d["missed"]))
    return " ".join(parts)


def entries(events: Iterable[Any], names: Mapping[int, str], lang: str) -> list[Entry]:
    """Newest first."""
    found = [(e.at, i, Entry(e.at, e.kind, label(lang, "event", e.kind),
                             _actor(names, e.actor, lang),
                             describe(e.kind, e.detail or {}, names, lang)))
             for i, e in enumerate(events)]
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)  # same moment: later row first
    return [entry for _at, _i, entry in found]
