"""The dashboard's own small catalogue: English msgids, Danish translations.

The tenant- and landlord-facing texts live in the gettext catalogues under bot/locale; the
dashboard's UI words are many, short and only for staff, so they live here, next to the
templates that use them. `tests/test_dashboard_i18n.py` fails when a `_("...")` in a template or
dashboard module has no Danish entry here, or when an entry is unused.
"""

from __future__ import annotations

from typing import Any

DA: dict[str, str] = {
    "(erased)": "(slettet)",
    "Action": "Handling",
    "Active": "Aktive",
    "Alert #{id} handed to {name}.": "Alarm #{id} er givet videre til {name}.",
    "Alert #{id}: {action}.": "Alarm #{id}: {action}.",
    "Alerts": "Alarmer",
    "Audit log": "Adgangslog",
    "Back to the alerts": "Tilbage til alarmerne",
    "Caseworker": "Kontaktperson",
    "Cause": "Årsag",
    "Check-ins": "Check-ins",
    "Check-ins paused until {date}.": "Check-ins er sat på pause til {date}.",
    "Check-ins resumed.": "Check-ins er genoptaget.",
    "Choose a caseworker.": "Vælg en medarbejder.",
    "Consent": "Samtykke",
    "Consent recorded as given.": "Samtykke er registreret som givet.",
    "Consent recorded as withdrawn: no more check-ins.":
        "Samtykke er registreret som trukket tilbage: ingen flere check-ins.",
    "Create Telegram link": "Lav Telegram-link",
    "Detail": "Detaljer",
    "E-mail": "E-mail",
    "Erase": "Slet",
    "Erase all personal data (cannot be undone)":
        "Slet alle personoplysninger (kan ikke fortrydes)",
    "Export data (GDPR)": "Eksportér data (GDPR)",
    "Filter": "Filtrér",
    "For caseworkers in the Housing First programme.":
        "For medarbejdere i Housing First-indsatsen.",
    "Get alerts in Telegram with buttons to acknowledge and resolve them.":
        "Få alarmer i Telegram med knapper til at kvittere og lukke dem.",
    "Give a date like 2026-12-24.": "Angiv en dato som 2026-12-24.",
    "Hand to": "Giv videre til",
    "Intake route (alerts with no team): {route}": "Modtagelse (alarmer uden team): {route}",
    "No delivery channel is configured: alerts cannot reach anyone. Set SMS (Twilio), Telegram "
    "or e-mail (SMTP) for the worker.":
        "Der er ingen kanal til at sende med: alarmer kan ikke nå nogen. Opsæt SMS (Twilio), "
        "Telegram eller e-mail (SMTP) for workeren.",
    "Nobody could be reached about this alert since {time}. It is tried again every few "
    "minutes; acknowledge it when you take it.":
        "Ingen har kunnet nås om denne alarm siden {time}. Den prøves igen med få minutters "
        "mellemrum; kvittér, når du tager den.",
    "Home": "Bolig",
    "Language": "Sprog",
    "Log in": "Log ind",
    "Log out": "Log ud",
    "Main menu": "Hovedmenu",
    "Most severe first, then the nearest deadline.":
        "Mest alvorlige først, derefter nærmeste frist.",
    "Name": "Navn",
    "New note": "Ny note",
    "Next step": "Næste trin",
    "No alerts here.": "Ingen alarmer her.",
    "No notes yet.": "Ingen noter endnu.",
    "No tenants assigned to you.": "Du har ingen lejere tilknyttet.",
    "Not found, or you do not have access to it.": "Findes ikke, eller du har ikke adgang.",
    "Not possible: {reason}": "Ikke muligt: {reason}",
    "Note saved.": "Noten er gemt.",
    "Notes": "Noter",
    "Nothing changed: the alert was already in that state.":
        "Intet ændret: alarmen var allerede i den tilstand.",
    "Nothing yet.": "Intet endnu.",
    "Open this link on your phone. It works once and is shown only now.":
        "Åbn linket på din telefon. Det virker én gang og vises kun nu.",
    "Or send this to the bot:": "Eller send dette til botten:",
    "Owner": "Ansvarlig",
    "Password": "Adgangskode",
    "Pause check-ins until": "Sæt check-ins på pause til",
    "Paused until {date}": "På pause til {date}",
    "Phone": "Telefon",
    "Raised": "Oprettet",
    "Reached nobody": "Ikke leveret",
    "Reassign": "Giv videre",
    "Record consent given": "Registrér samtykke givet",
    "Record consent withdrawn": "Registrér samtykke trukket tilbage",
    "Save": "Gem",
    "Save note": "Gem note",
    "Severity": "Alvor",
    "Skip to content": "Gå til indhold",
    "State": "Status",
    "Stopped": "Stoppet",
    "Subject": "Emne",
    "Summary": "Resumé",
    "Tenant": "Lejer",
    "Tenants": "Lejere",
    "The date has passed.": "Datoen er passeret.",
    "The form had expired or was not sent from this page. Go back, reload and try again.":
        "Formularen var udløbet eller kom ikke fra denne side. Gå tilbage, genindlæs og prøv "
        "igen.",
    "The note is empty.": "Noten er tom.",
    "The note is too long: at most {max} characters.":
        "Noten er for lang: højst {max} tegn.",
    "The tenant's personal data has been erased.": "Lejerens personoplysninger er slettet.",
    "Tick the box to confirm the erasure.": "Sæt flueben for at bekræfte sletningen.",
    "Time": "Tid",
    "Timeline": "Tidslinje",
    "Too many failed attempts. Wait 15 minutes and try again.":
        "For mange forkerte forsøg. Vent 15 minutter og prøv igen.",
    "Too many failed logins from this network. Wait 15 minutes and try again.":
        "For mange forkerte login fra dette netværk. Vent 15 minutter og prøv igen.",
    "Triggers": "Udløst",
    "Who": "Hvem",
    "Wrong e-mail or password, or the account is not active.":
        "Forkert e-mail eller adgangskode, eller kontoen er ikke aktiv.",
    "You are logged out.": "Du er logget ud.",
    "You cannot hand the alert to that caseworker.":
        "Du kan ikke give alarmen videre til den medarbejder.",
    "Your Telegram is linked.": "Din Telegram er forbundet.",
    "Programme report": "Indsatsrapport",
    "Report": "Rapport",
    "Choose the report": "Vælg rapporten",
    "From": "Fra",
    "To": "Til",
    "Team": "Team",
    "Whole municipality": "Hele kommunen",
    "Copy for sharing (counts below 5 hidden)": "Kopi til deling (tal under 5 skjules)",
    "Show": "Vis",
    "Download CSV (Excel)": "Hent CSV (Excel)",
    "Download JSON": "Hent JSON",
    "Give dates like 2026-01-31.": "Angiv datoer som 2026-01-31.",
    "The period must start before it ends and span at most 36 months.":
        "Perioden skal starte før den slutter og højst vare 36 måneder.",
    "No worker has run for {minutes} minutes: check-ins, alerts and messages are not being "
    "sent. Start or restart the worker.":
        "Ingen worker har kørt i {minutes} minutter: check-ins, alarmer og beskeder bliver ikke "
        "sendt. Start eller genstart workeren.",
    "No worker has run yet: check-ins, alerts and messages are not being sent. Start the "
    "worker.":
        "Ingen worker har kørt endnu: check-ins, alarmer og beskeder bliver ikke sendt. Start "
        "workeren.",
}

