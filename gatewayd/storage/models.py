"""SQLAlchemy 2 models: the domain as far as it is known today.

Times are stored as UTC seconds since the epoch (float): the same on SQLite and PostgreSQL,
cheap to compare, and passed in by the caller (``now``) so that tests drive them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    """A customer (or the operator itself): owns users, credentials, messages and contacts."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "operator" or "customer"
    smpp_system_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    default_country: Mapped[str | None] = mapped_column(String(2))
    # SMPP bind limits; NULL means the [smpp_server] defaults.
    smpp_max_binds: Mapped[int | None] = mapped_column(Integer)
    smpp_tps: Mapped[float | None] = mapped_column(Float)
    # Networks the account may bind from (CIDR, comma-separated); empty means anywhere.
    smpp_allowed_networks: Mapped[str] = mapped_column(Text, default="", server_default="")
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where receipts and MO are POSTed (signed with callback_secret); NULL: SMPP binds only.
    callback_url: Mapped[str | None] = mapped_column(Text)
    callback_secret: Mapped[str | None] = mapped_column(String(128))
    # Fair use and routing (issue 5). Counters are kept in this time zone (IANA name).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # NULL: [fair_use] default_plan. pending_plan takes over on the 1st of plan_effective.
    plan: Mapped[str | None] = mapped_column(String(64))
    pending_plan: Mapped[str | None] = mapped_column(String(64))
    plan_effective: Mapped[str | None] = mapped_column(String(7))  # "YYYY-MM"
    # Per-account fair-use overrides of the plan's rules (JSON object); empty: none.
    fair_use: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Routing groups the account belongs to, comma-separated.
    groups: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Where quota alerts go by SMS (E.164 digits); NULL: no SMS alert.
    alert_msisdn: Mapped[str | None] = mapped_column(String(21))
    # Weight of the account's turn when several accounts share a connector.
    share: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The customer's profile, as the console's Profil page shows and edits it.
    company_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    mobile: Mapped[str] = mapped_column(String(21), default="", server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    po_box: Mapped[str] = mapped_column(String(64), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # The client group (one client identifier covering several accounts); NULL: none.
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[float] = mapped_column(Float)


class Client(Base):
    """A client group: the operator's client identifier covering several accounts (a company
    with one account per department or contract, billed together)."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)


class User(Base):
    """A person who logs in to the console."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    login: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="fr")
    # Where alerts go for a customer's managers (fair use); NULL: no e-mail.
    email: Mapped[str | None] = mapped_column(String(254))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    account: Mapped[Account] = relationship()


class Credential(Base):
    """A hashed secret (argon2id): a user's console password or an account's SMPP password."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("owner", "owner_id", "kind"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    owner: Mapped[str] = mapped_column(String(16))  # "user" or "account"
    owner_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))  # "password" or "smpp"
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Float)


class WebSession(Base):
    """A console login; only the hash of the cookie token is stored."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class Connector(Base):
    """An upstream SMSC bind; the config is the source of truth, this row gives it an id."""

    __tablename__ = "connectors"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    # Added or edited from the console: the connector's [connectors.NAME] table as JSON
    # (None: the config file's connector, or one it no longer has).
    spec: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[float | None] = mapped_column(Float)


class Batch(Base):
    """One submission: a subject, a text, a sender and one or more recipients."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))  # "web", "smpp", "api", "cli"
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(21), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[float | None] = mapped_column(Float)
    # "active", "paused" or "cancelled"; a paused batch's messages wait as accepted.
    state: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, index=True)


class Message(Base):
    """One recipient of a batch, with its current status."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_status_priority_id", "status", "priority", "id"),
        Index("ix_messages_account_created", "account_id", "created_at"),
        Index("ix_messages_account_status_id", "account_id", "status", "id"),
        # Cluster mode only (migration 0011): partial, so a single node pays nothing.
        Index(
            "ix_messages_queued_node",
            "node",
            "priority",
            "id",
            postgresql_where=text("status = 'queued' AND node IS NOT NULL"),
            sqlite_where=text("status = 'queued' AND node IS NOT NULL"),
        ),
        Index(
            "ix_messages_queued_offered_to",
            "offered_to",
            "priority",
            "id",
            postgresql_where=text("status = 'queued' AND offered_to IS NOT NULL"),
            sqlite_where=text("status = 'queued' AND offered_to IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(21))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    connector_id: Mapped[int | None] = mapped_column(ForeignKey("connectors.id"))
    part_count: Mapped[int] = mapped_column(Integer, default=1)
    registered_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    # 1: transactional (drains first), 0: bulk.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Past this time a message not yet sent ends as expired (validity period or maximum age).
    expires_at: Mapped[float | None] = mapped_column(Float)
    # National or international for the account, and the destination operator ("" unknown):
    # routing's classification, kept for statistics and rating.
    scope: Mapped[str] = mapped_column(String(16), default="", server_default="")
    operator: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Accepted beyond the plan's distinct-recipient cap: billed per unit ("hors forfait").
    out_of_bundle: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # What fair use charged for it (decimal text, the plan's currency): spending, prepaid.
    cost: Mapped[str] = mapped_column(String(24), default="0", server_default="0")
    # Sent once more through another connector after a failed receipt (route's resend).
    resent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    # Cluster mode: the node whose memory holds the queued message, and a node it was handed
    # to (its connector's lease holder). NULL on a single node.
    node: Mapped[str | None] = mapped_column(String(64))
    offered_to: Mapped[str | None] = mapped_column(String(64))


class ClusterNode(Base):
    """A gatewayd node sharing this database; times are the database's clock."""

    __tablename__ = "cluster_nodes"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)


class ConnectorLease(Base):
    """Which node may bind a connector, until ``expires_at`` (database time)."""

    __tablename__ = "connector_leases"
    connector: Mapped[str] = mapped_column(String(64), primary_key=True)
    node: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)


class MessagePart(Base):
    """One SMS segment of a message as sent to the SMSC; receipts are per part."""

    __tablename__ = "message_parts"
    __table_args__ = (
        UniqueConstraint("message_id", "seq"),
        Index("ix_message_parts_smsc_key", "connector_id", "smsc_key"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    connector_id: Mapped[int | None] = mapped_column(ForeignKey("connectors.id"))
    smsc_message_id: Mapped[str | None] = mapped_column(String(65))
    # smsc_message_id normalised (lower case, no leading zeros) for matching receipts.
    smsc_key: Mapped[str | None] = mapped_column(String(65))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[float] = mapped_column(Float)


class UnmatchedReceipt(Base):
    """A receipt whose part is not known yet (it overtook its submit_sm_resp), kept until the
    part is recorded or ``[pipeline] receipt_wait`` passes."""

    __tablename__ = "unmatched_receipts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    smsc_message_id: Mapped[str] = mapped_column(String(65))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[float] = mapped_column(Float, index=True)


class InboundMessage(Base):
    """An MO message (not a receipt) from an upstream connector."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_account_received", "account_id", "received_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    # NULL when no route names an account: kept for the operator, never dropped.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id"))
    source: Mapped[str] = mapped_column(String(21))
    destination: Mapped[str] = mapped_column(String(21))
    esm_class: Mapped[int] = mapped_column(Integer)
    data_coding: Mapped[int] = mapped_column(Integer)
    short_message: Mapped[str] = mapped_column(Text)  # hex of the octets, UDH included
    text: Mapped[str] = mapped_column(Text)  # decoded, for people
    received_at: Mapped[float] = mapped_column(Float)


class OutboxEntry(Base):
    """A receipt or MO owed to a customer, on its SMPP binds or its HTTP callback; deleted once
    the customer acknowledged it, or when it expires."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_account_channel_id", "account_id", "channel", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "receipt" or "mo"
    channel: Mapped[str] = mapped_column(String(8))  # "smpp" or "http"
    payload: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(String(200))


class MessageEvent(Base):
    """Every status transition of a message, with its error code and time."""

    __tablename__ = "message_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[float] = mapped_column(Float)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_account_name", "account_id", "last_name", "first_name"),
        Index("uq_contacts_account_msisdn", "account_id", "msisdn", unique=True),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    msisdn: Mapped[str] = mapped_column(String(21))
    created_at: Mapped[float] = mapped_column(Float)


class ContactGroup(Base):
    __tablename__ = "contact_groups"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[float] = mapped_column(Float)


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )


class GroupNumber(Base):
    """A number added to a group by hand or pasted, without a contact of its own."""

    __tablename__ = "group_numbers"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True
    )
    msisdn: Mapped[str] = mapped_column(String(21), primary_key=True)


