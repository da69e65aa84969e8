"""The order state machine: one table of actions, the states they start from, and where they lead."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.homecare.models import OrderStatus as S


class Action(models.TextChoices):
    ACCEPT = "accept", _("accept")
    ASSIGN = "assign", _("assign")
    START_TRAVEL = "start_travel", _("start travel")
    CHECK_IN = "check_in", _("check in")
    COMPLETE_TASK = "complete_task", _("record a task")
    CHECK_OUT = "check_out", _("check out")
    NOT_HOME = "not_home", _("report elder not at home")
    AUDIT_PASS = "audit_pass", _("pass automatic audit")
    AUDIT_FLAG = "audit_flag", _("flag for officer audit")
    APPROVE = "approve", _("approve")
    REJECT = "reject", _("reject")
    REVERSE = "reverse", _("reverse a payment")
    CANCEL = "cancel", _("cancel")
    RATE = "rate", _("rate")


# action -> (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.ACCEPT: (frozenset({S.REQUESTED}), S.ACCEPTED),
    # Re-assigning before the caregiver sets off is allowed (someone falls ill).
    Action.ASSIGN: (frozenset({S.REQUESTED, S.ACCEPTED, S.ASSIGNED}), S.ASSIGNED),
    Action.START_TRAVEL: (frozenset({S.ASSIGNED}), S.EN_ROUTE),
    Action.CHECK_IN: (frozenset({S.ASSIGNED, S.EN_ROUTE}), S.IN_SERVICE),
    Action.COMPLETE_TASK: (frozenset({S.IN_SERVICE}), None),
    Action.CHECK_OUT: (frozenset({S.IN_SERVICE}), S.COMPLETED),
    Action.NOT_HOME: (frozenset({S.ASSIGNED, S.EN_ROUTE}), S.NOT_HOME),
    Action.AUDIT_PASS: (frozenset({S.COMPLETED}), S.PAID),
    Action.AUDIT_FLAG: (frozenset({S.COMPLETED}), S.FLAGGED),
    Action.APPROVE: (frozenset({S.FLAGGED}), S.PAID),
    Action.REJECT: (frozenset({S.FLAGGED}), S.REJECTED),
    # An officer who finds a problem after payment reverses it; vouchers are refunded.
    Action.REVERSE: (frozenset({S.PAID}), S.REJECTED),
    # "Before the visit starts": up to the moment the caregiver checks in.
    Action.CANCEL: (frozenset({S.REQUESTED, S.ACCEPTED, S.ASSIGNED, S.EN_ROUTE}), S.CANCELLED),
    Action.RATE: (frozenset({S.COMPLETED, S.FLAGGED, S.PAID}), None),
}

FINAL = frozenset({S.PAID, S.REJECTED, S.CANCELLED, S.NOT_HOME})
# Orders that hold a caregiver's time.
BUSY = frozenset({S.ASSIGNED, S.EN_ROUTE, S.IN_SERVICE})
OPEN_FOR_DISPATCH = frozenset({S.REQUESTED, S.ACCEPTED})


def allowed(action: str, status: str) -> bool:
    return status in TRANSITIONS[action][0]


def target(action: str, status: str) -> str:
    to = TRANSITIONS[action][1]
    return status if to is None else to


def actions_from(status: str) -> list[str]:
    return [a for a, (froms, _to) in TRANSITIONS.items() if status in froms]
