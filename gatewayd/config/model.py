"""The configuration sections. Defaults are written here once; conf/gatewayd.toml documents them
and a test keeps the two in step."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from gatewayd.config._schema import checked

LogLevel = Literal["debug", "info", "warn", "error", "critical"]
BindType = Literal["transceiver", "transmitter", "receiver"]


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _not_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def _rate(value: Any) -> str | None:
    return None if 0 <= value <= 1 else "must be from 0 to 1"


def _port(value: Any) -> str | None:
    return None if 1 <= value <= 65535 else "must be a TCP port from 1 to 65535"


def _server_endpoints(value: Any) -> str | None:
    from gatewayd.endpoints import endpoint_error

    for item in value if isinstance(value, tuple) else (value,):
        reason = endpoint_error(item)
        if reason:
            return f"{item!r} is not a valid Twisted server endpoint: {reason}"
    return None


def _database_url(value: Any) -> str | None:
    if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", value):
        return "must start with sqlite:// or postgresql+psycopg://"
    return None


def _system_id(value: Any) -> str | None:
    return None if 0 < len(value) <= 15 else "must be 1 to 15 characters (SMPP system_id)"


def _max_command_length(value: Any) -> str | None:
    return None if 1024 <= value <= 16 * 1024 * 1024 else "must be from 1024 to 16777216 bytes"


@dataclass(frozen=True)
class LoggingConfig:
    format: Literal["text", "json"] = "text"
    level: LogLevel = "info"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = checked("sqlite:///var/gatewayd.db", check=_database_url)
    threads: int = checked(0, check=_not_negative)
    busy_timeout: float = checked(5.0, check=_positive)


@dataclass(frozen=True)
class SmppServerConfig:
    listen: tuple[str, ...] = checked(("tcp:2775:interface=127.0.0.1",), check=_server_endpoints)
    system_id: str = checked("gatewayd", check=_system_id)
    enquire_link_interval: float = checked(30.0, check=_positive)
    response_timeout: float = checked(30.0, check=_positive)
    bind_timeout: float = checked(30.0, check=_positive)
    max_command_length: int = checked(65536, check=_max_command_length)
    max_binds_per_account: int = checked(10, check=_positive)
    lockout_threshold: int = checked(5, check=_positive)
    lockout_base: float = checked(60.0, check=_positive)
    lockout_max: float = checked(3600.0, check=_positive)
    receive_window: int = checked(10, check=_positive)
    default_account_tps: float = checked(0.0, check=_not_negative)


@dataclass(frozen=True)
class AdminConfig:
    listen: tuple[str, ...] = checked(("tcp:8080:interface=127.0.0.1",), check=_server_endpoints)
    session_ttl: float = checked(28800.0, check=_positive)
    secure_cookies: bool = False
    max_request_body: int = checked(16 * 1024 * 1024, check=_positive)
    lockout_threshold: int = checked(5, check=_positive)
    lockout_base: float = checked(60.0, check=_positive)
    lockout_max: float = checked(3600.0, check=_positive)
    #: The only directory a console connector's password_file may be in; "" allows none.
    connector_secrets_dir: str = ""
    #: Who may read GET /metrics (CIDRs); others get a 404.
    metrics_networks: tuple[str, ...] = checked(
        ("127.0.0.1/32", "::1/128"), check=lambda value: _networks(value)
    )


@dataclass(frozen=True)
class ControlConfig:
    socket: str = "var/gatewayd.ctl"


@dataclass(frozen=True)
class DaemonConfig:
    #: The most a graceful stop (SIGTERM) may take before the daemon exits anyway.
    drain_seconds: float = checked(10.0, check=_positive)


def _address_range(value: Any) -> str | None:
    return None if len(value) <= 40 else "must be at most 40 characters (SMPP address_range)"


def _octet(value: Any) -> str | None:
    return None if 0 <= value <= 255 else "must be from 0 to 255"


def _retry_causes(value: Any) -> str | None:
    from gatewayd.smpp.retry import parse_cause

    for key in value:
        try:
            parse_cause(key)
        except ValueError as error:
            return str(error)
    return None


@dataclass(frozen=True)
class RetryRuleConfig:
    """How one submit_sm failure cause is handled: [connectors.NAME.retry.CAUSE]."""

    kind: Literal["temporary", "permanent"] = "temporary"
    attempts: int = checked(5, check=_positive)
    delay: float = checked(10.0, check=_not_negative)
    max_delay: float = checked(300.0, check=_not_negative)


def _dedup_tag(value: Any) -> str | None:
    if value == 0 or 0x1400 <= value <= 0x3FFF:
        return None
    return "must be 0 (off) or a vendor-specific TLV tag from 0x1400 to 0x3FFF"


def _no_retry_rules() -> Mapping[str, RetryRuleConfig]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ConnectorConfig:
    host: str
    system_id: str = checked(check=_system_id)
    port: int = checked(2775, check=_port)
    password: str = ""
    password_file: str = ""
    system_type: str = ""
    bind: BindType = "transceiver"
    enabled: bool = True
    enquire_link_interval: float = checked(30.0, check=_positive)
    response_timeout: float = checked(30.0, check=_positive)
    reconnect_max_delay: float = checked(60.0, check=_positive)
    max_command_length: int = checked(65536, check=_max_command_length)
    bind_timeout: float = checked(30.0, check=_positive)
    address_range: str = checked("", check=_address_range)
    interface_version: int = checked(0x34, check=_octet)
    tls: bool = False
    tls_ca_file: str = ""
    tls_verify: bool = True
    tls_server_name: str = ""
    reconnect_initial_delay: float = checked(1.0, check=_positive)
    binds: int = checked(1, check=_positive)
    window: int = checked(10, check=_positive)
    queue_limit: int = checked(1000, check=_not_negative)
    tps: float = checked(0.0, check=_not_negative)
    long_messages: Literal["udh8", "udh16", "sar", "payload"] = "udh8"
    gsm_packed: bool = False
    receipt_ids: Literal["same", "decimal", "hex"] = "same"
    dedup_tlv: int = checked(0, check=_dedup_tag)
    retry: Mapping[str, RetryRuleConfig] = field(
        default_factory=_no_retry_rules, metadata={"check": _retry_causes}
    )


@dataclass(frozen=True)
class SimulatorConfig:
    enabled: bool = False
    listen: str = checked("tcp:2776:interface=127.0.0.1", check=_server_endpoints)
    delivery_delay: float = checked(1.0, check=_not_negative)
    delivered_weight: float = checked(1.0, check=_not_negative)
    undeliverable_weight: float = checked(0.0, check=_not_negative)
    expired_weight: float = checked(0.0, check=_not_negative)
    rejected_weight: float = checked(0.0, check=_not_negative)
    throttled_rate: float = checked(0.0, check=_rate)
    system_error_rate: float = checked(0.0, check=_rate)
    drop_rate: float = checked(0.0, check=_rate)
    drop_after: int = checked(0, check=_not_negative)
    slow_rate: float = checked(0.0, check=_rate)
    slow_delay: float = checked(0.0, check=_not_negative)


def _no_tables() -> tuple[Mapping[str, Any], ...]:
    return ()


@dataclass(frozen=True)
class RoutingConfig:
    default_connector: str = ""
    # [[routing.rules]]: checked by gatewayd.routing.rules_parse in cross_check.
    rules: tuple[Mapping[str, Any], ...] = field(default_factory=_no_tables)


def _country(value: Any) -> str | None:
    ok = value == "" or (len(value) == 2 and value.isalpha() and value.isupper())
    return None if ok else "must be a two-letter ISO country code in capitals (e.g. ML) or empty"


def _no_operators() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class NumbersConfig:
    home_country: str = checked("", check=_country)
    strict: bool = False
    operators: Mapping[str, str] = field(default_factory=_no_operators)


def _no_plans() -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({})


def _rates(value: Any) -> str | None:
    for name, rate in value.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
            return f"{name!r}: the rate is a number of messages per second, 0 or more"
    return None


def _no_rates() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ThrottleConfig:
    operators: Mapping[str, float] = field(default_factory=_no_rates, metadata={"check": _rates})


@dataclass(frozen=True)
class NotificationsConfig:
    smtp_host: str = ""
    smtp_port: int = checked(25, check=_port)
    from_address: str = "gatewayd@localhost"


@dataclass(frozen=True)
class FairUseConfig:
    default_plan: str = "standard"


@dataclass(frozen=True)
class PipelineConfig:
    commit_delay: float = checked(0.002, check=_not_negative)
    commit_max: int = checked(2000, check=_positive)
    max_unrecorded: int = checked(500, check=_positive)
    max_age: float = checked(172800.0, check=_positive)
    memory_limit: int = checked(100000, check=_positive)
    receipt_wait: float = checked(3600.0, check=_positive)
    outbox_expiry: float = checked(259200.0, check=_positive)
    deliver_window: int = checked(10, check=_positive)
    sweep_interval: float = checked(5.0, check=_positive)
    callback_timeout: float = checked(10.0, check=_positive)


def _networks(value: Any) -> str | None:
    from gatewayd.pipeline.destinations import networks_error

    return networks_error(value)


@dataclass(frozen=True)
class CallbacksConfig:
    # CIDRs that HTTP callbacks may reach although they are not public (loopback, private,
    # link-local...): for a customer's receiver on the operator's own network.
    allowed_networks: tuple[str, ...] = checked((), check=_networks)


def _mo_routes(value: Any) -> str | None:
    for address in value:
        if not address or len(address) > 21 or not address.isalnum():
            return f"{address!r} is not an address (1 to 21 letters or digits)"
    return None


def _no_mo_routes() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class MoConfig:
    routes: Mapping[str, str] = field(default_factory=_no_mo_routes, metadata={"check": _mo_routes})
    # [[mo.rules]]: address, keyword, account; checked by gatewayd.routing.rules_parse.
    rules: tuple[Mapping[str, Any], ...] = field(default_factory=_no_tables)


@dataclass(frozen=True)
class DemoConfig:
    enabled: bool = False
    operator_login: str = "admin"
    customer_login: str = "demo"
    customer_account: str = "Demo SARL"


def _currency(value: Any) -> str | None:
    ok = len(value) == 3 and value.isalpha() and value.isupper()
    return None if ok else "must be an ISO 4217 currency code in capitals (e.g. EUR, XOF)"


def _invoice_day(value: Any) -> str | None:
    return None if 1 <= value <= 28 else "must be a day from 1 to 28"


def _no_billing_tables() -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class BillingConfig:
    # Checked further (prices, tiers, plans) by gatewayd.billing.settings in cross_check.
    currency: str = checked("EUR", check=_currency)
    vat_rate: str = "0"
    invoice_day: int = checked(1, check=_invoice_day)
    check_interval: float = checked(3600.0, check=_positive)
    usage: Literal["none", "out_of_bundle", "all"] = "out_of_bundle"
    issuer: str = ""
    zones: Mapping[str, Mapping[str, Any]] = field(default_factory=_no_billing_tables)
    plans: Mapping[str, Mapping[str, Any]] = field(default_factory=_no_billing_tables)


def _http_url(value: Any) -> str | None:
    ok = value == "" or value.startswith(("http://", "https://"))
    return None if ok else "must be an http:// or https:// URL (or empty)"


@dataclass(frozen=True)
class FleetConfig:
    # Which backend carries out fleet orders (docs/fleet.md).
    backend: Literal["local", "http", "plugin"] = "local"
    delay: float = checked(5.0, check=_not_negative)
    interval: float = checked(2.0, check=_positive)
    timeout: float = checked(600.0, check=_positive)
    max_attempts: int = checked(3, check=_positive)
    reseller_email: str = ""
    http_base_url: str = checked("", check=_http_url)
    http_token_file: str = ""


@dataclass(frozen=True)
class RetentionConfig:
    # Days kept before the retention job purges (docs/operations.md); 0 keeps for ever.
    messages_days: int = checked(180, check=_not_negative)
    audit_days: int = checked(365, check=_not_negative)
    inbound_days: int = checked(180, check=_not_negative)
    outbox_days: int = checked(30, check=_not_negative)
    interval: float = checked(3600.0, check=_positive)
    batch_size: int = checked(1000, check=_positive)


@dataclass(frozen=True)
class ClusterConfig:
    # Several nodes on one PostgreSQL (docs/pipeline.md, "Cluster design").
    enabled: bool = False
    # This node's unique name; "" = the host name.
    node: str = ""
    # A dead node's connectors are taken over within this many seconds.
    lease_seconds: float = checked(15.0, check=_positive)


def _no_connectors() -> Mapping[str, ConnectorConfig]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Config:
    logging: LoggingConfig = LoggingConfig()
    database: DatabaseConfig = DatabaseConfig()
    smpp_server: SmppServerConfig = SmppServerConfig()
    admin: AdminConfig = AdminConfig()
    control: ControlConfig = ControlConfig()
    daemon: DaemonConfig = DaemonConfig()
    connectors: Mapping[str, ConnectorConfig] = field(default_factory=_no_connectors)
    simulator: SimulatorConfig = SimulatorConfig()
    routing: RoutingConfig = RoutingConfig()
    numbers: NumbersConfig = NumbersConfig()
    throttle: ThrottleConfig = ThrottleConfig()
    fair_use: FairUseConfig = FairUseConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    plans: Mapping[str, Mapping[str, Any]] = field(default_factory=_no_plans)
    pipeline: PipelineConfig = PipelineConfig()
    callbacks: CallbacksConfig = CallbacksConfig()
    mo: MoConfig = MoConfig()
    demo: DemoConfig = DemoConfig()
    billing: BillingConfig = BillingConfig()
    fleet: FleetConfig = FleetConfig()
    retention: RetentionConfig = RetentionConfig()
    cluster: ClusterConfig = ClusterConfig()
    # [plugins.NAME]: module, enabled and the plugin's own keys (gatewayd.plugins.host).
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=_no_plans)
