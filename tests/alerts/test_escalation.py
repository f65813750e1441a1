"""Escalation policy, schedule, reminders, folding, state machine and severity rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.rules import (
    CRIES,
    InvalidTransition,
    Join,
    fold_key,
    join_trigger,
    severity_for,
    should_fold,
    transition,
)
from bot.alerts.timetable import (
    DEFAULT_POLICIES,
    Due,
    Policy,
    Step,
    ack_reminder_due,
    next_notification,
    unrolled,
)
from bot.models.enums import Action, AlertState, Channel, Severity, Source, Target

T0 = datetime(2025, 3, 7, 20, 0, tzinfo=UTC)  # a Friday evening
SMS, TG, EMAIL = Channel.SMS, Channel.TELEGRAM, Channel.EMAIL
A, TEAM, LEAD = Target.ASSIGNED, Target.TEAM, Target.TEAM_LEAD


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def next_8am_weekday(moment: datetime) -> datetime:
    """Test stand-in for the caller's working-hours shift: Mon-Fri 08:00-16:00 UTC."""
    day = moment
    if day.weekday() < 5 and 8 <= day.hour < 16:
        return moment
    if day.weekday() < 5 and day.hour < 8:
        return day.replace(hour=8, minute=0, second=0, microsecond=0)
    day = (day + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --------------------------------------------------------------------------- default policies

CRITICAL_SCHEDULE = [
    # (minutes after raise, target, channels): 3 passes of 0/15/30, cycle 30 + 15 = 45.
    (0, A, (SMS, TG)), (15, TEAM, (SMS, TG)), (30, LEAD, (SMS, TG, EMAIL)),
    (45, A, (SMS, TG)), (60, TEAM, (SMS, TG)), (75, LEAD, (SMS, TG, EMAIL)),
    (90, A, (SMS, TG)), (105, TEAM, (SMS, TG)), (120, LEAD, (SMS, TG, EMAIL)),
]

HIGH_SCHEDULE = [
    # 2 passes of 0/30/60, cycle 60 + 15 = 75.
    (0, A, (SMS, TG)), (30, TEAM, (SMS, TG)), (60, LEAD, (SMS, TG, EMAIL)),
    (75, A, (SMS, TG)), (105, TEAM, (SMS, TG)), (135, LEAD, (SMS, TG, EMAIL)),
]

LOW_SCHEDULE = [
    (0, A, (SMS, EMAIL)), (24 * 60, LEAD, (SMS, EMAIL)),
]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, CRITICAL_SCHEDULE),
        (Severity.HIGH, HIGH_SCHEDULE),
        (Severity.LOW, LOW_SCHEDULE),
    ],
)
def test_default_schedule(severity: Severity, expected: list[tuple[int, Target, tuple]]) -> None:
    got = [
        (int((due_at - T0) / minutes(1)), step.target, step.channels)
        for _, step, due_at in unrolled(DEFAULT_POLICIES[severity], T0)
    ]
    assert got == expected


def test_default_policy_flags() -> None:
    assert set(DEFAULT_POLICIES) == set(Severity)
    assert DEFAULT_POLICIES[Severity.CRITICAL].repeat == 2
    assert DEFAULT_POLICIES[Severity.LOW].working_hours_only is True
    assert DEFAULT_POLICIES[Severity.HIGH].working_hours_only is False
    assert DEFAULT_POLICIES[Severity.CRITICAL].working_hours_only is False


def test_unrolled_indexes_are_flat() -> None:
    schedule = unrolled(DEFAULT_POLICIES[Severity.CRITICAL], T0)
    assert [entry.index for entry in schedule] == list(range(9))


# --------------------------------------------------------------------------- next_notification


@pytest.mark.parametrize("steps_done", range(len(CRITICAL_SCHEDULE)))
def test_next_notification_every_step_of_critical(steps_done: int) -> None:
    after, target, channels = CRITICAL_SCHEDULE[steps_done]
    due = next_notification(
        DEFAULT_POLICIES[Severity.CRITICAL], raised_at=T0, steps_done=steps_done, now=T0
    )
    # A step's own after_minutes is relative to the start of its pass (cycle 45).
    expected_step = Step(after % 45, target, channels)
    assert due == Due(steps_done, expected_step, T0 + minutes(after), ready=after == 0)


