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
    NavItem("eldermode:home", _("My home"), "eldermode.use", _("Order a service, ask for help, see my subsidy")),
    NavItem("eldermode:callbacks", _("Call-backs"), "callback.handle", _("Elders who asked the hotline to call them")),
    NavItem("people:elder_list", _("Elders"), "elder.list", _("Find and open elders' files in your area")),
    NavItem("people:transfer_list", _("Transfers"), "elder.transfer", _("Elders' files moving between counties")),
    NavItem("people:access_log", _("Access log"), "access_log.view", _("Who unmasked or exported personal data, and why")),
    NavItem("assessments:home", _("Assessments"), "assessment.view", _("Ability assessments (GB/T 42195) and re-assessments due")),
    NavItem("homecare:hotline", _("Hotline"), "homecare.hotline", _("Find an elder and place a home-care order")),
    NavItem("homecare:dispatch", _("Dispatch"), "order.dispatch", _("New orders, suggested caregivers, assignment")),
    NavItem("homecare:my_visits", _("My visits"), "order.serve", _("Today's visits: check in, tasks, check out")),
    NavItem("homecare:elder_home", _("Services"), "homecare.elder_view", _("Order home-care services and rate them")),
    NavItem("homecare:audit_queue", _("Visit audit"), "order.audit", _("Flagged visits, overdue orders, low ratings")),
    NavItem("homecare:recurrences", _("Recurring orders"), "homecare.hotline", _("Standing orders: weekdays, holidays, pause or end")),
    NavItem("homecare:providers", _("Providers"), "provider.view", _("Service providers: offerings, prices, area, auto-dispatch")),
    NavItem("homecare:caregivers", _("Caregivers"), "caregiver.manage", _("Caregivers, working hours and certificates due to expire")),
    NavItem("homecare:catalogue_list", _("Service menu"), "catalogue.manage", _("The menu's items, guide prices and task checklists")),
    NavItem("homecare:receivables", _("Receivables"), "provider.receivables", _("What providers are owed per month; .xlsx export")),
    NavItem(
        "subsidies:programme_list", _("Subsidies"), "subsidy.programme.view", _("Subsidy programmes, eligibility rules and monthly grants")
    ),
    NavItem("subsidies:settlements", _("Settlement"), "subsidy.settle", _("Close a provider's month and export it for finance")),
    NavItem("subsidies:flags", _("Voucher checks"), "subsidy.flag.review", _("Voucher spends that do not fit other records")),
    NavItem("subsidies:mine", _("Vouchers"), "subsidy.mine", _("Service vouchers: balance, and why they were granted")),
    NavItem("timebank:mine", _("Time bank"), "timebank.use", _("My volunteer hours: balance, claims, gifts, redemptions")),
    NavItem("timebank:confirm", _("Confirm hours"), "timebank.confirm", _("Confirm help that volunteers have claimed")),
    NavItem("timebank:officer", _("Time bank totals"), "timebank.manage", _("Hours by region and month; corrections")),
    NavItem("plan:cockpit", _("Plan cockpit"), "plan.view", _("The plan's indicators, tasks and projects, live by region")),
    NavItem("visits:home", _("Monthly visits"), "visit.view", _("Who is due for a visit this month; record visits")),
    NavItem("visits:coverage", _("Visit coverage"), "visit.coverage", _("Visited / due by region and month, and who was missed")),
    NavItem("institutions:list", _("Institutions"), "institution.view", _("Care homes, beds, residents, staff and star ratings")),
    NavItem("institutions:inspections", _("Inspections"), "inspection.view", _("Double-random inspections, findings and re-checks")),
    NavItem("regions:region_list", _("Regions"), "region.view", _("The administrative divisions the platform serves")),
    NavItem("guardian:console", _("Alarm console"), "guardian.console", _("Silver Guardian: open device alarms, live")),
    NavItem("guardian:device_list", _("Guardian devices"), "guardian.device.view", _("Silver Guardian: register devices, draw safe zones")),
    NavItem("accounts:tokens", _("API tokens"), "token.manage", _("Create and revoke tokens for the JSON API")),
    NavItem("api:openapi-view", _("API docs"), "token.manage", _("The JSON API, described and tryable")),
]


def nav_for(user) -> list[dict]:
    return [
        {"url": reverse(item.url_name), "label": item.label, "description": item.description, "name": item.url_name}
        for item in NAV
        if can(user, item.capability) and not (item.url_name == "home" and can(user, "eldermode.use"))
    ]
