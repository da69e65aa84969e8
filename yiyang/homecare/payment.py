"""The payment split: what subsidy vouchers pay and what the elder co-pays.

One function, `order_payment_split`, called inside the audit's transaction. When the
subsidies app is installed its voucher ledger pays first; the rest is co-payment.
"""

from django.apps import apps


def order_payment_split(*, order, actor=None) -> tuple[int, int]:
    """Split `order.price_fen` (the provider's price for the item, fixed when ordered).

    Returns (subsidy_fen, copay_fen) and stores them on the order (the caller saves).
    """
    price = order.price_fen
    subsidy = 0
    if price > 0 and apps.is_installed("yiyang.subsidies"):
        from yiyang.subsidies.operations import vouchers_spend

        subsidy = int(
            vouchers_spend(
                elder=order.elder,
                order_ref=order_ref(order),
                category=order.item.category.code,
                amount_fen=price,
                actor=actor,
                # The order and its provider, already loaded: the ledger need not read them again.
                provider=order.provider,
                order=order,
                # Inside the audit's transaction: an error here aborts the whole payment anyway.
                savepoint=False,
            )
        )
        # The ledger never pays more than the price; a bug there must not create negative co-payments.
        if not 0 <= subsidy <= price:
            raise ValueError(f"vouchers_spend covered {subsidy} fen of a {price} fen order")
    order.subsidy_fen = subsidy
    order.copay_fen = price - subsidy
    return subsidy, price - subsidy


def order_payment_refund(*, order, actor=None) -> None:
    """Give back what vouchers paid, when a paid order is reversed."""
    if order.subsidy_fen and apps.is_installed("yiyang.subsidies"):
        from yiyang.subsidies.operations import vouchers_refund

        vouchers_refund(order_ref=order_ref(order), actor=actor)
    order.subsidy_fen = 0
    order.copay_fen = 0


def order_ref(order) -> str:
    return f"order:{order.pk}"
