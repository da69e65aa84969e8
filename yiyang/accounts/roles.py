"""Roles and what each may do. Pages, API and menus ask `can()`; scope is separate (scope.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("System administrator")
    CITY_OFFICER = "city_officer", _("City civil-affairs officer")
    COUNTY_OFFICER = "county_officer", _("County civil-affairs officer")
    WORKER = "worker", _("Township / community worker")
    OPERATOR = "operator", _("96345 hotline operator")
    DISPATCHER = "dispatcher", _("Provider dispatcher")
    CAREGIVER = "caregiver", _("Caregiver")
    ASSESSOR = "assessor", _("Assessor")
    INSPECTOR = "inspector", _("Inspector")
    REPORTER = "reporter", _("Reporting unit")
    VOLUNTEER = "volunteer", _("Volunteer")
    FAMILY = "family", _("Family member")
    ELDER = "elder", _("Elder")


OFFICERS = {Role.ADMIN, Role.CITY_OFFICER, Role.COUNTY_OFFICER}
REGION_STAFF = OFFICERS | {Role.WORKER, Role.OPERATOR, Role.ASSESSOR}

# Capability -> roles that hold it. One table, read by menus, views and endpoints.
CAPABILITIES: dict[str, set[str]] = {
    "elder.view": REGION_STAFF | {Role.DISPATCHER, Role.CAREGIVER, Role.VOLUNTEER, Role.FAMILY, Role.ELDER},
    "elder.list": REGION_STAFF | {Role.DISPATCHER, Role.CAREGIVER, Role.VOLUNTEER, Role.FAMILY},
    "elder.register": OFFICERS | {Role.WORKER, Role.OPERATOR},
    "elder.update": OFFICERS | {Role.WORKER},
    "elder.archive": OFFICERS | {Role.WORKER},
    "elder.transfer": OFFICERS,
    "elder.import": OFFICERS,
    "elder.export": OFFICERS,
    "elder.unmask": OFFICERS | {Role.WORKER, Role.OPERATOR},
    "access_log.view": OFFICERS,
    "region.view": set(Role.values),
    "user.manage": {Role.ADMIN},
    "token.manage": set(Role.values),
    "eldermode.use": {Role.ELDER, Role.FAMILY},
    "callback.handle": OFFICERS | {Role.OPERATOR, Role.WORKER},
    # Subsidies and the time bank (yiyang.subsidies, yiyang.timebank)
    "subsidy.programme.view": OFFICERS | {Role.WORKER},
    "subsidy.programme.manage": OFFICERS,
    "subsidy.grant.run": OFFICERS,
    "subsidy.balance.view": REGION_STAFF | {Role.FAMILY, Role.ELDER},
    "subsidy.mine": {Role.FAMILY, Role.ELDER},
    "subsidy.settle": OFFICERS,
    "subsidy.flag.review": OFFICERS,
    "timebank.use": {Role.VOLUNTEER, Role.FAMILY, Role.ELDER, Role.CAREGIVER, Role.WORKER},
    "timebank.confirm": OFFICERS | {Role.WORKER, Role.FAMILY, Role.ELDER},
    "timebank.manage": OFFICERS,
    # Home care (yiyang.homecare)
    "order.view": REGION_STAFF | {Role.DISPATCHER, Role.CAREGIVER, Role.VOLUNTEER, Role.FAMILY, Role.ELDER},
    "order.create": OFFICERS | {Role.WORKER, Role.OPERATOR, Role.FAMILY, Role.ELDER},
    "order.cancel": OFFICERS | {Role.WORKER, Role.OPERATOR, Role.FAMILY, Role.ELDER},
    "order.dispatch": {Role.ADMIN, Role.DISPATCHER},
    "order.serve": {Role.CAREGIVER, Role.VOLUNTEER},
    "order.audit": OFFICERS,
    "order.rate": OFFICERS | {Role.WORKER, Role.OPERATOR, Role.FAMILY, Role.ELDER},
    "order.follow_up": OFFICERS | {Role.DISPATCHER},
    "homecare.hotline": OFFICERS | {Role.OPERATOR, Role.WORKER},
    "homecare.elder_view": {Role.FAMILY, Role.ELDER},
    "catalogue.view": set(Role.values),
    "catalogue.manage": OFFICERS,
    "provider.view": OFFICERS | {Role.OPERATOR, Role.WORKER, Role.DISPATCHER},
    "provider.manage": OFFICERS | {Role.DISPATCHER},
    "provider.register": OFFICERS,
    "caregiver.manage": OFFICERS | {Role.DISPATCHER},
    # A caregiver's phone in clear (to call them), with a purpose, in the personal-data access log.
    "caregiver.phone_reveal": OFFICERS | {Role.DISPATCHER},
    "provider.receivables": OFFICERS | {Role.DISPATCHER},
    # The plan cockpit (yiyang.plan)
    "plan.view": OFFICERS | {Role.REPORTER},
    "plan.enter": OFFICERS | {Role.REPORTER},
    "plan.approve": OFFICERS,
    "plan.manage": OFFICERS,
    "plan.report": OFFICERS,
    # Silver Guardian (yiyang.guardian)
    "guardian.device.view": OFFICERS | {Role.WORKER, Role.OPERATOR},
    "guardian.device.manage": OFFICERS | {Role.WORKER},
    "guardian.alert.view": OFFICERS | {Role.WORKER, Role.OPERATOR},
    "guardian.alert.handle": OFFICERS | {Role.WORKER, Role.OPERATOR},
    "guardian.console": {Role.ADMIN, Role.CITY_OFFICER, Role.OPERATOR},
    "guardian.policy.manage": OFFICERS,
    # Ability assessments (yiyang.assessments)
    "assessment.view": OFFICERS | {Role.WORKER, Role.ASSESSOR, Role.OPERATOR},
    "assessment.record": {Role.ADMIN, Role.ASSESSOR},
    # Monthly visits (yiyang.visits)
    "visit.view": OFFICERS | {Role.WORKER},
    "visit.record": {Role.ADMIN, Role.WORKER},
    "visit.add_extra": OFFICERS | {Role.WORKER, Role.OPERATOR},
    "visit.plan": OFFICERS,
    "visit.coverage": OFFICERS,
    # Institutions and inspections (yiyang.institutions)
    "institution.view": OFFICERS | {Role.INSPECTOR},
    "institution.manage": OFFICERS,
    "inspection.view": OFFICERS | {Role.INSPECTOR},
    "inspection.draw": OFFICERS,
    "inspection.record": {Role.ADMIN, Role.INSPECTOR},
}


# Capabilities about one's own life rather than powers: a superuser does not get them for free.
PERSONAL = {"eldermode.use"}


def can(user, capability: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser and capability not in PERSONAL:
        return True
    return user.role in CAPABILITIES.get(capability, set())