@pytest.mark.parametrize("steps_done", [9, 10, 1000])
def test_next_notification_exhausted(steps_done: int) -> None:
    policy = DEFAULT_POLICIES[Severity.CRITICAL]
    assert next_notification(policy, raised_at=T0, steps_done=steps_done, now=T0) is None


def test_next_notification_last_low_step_then_exhausted() -> None:
    policy = DEFAULT_POLICIES[Severity.LOW]
    last = next_notification(policy, raised_at=T0, steps_done=1, now=T0)
    assert last is not None and last.step.target is LEAD
    assert next_notification(policy, raised_at=T0, steps_done=2, now=T0) is None


@pytest.mark.parametrize(
    ("now", "ready"),
    [(T0 + minutes(14), False), (T0 + minutes(15), True), (T0 + minutes(600), True)],
)
def test_ready_compares_due_at_with_now(now: datetime, ready: bool) -> None:
    due = next_notification(
        DEFAULT_POLICIES[Severity.CRITICAL], raised_at=T0, steps_done=1, now=now
    )
    assert due is not None
    assert due.due_at == T0 + minutes(15)  # returned even while in the future
    assert due.ready is ready


def test_next_notification_after_long_outage_does_not_skip() -> None:
    # Restarted hours later: every unsent step is still sent, in order, one per call.
    policy = DEFAULT_POLICIES[Severity.CRITICAL]
    late = T0 + timedelta(hours=5)
    steps_done, sent = 0, []
    while (due := next_notification(policy, raised_at=T0, steps_done=steps_done, now=late)):
        assert due.ready
        sent.append(due.index)
        steps_done = due.index + 1
    assert sent == list(range(9))


@pytest.mark.parametrize("steps_done", [-1, 1.0, True, "1"])
def test_next_notification_rejects_bad_steps_done(steps_done: object) -> None:
    with pytest.raises(ValueError, match="steps_done"):
        next_notification(
            DEFAULT_POLICIES[Severity.HIGH], raised_at=T0, steps_done=steps_done, now=T0  # type: ignore[arg-type]
        )


def test_next_notification_is_restart_safe() -> None:
    policy = DEFAULT_POLICIES[Severity.HIGH]
    now = T0 + minutes(40)
    first = next_notification(policy, raised_at=T0, steps_done=2, now=now)
    # A "restarted" scheduler has only the stored facts and must get the identical answer.
    unrolled(policy, T0)  # unrelated calls in between must not matter
    next_notification(policy, raised_at=T0, steps_done=0, now=now)
    again = next_notification(policy, raised_at=T0, steps_done=2, now=now)
    assert first == again
    assert first is not None and first.index == 2


# --------------------------------------------------------------------------- shift / working hours


def test_shift_applied_to_working_hours_policy() -> None:
    # Raised Friday 20:00: caseworker Monday 08:00, lead a day later (Tuesday 08:00),
    # not both on Monday morning.
    schedule = unrolled(DEFAULT_POLICIES[Severity.LOW], T0, shift=next_8am_weekday)
    assert [due_at for _, _, due_at in schedule] == [
        datetime(2025, 3, 10, 8, 0, tzinfo=UTC),
        datetime(2025, 3, 11, 8, 0, tzinfo=UTC),
    ]
    due = next_notification(
        DEFAULT_POLICIES[Severity.LOW], raised_at=T0, steps_done=0, now=T0,
        shift=next_8am_weekday,
    )
    assert due is not None
    assert due.due_at == datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    assert due.ready is False


def test_shift_inside_working_hours_is_identity() -> None:
    tuesday_10 = datetime(2025, 3, 11, 10, 0, tzinfo=UTC)
    schedule = unrolled(DEFAULT_POLICIES[Severity.LOW], tuesday_10, shift=next_8am_weekday)
    assert [due_at for _, _, due_at in schedule] == [tuesday_10, tuesday_10 + timedelta(days=1)]