# Labels for stored values (severity, state, ...): group -> value -> (Danish, English).
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "severity": {"low": ("Lav", "Low"), "high": ("Høj", "High"),
                 "critical": ("Kritisk", "Critical")},
    "state": {"open": ("Åben", "Open"), "acknowledged": ("Kvitteret", "Acknowledged"),
              "resolved": ("Løst", "Resolved")},
    "intake": {"admins": ("kommunens administratorer (intet modtagelsesteam valgt)",
                          "the municipality's admins (no intake team set)")},
    "tab": {"active": ("Aktive", "Active"), "open": ("Åbne", "Open"),
            "acknowledged": ("Kvitterede", "Acknowledged"), "resolved": ("Løste", "Resolved")},
    "source": {"crisis": ("Krise", "Crisis"),
               "violence": ("Vold i nære relationer", "Violence at home"),
               "need_help": ("Beder om hjælp", "Asks for help"),
               "call_me": ("Vil ringes op", "Asks for a call"),
               "missed": ("Manglende svar", "Missed check-ins"),
               "concern": ("Henvendelse fra udlejer", "Landlord concern"),
               "delivery_failed": ("SMS kan ikke leveres", "SMS undeliverable"),
               "message": ("Besked fra lejer", "Message from tenant")},
    "action": {"acknowledge": ("Kvittér", "Acknowledge"), "resolve": ("Løst", "Resolve"),
               "reopen": ("Genåbn", "Reopen")},
    "done": {"acknowledge": ("kvitteret", "acknowledged"), "resolve": ("løst", "resolved"),
             "reopen": ("genåbnet", "reopened")},
    "event": {"raised": ("Oprettet", "Raised"), "folded": ("Udløst igen", "Triggered again"),
              "notified": ("Underrettet", "Notified"),
              "acknowledged": ("Kvitteret", "Acknowledged"), "resolved": ("Løst", "Resolved"),
              "reopened": ("Genåbnet", "Reopened"), "reassigned": ("Givet videre", "Reassigned"),
              "note": ("Note", "Note"), "reminded": ("Påmindet", "Reminded"),
              "retriggered": ("Udløst igen, eskaleres forfra", "Triggered again, escalating anew"),
              "undelivered": ("Ingen kunne nås", "Nobody could be reached"),
              "delivered": ("Nået igen", "Reached"),
              "unreachable": ("Trin nåede ingen", "Step reached nobody")},
    "actor": {"system": ("System", "System")},
    "consent": {"pending": ("Afventer", "Pending"), "given": ("Givet", "Given"),
                "withdrawn": ("Trukket tilbage", "Withdrawn")},
    "timeline": {"message_in": ("SMS ind", "SMS in"), "message_out": ("SMS ud", "SMS out"),
                 "checkin": ("Check-in", "Check-in"), "alert": ("Alarm", "Alert"),
                 "note": ("Note", "Note")},
    "answer": {"1": ("Svar 1: godt", "Answer 1: good"), "2": ("Svar 2: så som så",
                                                             "Answer 2: so-so"),
               "3": ("Svar 3: brug for hjælp", "Answer 3: needs help"),
               "scheduled": ("Planlagt", "Scheduled"), "sent": ("Sendt", "Sent"),
               "reminded": ("Påmindet", "Reminded"), "missed": ("Ikke besvaret", "Missed"),
               "skipped": ("Sprunget over", "Skipped")},
    "refusal": {
        "acknowledged:reopen": ("alarmen er stadig åben; kun en løst alarm kan genåbnes",
                                "it is still open; only a resolved alert can be reopened"),
        "resolved:acknowledge": ("alarmen er lukket; genåbn den først",
                                 "it is already closed; reopen it first"),
    },
}


def translate(lang: str, msgid: str, **params: Any) -> str:
    text = DA.get(msgid, msgid) if lang == "da" else msgid
    return text.format(**params) if params else text


def label(lang: str, group: str, value: object) -> str:
    """A stored value in words; unknown values are shown as they are."""
    pair = LABELS.get(group, {}).get(str(value))
    if pair is None:
        return str(value)
    return pair[0] if lang == "da" else pair[1]
