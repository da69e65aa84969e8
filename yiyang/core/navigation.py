"""The frame's menu: what the signed-in role can do, in one table."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yiyang.accounts.roles import can


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: Promise
    capability: str
    description: Promise


NAV: list[NavItem] = [
    NavItem("home", _("Home"), "region.view", _("Your work at a glance")),
    NavItem("people:elder_list", _("Elders"), "elder.list", _("Find and open elders' files in your area")),
    NavItem("assessments:home", _("Assessments"), "assessment.view", _("Ability assessments (GB/T 42195) and re-assessments due")),
    NavItem("regions:region_list", _("Regions"), "region.view", _("The administrative divisions the platform serves")),
    NavItem("accounts:tokens", _("API tokens"), "token.manage", _("Create and revoke tokens for the JSON API")),
    NavItem("api:openapi-view", _("API docs"), "token.manage", _("The JSON API, described and tryable")),
]


def nav_for(user) -> list[dict]:
    return [
        {"url": reverse(item.url_name), "label": item.label, "description": item.description, "name": item.url_name}
        for item in NAV
        if can(user, item.capability)
    ]
