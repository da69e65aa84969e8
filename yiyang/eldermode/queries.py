"""What an elder's home screen shows, gathered from the parts that own it (registry, home care,
subsidies, time bank), for the elder themselves or a linked family member."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.people.models import Elder, ElderLink

# The big buttons: one service per button, in the order elders ask for them.
COMMON_ITEMS = ["meal-delivery", "clean-home", "bath-home", "med-escort", "comfort-chat"]


@dataclass
class Slot:
    code: str
    label: str
    start: datetime
    end: datetime


@dataclass
class HomeFacts:
    elder: Elder
    next_orders: list = field(default_factory=list)
    voucher_fen: int | None = None
    hours_minutes: int | None = None
    contacts: list = field(default_factory=list)


def linked_elders(user) -> list[Elder]:
    links = ElderLink.objects.filter(user=user).select_related("elder__residence_region").order_by("relation", "elder__name")
    return [link.elder for link in links if link.elder.status == "active"]


def elder_of(user, elder_id: str | None) -> Elder | None:
    elders = linked_elders(user)
    if elder_id and str(elder_id).isdigit():
        return next((e for e in elders if e.pk == int(elder_id)), None)
    return elders[0] if elders else None


def slots(now: datetime | None = None) -> list[Slot]:
    """Three plain choices of time: later today (when there is time left), tomorrow morning, tomorrow afternoon."""
    now = timezone.localtime(now or timezone.now())
    today, tomorrow = now.date(), now.date() + timedelta(days=1)
    tz = now.tzinfo

    def at(day, hour, minute=0):
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)

    choices = []
    if now < at(today, 13):
        choices.append(Slot("today-pm", _("This afternoon"), at(today, 14), at(today, 17)))
    choices += [
        Slot("tomorrow-am", _("Tomorrow morning"), at(tomorrow, 9), at(tomorrow, 11, 30)),
        Slot("tomorrow-pm", _("Tomorrow afternoon"), at(tomorrow, 14), at(tomorrow, 17)),
    ]
    return choices


def slot_by_code(code: str, now: datetime | None = None) -> Slot | None:
    return next((s for s in slots(now) if s.code == code), None)


def common_items() -> list:
    from yiyang.homecare.models import ServiceItem

    items = {i.code: i for i in ServiceItem.objects.filter(code__in=COMMON_ITEMS, is_active=True).select_related("category")}
    return [items[c] for c in COMMON_ITEMS if c in items]


def price_for(elder: Elder, item) -> int | None:
    from yiyang.homecare.queries import cheapest_offering_covering

    offering = cheapest_offering_covering(elder, item)
    return offering.price_fen if offering else None


def voucher_cover_estimate(elder: Elder, category_code: str, price_fen: int) -> int:
    """What the vouchers would pay now: the balance of programmes that cover the category, up to the price."""
    if not apps.is_installed("yiyang.subsidies"):
        return 0
    from yiyang.subsidies.models import Programme
    from yiyang.subsidies.queries import elder_balance

    balance = elder_balance(elder)
    by_programme = {p["programme_id"]: p["balance_fen"] for p in balance["programmes"]}
    covering = [p.pk for p in Programme.objects.filter(pk__in=by_programme) if p.covers(category_code)]
    return min(price_fen, sum(by_programme[pk] for pk in covering))


def home_facts(elder: Elder) -> HomeFacts:
    from yiyang.homecare.models import Order, OrderStatus

    facts = HomeFacts(elder=elder)
    upcoming = [OrderStatus.REQUESTED, OrderStatus.ACCEPTED, OrderStatus.ASSIGNED, OrderStatus.EN_ROUTE, OrderStatus.IN_SERVICE]
    facts.next_orders = list(
        Order.objects.filter(elder=elder, window_end__gte=timezone.now(), status__in=upcoming)
        .select_related("item", "provider")
        .order_by("window_start")[:5]
    )
    if apps.is_installed("yiyang.subsidies"):
        from yiyang.subsidies.queries import elder_balance

        facts.voucher_fen = elder_balance(elder)["total_fen"]
    if apps.is_installed("yiyang.timebank"):
        from yiyang.timebank.models import HourAccount

        account = HourAccount.objects.filter(elder=elder).first()
        facts.hours_minutes = account.balance if account else 0
    facts.contacts = list(elder.contacts.filter(is_emergency=True).order_by("pk")[:2])
    return facts


def callbacks_open_for(user):
    """Open call-back requests of the elders this user may see, oldest first."""
    from yiyang.eldermode.models import CallbackRequest, CallbackStatus
    from yiyang.people.queries import elders_visible_to

    return (
        CallbackRequest.objects.filter(status=CallbackStatus.OPEN, elder__in=elders_visible_to(user))
        .select_related("elder__residence_region", "requested_by")
        .order_by("created_at", "pk")
    )