@pytest.mark.parametrize("severity", [Severity.CRITICAL, Severity.HIGH])
def test_shift_ignored_for_any_hour_policies(severity: Severity) -> None:
    policy = DEFAULT_POLICIES[severity]
    assert unrolled(policy, T0, shift=next_8am_weekday) == unrolled(policy, T0)


def test_backwards_shift_is_clamped() -> None:
    policy = Policy(steps=(Step(0, A, (SMS,)), Step(10, LEAD, (SMS,))), repeat=0,
                    working_hours_only=True)
    schedule = unrolled(policy, T0, shift=lambda moment: moment - timedelta(days=1))
    assert [due_at for _, _, due_at in schedule] == [T0, T0 + minutes(10)]


# --------------------------------------------------------------------------- properties

steps_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3000),
        st.sampled_from(list(Target)),
        st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=4, unique=True),
    ),
    min_size=1,
    max_size=5,
).map(
    lambda raw: tuple(
        Step(after, target, tuple(channels))
        for after, target, channels in sorted(raw, key=lambda item: item[0])
    )
)

policies = st.builds(
    Policy,
    steps=steps_strategy,
    repeat=st.integers(min_value=0, max_value=4),
    working_hours_only=st.booleans(),
    ack_reminder_minutes=st.integers(min_value=1, max_value=10_000),
    repeat_gap_minutes=st.integers(min_value=1, max_value=1000),
)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(policy=policies, raised_at=moments, use_shift=st.booleans())
def test_property_unrolled_is_non_decreasing_and_complete(
    policy: Policy, raised_at: datetime, use_shift: bool
) -> None:
    shift = next_8am_weekday if use_shift else (lambda moment: moment)
    schedule = unrolled(policy, raised_at, shift=shift)
    assert len(schedule) == len(policy.steps) * (policy.repeat + 1)
    due_times = [entry.due_at for entry in schedule]
    assert due_times == sorted(due_times)
    assert due_times[0] >= raised_at
    # Every pass replays the policy's steps in order.
    assert [entry.step for entry in schedule] == list(policy.steps) * (policy.repeat + 1)


@given(policy=policies, raised_at=moments, data=st.data())
def test_property_next_notification_matches_unrolled_and_is_repeatable(
    policy: Policy, raised_at: datetime, data: st.DataObject
) -> None:
    schedule = unrolled(policy, raised_at, shift=next_8am_weekday)
    steps_done = data.draw(st.integers(min_value=0, max_value=len(schedule) + 2))
    now = data.draw(moments)
    kwargs = {"raised_at": raised_at, "steps_done": steps_done, "now": now,
              "shift": next_8am_weekday}
    first = next_notification(policy, **kwargs)
    assert next_notification(policy, **kwargs) == first
    if steps_done >= len(schedule):
        assert first is None
    else:
        assert first is not None
        assert (first.index, first.step, first.due_at) == tuple(schedule[steps_done])
        assert first.ready is (first.due_at <= now)


@given(policy=policies, raised_at=moments)
def test_property_without_working_hours_due_is_offset_arithmetic(
    policy: Policy, raised_at: datetime
) -> None:
    schedule = unrolled(policy, raised_at)
    n = len(policy.steps)
    for index, step, due_at in schedule:
        offset = (index // n) * policy.cycle_minutes + step.after_minutes
        assert due_at == raised_at + minutes(offset)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"after_minutes": -1, "target": A, "channels": (SMS,)}, "after_minutes must be >= 0"),
        ({"after_minutes": 1.5, "target": A, "channels": (SMS,)}, "must be an int"),
        ({"after_minutes": 0, "target": A, "channels": ()}, "at least one channel"),
        ({"after_minutes": 0, "target": A, "channels": "sms"}, "must be a sequence"),
        ({"after_minutes": 0, "target": A, "channels": (SMS, "sms")}, "channel twice"),
        ({"after_minutes": 0, "target": A, "channels": ("pigeon",)}, "unknown channel"),
        ({"after_minutes": 0, "target": "boss", "channels": (SMS,)}, "unknown step target"),
    ],
)
def test_step_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Step(**kwargs)


