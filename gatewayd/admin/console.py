"""The admin console: one Klein app, its routes in one module per area.

Customers (roles manager and user) use the bulk-SMS portal; the operator's staff (admin, and
the read-only viewer) administer. Every state-changing request checks a CSRF token, and every
object is looked up within the session's own account (another account's id is a 404).
"""

from __future__ import annotations

from twisted.web.resource import IResource

from gatewayd.admin.base import Services
from gatewayd.admin.pages_admin_billing import AdminBillingPages
from gatewayd.admin.pages_admin_fleet import AdminFleetPages
from gatewayd.admin.pages_api import ApiPages
from gatewayd.admin.pages_audit import AuditPages
from gatewayd.admin.pages_auth import AuthPages
from gatewayd.admin.pages_billing import BillingPages
from gatewayd.admin.pages_clients import ClientPages
from gatewayd.admin.pages_connectors import ConnectorsPages
from gatewayd.admin.pages_contacts import ContactsPages
from gatewayd.admin.pages_dashboard import DashboardPages
from gatewayd.admin.pages_fleet import FleetPages
from gatewayd.admin.pages_health import HealthPages
from gatewayd.admin.pages_messages import MessagesPages
from gatewayd.admin.pages_metrics import MetricsPages
from gatewayd.admin.pages_operator import OperatorPages
from gatewayd.admin.pages_profile import ProfilePages
from gatewayd.admin.pages_routes import RoutesPages
from gatewayd.admin.pages_stats import StatsPages
from gatewayd.admin.pages_users import UsersPages
from gatewayd.admin.rendering import Templates

__all__ = ["Console", "Services"]


class Console(
    AuthPages,
    MessagesPages,
    ContactsPages,
    StatsPages,
    ProfilePages,
    OperatorPages,
    ClientPages,
    UsersPages,
    AuditPages,
    ConnectorsPages,
    RoutesPages,
    DashboardPages,
    FleetPages,
    BillingPages,
    AdminFleetPages,
    AdminBillingPages,
    ApiPages,
    HealthPages,
    MetricsPages,
):
    def __init__(self, services: Services, templates: Templates) -> None:
        super().__init__(services, templates)

    def resource(self) -> IResource:
        return self.app.resource()
