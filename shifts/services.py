"""Every write to the schedules: checked, in a transaction, with its roster event."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role, User
from helpdesk.errors import DomainError, NotFound, PermissionDenied
from queues.models import Line
from shifts.models import RosterEvent, Shift, ShiftException, exception_data, shift_data
from shifts.selectors import can_edit_roster

SHIFT_FIELDS = ("agent", "line", "weekday", "starts_at", "ends_at", "time_zone", "valid_from", "valid_until")


def _require_editor(actor: User) -> None:
    if not can_edit_roster(actor):
        raise PermissionDenied(_("Only managers and administrators may change the shift schedules."))


def _check_agent(agent: User, line: Line | None) -> None:
    if not agent.is_active or agent.role not in (Role.AGENT, Role.MANAGER, Role.ADMIN):
        raise DomainError(_("Shifts are for active support staff only."), field="agent")
    if line is not None and not line.memberships.filter(user=agent).exists():
        raise DomainError(
            _("%(agent)s is not a member of %(line)s.") % {"agent": agent.display_name, "line": line.name},
            field="agent",
        )


def _full_clean(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=None if field == "__all__" else field) from exc


def _event(action: str, actor: User, agent: User, data: dict) -> None:
    RosterEvent.objects.create(action=action, actor=actor, agent=agent, data=data)


@transaction.atomic
def shift_create(
    *,
    actor: User,
    agent: User,
    line: Line,
    weekday: int,
    starts_at: dt.time,
    ends_at: dt.time,
    time_zone: str | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> Shift:
    _require_editor(actor)
    _check_agent(agent, line)
    shift = Shift(
        agent=agent,
        line=line,
        weekday=weekday,
        starts_at=starts_at,
        ends_at=ends_at,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if time_zone:
        shift.time_zone = time_zone
    _full_clean(shift)
    shift.save()
    _event(RosterEvent.Action.SHIFT_ADDED, actor, agent, shift_data(shift))
    return shift


@transaction.atomic
def shift_update(*, actor: User, shift: Shift, **changes) -> Shift:
    _require_editor(actor)
    unknown = set(changes) - set(SHIFT_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(field)s.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0])
    shift = Shift.objects.select_for_update(of=("self",)).select_related("line", "agent").filter(pk=shift.pk).first()
    if shift is None:
        raise NotFound(_("No such shift."))
    before = shift_data(shift)
    for name, value in changes.items():
        setattr(shift, name, value)
    _check_agent(shift.agent, shift.line)
    _full_clean(shift)
    shift.save(update_fields=[name if name not in ("agent", "line") else f"{name}_id" for name in changes] or None)
    after = shift_data(shift)
    if after != before:
        _event(RosterEvent.Action.SHIFT_CHANGED, actor, shift.agent, {"before": before, "after": after})
    return shift


@transaction.atomic
def shift_delete(*, actor: User, shift: Shift) -> None:
    _require_editor(actor)
    shift = Shift.objects.select_for_update(of=("self",)).select_related("line", "agent").filter(pk=shift.pk).first()
    if shift is None:
        raise NotFound(_("No such shift."))
    data = shift_data(shift)
    agent = shift.agent
    shift.delete()
    _event(RosterEvent.Action.SHIFT_REMOVED, actor, agent, data)


@transaction.atomic
def exception_create(
    *,
    actor: User,
    agent: User,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    line: Line | None = None,
    note: str = "",
) -> ShiftException:
    _require_editor(actor)
    if kind not in ShiftException.Kind.values:
        raise DomainError(_("Unknown kind of exception."), field="kind")
    if kind == ShiftException.Kind.EXTRA and line is None:
        raise DomainError(_("An extra shift needs a line."), field="line")
    if ends_at <= starts_at:
        raise DomainError(_("An exception must end after it starts."), field="ends_at")
    _check_agent(agent, line)
    exception = ShiftException(agent=agent, line=line, kind=kind, starts_at=starts_at, ends_at=ends_at, note=note)
    _full_clean(exception)
    exception.save()
    _event(RosterEvent.Action.EXCEPTION_ADDED, actor, agent, exception_data(exception))
    return exception


@transaction.atomic
def exception_delete(*, actor: User, exception: ShiftException) -> None:
    _require_editor(actor)
    exception = ShiftException.objects.select_for_update().filter(pk=exception.pk).first()
    if exception is None:
        raise NotFound(_("No such exception."))
    data = exception_data(exception)
    agent = exception.agent
    exception.delete()
    _event(RosterEvent.Action.EXCEPTION_REMOVED, actor, agent, data)