def test_step_accepts_strings_from_database() -> None:
    step = Step(5, "team_lead", ["sms", "email"])  # type: ignore[arg-type]
    assert step.target is LEAD
    assert step.channels == (SMS, EMAIL)
    hash(step)  # frozen and hashable even when given a list


ONE = (Step(0, A, (SMS,)),)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": ()}, "at least one step"),
        ({"steps": (Step(30, A, (SMS,)), Step(10, LEAD, (SMS,)))}, "sorted by after_minutes"),
        ({"steps": ONE, "repeat": -1}, "repeat must be"),
        ({"steps": ONE, "repeat_gap_minutes": 0}, "repeat_gap_minutes"),
        ({"steps": ONE, "ack_reminder_minutes": 0}, "ack_reminder_minutes"),
        ({"steps": ONE, "working_hours_only": "yes"}, "working_hours_only"),
        ({"steps": ((0, A, (SMS,)),)}, "Step instances"),
    ],
)
def test_policy_validation(kwargs: dict, message: str) -> None:
    full = {"repeat": 0, "working_hours_only": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        Policy(**full)


def test_policy_allows_equal_after_minutes() -> None:
    policy = Policy(steps=(Step(0, A, (SMS,)), Step(0, TEAM, (EMAIL,))), repeat=1,
                    working_hours_only=False)
    assert [due for _, _, due in unrolled(policy, T0)] == [T0, T0, T0 + minutes(15),
                                                            T0 + minutes(15)]


# --------------------------------------------------------------------------- ack reminders

CRIT = DEFAULT_POLICIES[Severity.CRITICAL]  # 240-minute reminders
HIGH = DEFAULT_POLICIES[Severity.HIGH]  # 1440-minute reminders


@pytest.mark.parametrize(
    ("policy", "acked", "last", "now", "expected"),
    [
        (HIGH, None, None, T0 + timedelta(days=9), False),  # never acknowledged
        (HIGH, T0, None, T0 + minutes(1439), False),
        (HIGH, T0, None, T0 + minutes(1440), True),
        (HIGH, T0, T0 + minutes(1440), T0 + minutes(1441), False),  # just reminded
        (HIGH, T0, T0 + minutes(1440), T0 + minutes(2879), False),
        (HIGH, T0, T0 + minutes(1440), T0 + minutes(2880), True),  # repeats
        (CRIT, T0, None, T0 + minutes(239), False),
        (CRIT, T0, None, T0 + minutes(240), True),
        # Reminder from before a reopen + re-acknowledge does not count.
        (CRIT, T0, T0 - minutes(10), T0 + minutes(239), False),
        (CRIT, T0, T0 - minutes(10), T0 + minutes(240), True),
    ],
)
def test_ack_reminder_due(
    policy: Policy, acked: datetime | None, last: datetime | None, now: datetime, expected: bool
) -> None:
    assert ack_reminder_due(acked, last, policy, now) is expected


def test_ack_reminder_waits_for_working_hours() -> None:
    low = DEFAULT_POLICIES[Severity.LOW]
    acked = datetime(2025, 3, 7, 10, 0, tzinfo=UTC)  # Friday 10:00; +24 h = Saturday
    saturday = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
    monday = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    assert ack_reminder_due(acked, None, low, saturday) is True  # no shift given
    assert ack_reminder_due(acked, None, low, saturday, shift=next_8am_weekday) is False
    assert ack_reminder_due(acked, None, low, monday, shift=next_8am_weekday) is True


# --------------------------------------------------------------------------- folding


def test_fold_key_same_tenant_and_cause() -> None:
    assert fold_key(7, Source.MISSED) == fold_key("7", "missed") == "7:missed"
    assert fold_key(7, Source.MISSED) != fold_key(7, Source.CRISIS)
    assert fold_key(7, Source.MISSED) != fold_key(8, Source.MISSED)


@pytest.mark.parametrize(("tenant", "source"), [(7, "gossip"), ("", Source.CRISIS)])
def test_fold_key_rejects_bad_input(tenant: object, source: str) -> None:
    with pytest.raises(ValueError):
        fold_key(tenant, source)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "expected"),
    [(AlertState.OPEN, True), (AlertState.ACKNOWLEDGED, True), (AlertState.RESOLVED, False),
     ("open", True), ("resolved", False)],
)
def test_should_fold(state: AlertState | str, expected: bool) -> None:
    assert should_fold(state) is expected