class ApiKey(Base):
    """A bearer key for the HTTP API. The token is ``gw_<key_id>_<secret>``; only the SHA-256
    of the secret is kept (it has 256 random bits, so a slow hash would add nothing)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class SenderId(Base):
    """A sender ID ("signature") granted to an account."""

    __tablename__ = "sender_ids"
    __table_args__ = (UniqueConstraint("account_id", "sender"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(21))
    created_at: Mapped[float] = mapped_column(Float)


class FairUseState(Base):
    """An account's fair-use counters (the engine's state as JSON), locked and updated in the
    commit of the messages they count."""

    __tablename__ = "fair_use_state"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)


class FairUseRecipient(Base):
    """A distinct recipient counted for an account in a month ("YYYY-MM", its time zone)."""

    __tablename__ = "fair_use_recipients"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(21), primary_key=True)


class Notification(Base):
    """An alert owed to an account (quota 80 %/100 %, suspension): sent by the notifier job."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, index=True)


class AuditEntry(Base):
    """Who did what to which account, and when (operator actions, automatic suspensions)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_account_at", "account_id", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # a user's login, or "system"
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    # The peer address of the console request ("" for the CLI and the system).
    ip: Mapped[str] = mapped_column(String(45), default="", server_default="")


class RouteRule(Base):
    """A routing rule kept in the database (edited from the CLI or console); these come
    before the config's rules. ``spec`` is the rule as a JSON object, in the config's shape."""

    __tablename__ = "route_rules"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    spec: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)


class PlanSpec(Base):
    """A fair-use plan edited from the console: its [plans.NAME] table as JSON; it replaces
    the config's plan of the same name (or adds one)."""

    __tablename__ = "plan_specs"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)


