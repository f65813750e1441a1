"""Check-ins with the database: plan due ones, remind once, mark missed; pause, resume, cadence.

The time rules are in :mod:`bot.timing` (pure); this module applies them to rows, in batches, so
memory stays bounded however many tenants there are.

Status flow of a ``CheckIn``::

    SCHEDULED --(goes_at passes)--> SENT --(reminder_after)--> REMINDED --(missed_after)--> MISSED
        \\                            \\__ answer (bot.conversation / record_answer) __/--> ANSWERED
         \\__ paused / opted out / prompt cancelled or dead-lettered ____________________> SKIPPED

* The planner creates the row and enqueues the SMS in one transaction. ``sent_at`` is the moment
  the prompt is due to go: the slot (or the planner's run, if it runs a little late), deferred
  past the organisation's quiet hours. If that is now, the row starts as SENT; if the prompt waits
  for the morning it starts as SCHEDULED and the reminder job promotes it when ``sent_at`` passes.
  Reminder and miss wait while the prompt's outbox row is still unsent (a rate-limited backlog),
  so a tenant is never reminded about a text they have not had.
* Grace counts from ``sent_at``: one reminder after ``Organisation.reminder_after_hours``
  (deferred past quiet hours; ``reminded_at`` is when it goes), missed after
  ``missed_after_hours``. A miss increments ``Tenant.consecutive_misses`` and raises a
  ``missed`` alert with the severity from :func:`bot.core.checkin_rules.miss_severity`.
* Paused, opted-out (STOP), consent-withdrawn and invalid-number tenants get a SKIPPED row for
  the slot, never an SMS and never a miss. Inactive and erased tenants are left out entirely.
  An opted-out tenant's caseworker gets one low ``delivery_failed`` alert per opt-out (marked by
  an audit event ``checkins.opt_out_alert``), so the silence is visible without weekly noise.

Several workers: the planner holds a PostgreSQL advisory lock while it runs (a second planner
returns at once), and the unique (tenant_id, slot_at) plus the outbox's idempotency key make even
an unlocked second planner harmless. Reminder and miss batches are claimed with
``FOR UPDATE SKIP LOCKED``. SQLite has no such locks: run one worker there.
"""