@pytest.mark.parametrize(
    ("existing", "incoming", "expected"),
    [
        (Severity.LOW, Severity.LOW, True),
        (Severity.HIGH, Severity.LOW, True),
        (Severity.CRITICAL, Severity.HIGH, True),
        (Severity.LOW, Severity.HIGH, False),  # second missed check-in must not stay slow
        (Severity.HIGH, Severity.CRITICAL, False),
        ("low", "critical", False),
    ],
)
def test_should_fold_never_hides_a_more_severe_trigger(
    existing: Severity, incoming: Severity, expected: bool
) -> None:
    assert should_fold(AlertState.OPEN, existing_severity=existing,
                       incoming_severity=incoming) is expected
    assert should_fold(AlertState.RESOLVED, existing_severity=existing,
                       incoming_severity=incoming) is False


NOT_CRIES = sorted(set(Source) - CRIES - {Source.CONCERN})  # a concern keeps its own alert
OPEN, ACKED = AlertState.OPEN, AlertState.ACKNOWLEDGED
HIGH = Severity.HIGH


@pytest.mark.parametrize("existing", NOT_CRIES)
@pytest.mark.parametrize("cry", sorted(CRIES - {Source.CRISIS}))  # the high ones
def test_a_cry_restarts_a_running_escalation_about_something_else(
        existing: Source, cry: Source) -> None:
    """Missed check-ins (high), a message, ...: none of that escalation's messages named a cry,
    so a cry of equal severity starts a new one (which names it), even while it runs."""
    assert join_trigger(OPEN, HIGH, cry, HIGH, existing_source=existing,
                        escalating=True) is Join.RETRIGGER


@pytest.mark.parametrize("existing", sorted(CRIES))
@pytest.mark.parametrize("cry", sorted(CRIES))
def test_a_cry_on_a_case_about_a_cry_folds_while_it_escalates(
        existing: Source, cry: Source) -> None:
    assert join_trigger(OPEN, Severity.CRITICAL, cry, severity_for(cry), existing_source=existing,
                        escalating=True) is Join.FOLD
    # Dormant (acknowledged, or its escalation over): its messages were about earlier triggers.
    for state, escalating in ((ACKED, True), (OPEN, False)):
        assert join_trigger(state, Severity.CRITICAL, cry, severity_for(cry),
                            existing_source=existing, escalating=escalating) is Join.RETRIGGER


@pytest.mark.parametrize("incoming", NOT_CRIES)
@pytest.mark.parametrize("existing", sorted(Source))
@pytest.mark.parametrize(("state", "escalating"), [(OPEN, True), (OPEN, False), (ACKED, True)])
def test_anything_but_a_cry_folds_unless_more_severe(
        incoming: Source, existing: Source, state: AlertState, escalating: bool) -> None:
    assert join_trigger(state, HIGH, incoming, HIGH, existing_source=existing,
                        escalating=escalating) is Join.FOLD
    assert join_trigger(state, Severity.LOW, incoming, HIGH, existing_source=existing,
                        escalating=escalating) is Join.RETRIGGER


def test_a_resolved_case_takes_no_trigger() -> None:
    with pytest.raises(ValueError, match="resolved"):
        join_trigger(AlertState.RESOLVED, HIGH, Source.CALL_ME, HIGH,
                     existing_source=Source.MISSED)


def test_severity_rank_is_by_urgency_not_alphabet() -> None:
    ranked = sorted(Severity, key=lambda s: s.rank)
    assert ranked == [Severity.LOW, Severity.HIGH, Severity.CRITICAL]


# --------------------------------------------------------------------------- state machine