# --- Fleet (issue 7): a customer's mobile lines, their SIM pool, orders and consumption. ---


class FleetPlan(Base):
    """A mobile plan of the catalogue. ``range`` is "data_only" or "unlimited" (a line never
    changes range); ``blocked`` plans stop at the bundle, unblocked ones go on at reduced speed.
    Bundles: data in MB (0: none), voice in minutes and SMS in messages (NULL: unlimited)."""

    __tablename__ = "fleet_plans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    range: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    data_mb: Mapped[int] = mapped_column(BigInteger, default=0)
    voice_minutes: Mapped[int | None] = mapped_column(Integer)
    sms: Mapped[int | None] = mapped_column(Integer)
    # The monthly fee in minor units (cents), for billing.
    monthly_fee: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[float] = mapped_column(Float)


class FleetOption(Base):
    """An option of the catalogue; ``kind`` is "roaming", "data", "sms" or "other"."""

    __tablename__ = "fleet_options"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    monthly_fee: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[float] = mapped_column(Float)


class FleetAccount(Base):
    """A customer's fleet settings: whether its lines may swap to an eSIM."""

    __tablename__ = "fleet_accounts"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    esim_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[float] = mapped_column(Float)


class FleetLine(Base):
    """A mobile line of a customer. ``state`` is active, suspended, in_progress or cancelled.
    Numbers and SIMs are never reused, so both are unique for ever. A scheduled plan change
    (``pending_plan_id``) takes over on ``plan_effective`` ("YYYY-MM-DD", the account's zone)."""

    __tablename__ = "fleet_lines"
    __table_args__ = (Index("ix_fleet_lines_account_state", "account_id", "state"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    msisdn: Mapped[str] = mapped_column(String(21), unique=True)
    iccid: Mapped[str] = mapped_column(String(22), unique=True)
    puk: Mapped[str] = mapped_column(String(16), default="")
    sim_kind: Mapped[str] = mapped_column(String(8))  # "physical" or "esim"
    user_name: Mapped[str] = mapped_column(String(100), default="")
    site: Mapped[str] = mapped_column(String(100), default="")
    contract: Mapped[str] = mapped_column(String(32), default="")
    plan_id: Mapped[int] = mapped_column(ForeignKey("fleet_plans.id", ondelete="RESTRICT"))
    state: Mapped[str] = mapped_column(String(16))
    delivered_on: Mapped[str | None] = mapped_column(String(10))  # "YYYY-MM-DD"
    pending_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("fleet_plans.id", ondelete="SET NULL")
    )
    plan_effective: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class FleetLineOption(Base):
    """An option active on a line."""

    __tablename__ = "fleet_line_options"
    line_id: Mapped[int] = mapped_column(
        ForeignKey("fleet_lines.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("fleet_options.id", ondelete="RESTRICT"), primary_key=True
    )
    added_at: Mapped[float] = mapped_column(Float)


class FleetSim(Base):
    """A SIM card the operator assigned to a customer's pool. ``line_id`` is set once the SIM
    went into a line (it is never free again: SIMs are not reused)."""

    __tablename__ = "fleet_sims"
    __table_args__ = (Index("ix_fleet_sims_account_line", "account_id", "line_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    iccid: Mapped[str] = mapped_column(String(22), unique=True)
    puk: Mapped[str] = mapped_column(String(16), default="")
    line_id: Mapped[int | None] = mapped_column(ForeignKey("fleet_lines.id", ondelete="SET NULL"))
    created_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float)


class FleetOrder(Base):
    """An asynchronous order on one or several lines: requested -> in_progress -> done |
    failed (``reason``). ``number`` is "CMD-YYYY-NNNNNN"; ``params`` the action's JSON."""

    __tablename__ = "fleet_orders"
    __table_args__ = (
        Index("ix_fleet_orders_account_created", "account_id", "created_at"),
        Index("ix_fleet_orders_state", "state"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # The date a scheduled change takes effect ("YYYY-MM-DD"); NULL: at once.
    effective_on: Mapped[str | None] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    notified_at: Mapped[float | None] = mapped_column(Float)


class FleetOrderLine(Base):
    """A line an order acts on."""

    __tablename__ = "fleet_order_lines"
    order_id: Mapped[int] = mapped_column(
        ForeignKey("fleet_orders.id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[int] = mapped_column(
        ForeignKey("fleet_lines.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class FleetOrderKey(Base):
    """An idempotency key held until ``expires_at`` (a data top-up: 30 minutes): a second
    order with the same key meanwhile is refused, by the primary key even when both race."""

    __tablename__ = "fleet_order_keys"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("fleet_orders.id", ondelete="CASCADE"))
    expires_at: Mapped[float] = mapped_column(Float)


class FleetUsage(Base):
    """One consumption record of a line (the journal): ``kind`` voice (seconds), sms and mms
    (messages) or data (kB), in the bundle or out of it. Fed by a backend or the CLI."""

    __tablename__ = "fleet_usage"
    __table_args__ = (Index("ix_fleet_usage_line_at", "line_id", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("fleet_lines.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(BigInteger)
    in_bundle: Mapped[bool] = mapped_column(Boolean, default=True)
    # The other party or the zone ("" when unknown).
    detail: Mapped[str] = mapped_column(String(64), default="", server_default="")
