"""The elder's file leads to the services placed for them: a new order and the recurring ones."""

import pytest

pytestmark = pytest.mark.django_db


def test_operator_goes_from_the_file_to_an_order_and_the_recurring_orders(client, personas, elders):
    elder = elders["liandu"]
    client.force_login(personas["operator"])
    page = client.get(f"/elders/{elder.pk}/").content.decode()
    assert f'href="/homecare/hotline/?elder={elder.pk}"' in page
    assert f'href="/homecare/elders/{elder.pk}/recurrences/"' in page
    assert client.get(f"/homecare/elders/{elder.pk}/recurrences/").status_code == 200


def test_a_role_that_cannot_order_sees_no_order_links(client, personas, elders):
    elder = elders["liandu"]
    client.force_login(personas["assessor"])
    page = client.get(f"/elders/{elder.pk}/").content.decode()
    assert elder.name in page
    assert "/homecare/hotline/?elder=" not in page and "/recurrences/" not in page