OPEN, ACKED, RESOLVED = AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (OPEN, Action.ACKNOWLEDGE, ACKED),
        (OPEN, Action.RESOLVE, RESOLVED),
        (OPEN, Action.REOPEN, OPEN),
        (ACKED, Action.ACKNOWLEDGE, ACKED),  # idempotent
        (ACKED, Action.RESOLVE, RESOLVED),
        (RESOLVED, Action.RESOLVE, RESOLVED),  # idempotent
        (RESOLVED, Action.REOPEN, OPEN),
        ("open", "acknowledge", ACKED),
    ],
)
def test_transition_allowed(state: AlertState, action: Action, expected: AlertState) -> None:
    assert transition(state, action) is expected


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        (RESOLVED, Action.ACKNOWLEDGE, "cannot acknowledge an alert that is resolved"),
        (ACKED, Action.REOPEN, "only a resolved alert can be reopened"),
    ],
)
def test_transition_invalid(state: AlertState, action: Action, message: str) -> None:
    with pytest.raises(InvalidTransition, match=message) as excinfo:
        transition(state, action)
    assert excinfo.value.state is state
    assert excinfo.value.action is action


def test_transition_table_is_total() -> None:
    # Every (state, action) pair either transitions or raises InvalidTransition (never a
    # KeyError), and exactly the two pairs above are refused.
    refused = set()
    for state in AlertState:
        for action in Action:
            try:
                assert transition(state, action) in AlertState
            except InvalidTransition:
                refused.add((state, action))
    assert refused == {(RESOLVED, Action.ACKNOWLEDGE), (ACKED, Action.REOPEN)}


@pytest.mark.parametrize(("state", "action"), [("closed", "resolve"), ("open", "snooze")])
def test_transition_unknown_strings(state: str, action: str) -> None:
    with pytest.raises(ValueError):
        transition(state, action)


# --------------------------------------------------------------------------- severity


@pytest.mark.parametrize(
    ("source", "detail", "expected"),
    [
        (Source.CRISIS, None, Severity.CRITICAL),
        (Source.NEED_HELP, {"answer": 3}, Severity.HIGH),
        (Source.NEED_HELP, None, Severity.HIGH),
        (Source.CALL_ME, None, Severity.HIGH),
        (Source.MISSED, {"missed": 1}, Severity.LOW),
        (Source.MISSED, {"missed": 2}, Severity.HIGH),
        (Source.MISSED, {"missed": 5}, Severity.HIGH),
        (Source.DELIVERY_FAILED, {"to": "tenant"}, Severity.LOW),
        (Source.CONCERN, {"urgency": "can_wait", "category": "noise"}, Severity.LOW),
        (Source.CONCERN, {"urgency": "this_week", "category": "noise"}, Severity.LOW),
        (Source.CONCERN, {"urgency": "urgent_today", "category": "noise"}, Severity.HIGH),
        (Source.CONCERN, {"urgency": "this_week", "category": "wellbeing"}, Severity.LOW),
        (Source.CONCERN, {"urgency": "urgent_today", "category": "wellbeing"}, Severity.CRITICAL),
        (Source.CONCERN, {"urgency": "can_wait", "category": "no_sign_of_life"},
         Severity.CRITICAL),
        (Source.CONCERN, {"urgency": " Urgent_Today ", "category": "WELLBEING"},
         Severity.CRITICAL),
        (Source.CONCERN, {"category": "noise"}, Severity.HIGH),  # missing urgency: fail safe
        (Source.CONCERN, {"urgency": "asap!!", "category": "noise"}, Severity.HIGH),
        ("crisis", {}, Severity.CRITICAL),
    ],
)
def test_severity_table(source: Source, detail: dict | None, expected: Severity) -> None:
    assert severity_for(source, detail) is expected


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("weather", None),
        (Source.MISSED, None),
        (Source.MISSED, {"missed": 0}),
        (Source.MISSED, {"missed": "2"}),
        (Source.MISSED, {"missed": True}),
    ],
)
def test_severity_rejects_caller_bugs(source: str, detail: dict | None) -> None:
    with pytest.raises(ValueError):
        severity_for(source, detail)
