import re
from datetime import timedelta
from itertools import pairwise

from django.utils import timezone

from tests.homecare.conftest import HOME, window
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order


def place(elder, item, actor, *, days: int = 1, hour: int = 9, minute: int = 0, minutes: int = 90, **kwargs) -> Order:
    start, end = window(days, hour, minute, minutes)
    order, _ = ops.order_create(elder=elder, item=item, window_start=start, window_end=end, actor=actor, **kwargs)
    return order


def serve(
    order: Order, caregiver, *, dispatcher, minutes: int | None = None, confirmed: bool = True, at=HOME, ago: timedelta = timedelta(0)
) -> Order:
    """Assign, check in, do every task, check out `minutes` later (default: the standard duration)."""
    user = caregiver.user
    ops.order_assign(order=order, caregiver=caregiver, actor=dispatcher)
    minutes = order.item.standard_minutes if minutes is None else minutes
    end = timezone.now() - ago
    start = end - timedelta(minutes=minutes)
    ops.order_check_in(order=order, actor=user, lat=at[0], lng=at[1], device_time=start)
    for task in order.item.tasks:
        ops.order_task_record(order=order, actor=user, task_code=task["code"], outcome="done", device_time=start + timedelta(minutes=1))
    return ops.order_check_out(order=order, actor=user, lat=at[0], lng=at[1], device_time=end, elder_confirmed=confirmed)


def heading_levels(html: str) -> list[int]:
    """The levels of the headings in a page's <main>, in order; axe's heading-order wants no step down of more than one."""
    levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", html.split("<main", 1)[1])]
    assert levels and levels[0] == 1 and all(b <= a + 1 for a, b in pairwise(levels)), levels
    return levels
