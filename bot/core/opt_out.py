"""After STOP: what a tenant may still be sent. One rule, read by the conversation (which replies
to an opted-out tenant) and by the dispatcher (which checks STOP right before every send).

Only the answers to the tenant's own STOP, START and HELP-info go out after an opt-out: Twilio's
Advanced Opt-Out lets exactly these through, and a person who said STOP must hear nothing else.
Those answers usually leave as the immediate reply to that SMS (TwiML), not through the outbox;
every other queued message to an opted-out tenant (check-in, reminder) is cancelled. An answer
that is queued (the worker processing an SMS the webhook could not, bot.tenants.stranded) carries
the intent's name as its outbox kind and passes the same check.
"""

from __future__ import annotations

__all__ = ["ANSWERED_AFTER_STOP", "may_send_after_stop"]

# Intent kinds (bot.tenants.intents.IntentKind values) whose answer may reach an opted-out tenant.
ANSWERED_AFTER_STOP: frozenset[str] = frozenset({"stop", "start", "help_info"})


def may_send_after_stop(kind: str) -> bool:
    """Whether a message of ``kind`` (an intent answered, or an outbox kind) may go after STOP."""
    return kind in ANSWERED_AFTER_STOP
