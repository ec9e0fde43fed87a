"""regiment's runtime: thread-backed agents, refs, addresses, envelopes, mailboxes, routing.

Every agent is a `pykka.ThreadingActor` subclass (`AgentActor`) with its own thread and
mailbox, living in an `ActorSystem`. The companion package `supervision` supplies the
supervision trees.
"""

from __future__ import annotations

from actors._dispatch import handler
from actors._lifecycle import AgentStatus
from actors._timers import Timer
from actors.address import (
    NOWHERE,
    Address,
    AddressLike,
    Broadcast,
    Direct,
    Nowhere,
    Role,
    parse_address,
)
from actors.agent import AgentActor, Context
from actors.clock import Clock, ManualClock, SystemClock
from actors.envelope import Envelope
from actors.errors import (
    AgentFailed,
    AgentUnavailable,
    AskCycle,
    AskError,
    AskTimeout,
    AskToSelf,
    Cancelled,
    DeliveryError,
    DuplicateName,
    InboxClosed,
    InboxEmpty,
    InvalidAddress,
    InvalidConfig,
    InvalidEnvelope,
    InvalidMemoryEntry,
    InvalidMessage,
    InvalidToolArguments,
    MailboxFull,
    MessageTooLarge,
    MissingExtra,
    PolicyViolation,
    PoolFull,
    RegimentError,
    StartFailed,
    SystemStopped,
    ToolDenied,
    ToolRateLimited,
    TransportError,
    UnhandledMessage,
    UnknownAddress,
)
from actors.events import (
    AgentCrashed,
    AgentRestarted,
    AgentStarted,
    AgentStopped,
    AsyncSubscription,
    DeadLetter,
    DeadLetterReason,
    Escalated,
    Event,
    EventStream,
    ExitReason,
    LifecycleChanged,
    Subscription,
    SystemFailed,
    Terminated,
)
from actors.future import Future
from actors.gather import Gather, GatherDone, Outcome
from actors.inbox import Inbox
from actors.info import AgentInfo
from actors.mailbox import Mailbox, Overflow
from actors.memory import Blackboard, MemoryChanged
from actors.message_log import MessageLog, read_jsonl
from actors.messages import Kind, Message, Priority, UnknownMessage
from actors.metrics import AgentMetrics, HandlingTime, MetricsSnapshot, SystemMetrics
from actors.recording import HandledMessage, MessageOutcome
from actors.ref import AgentRef
from actors.request import ReplyToken, Request, RequestStatus
from actors.routes import Route, Routes
from actors.routing import Routing, RoutingStrategy
from actors.run import RunReport, StopReason
from actors.schema import schema_catalog
from actors.send_policy import OUTSIDE, RateLimit, SendPolicy, SendRule
from actors.system import ActorSystem
from actors.tools import (
    Grant,
    Permission,
    Tool,
    ToolCalled,
    ToolOutcome,
    ToolPolicy,
    ToolRateLimit,
    tool,
)
from actors.traffic import MessageHandled, MessageSent

__all__ = [
    "NOWHERE",
    "OUTSIDE",
    "ActorSystem",
    "Address",
    "AddressLike",
    "AgentActor",
    "AgentCrashed",
    "AgentFailed",
    "AgentInfo",
    "AgentMetrics",
    "AgentRef",
    "AgentRestarted",
    "AgentStarted",
    "AgentStatus",
    "AgentStopped",
    "AgentUnavailable",
    "AskCycle",
    "AskError",
    "AskTimeout",
    "AskToSelf",
    "AsyncSubscription",
    "Blackboard",
    "Broadcast",
    "Cancelled",
    "Clock",
    "Context",
    "DeadLetter",
    "DeadLetterReason",
    "DeliveryError",
    "Direct",
    "DuplicateName",
    "Envelope",
    "Escalated",
    "Event",
    "EventStream",
    "ExitReason",
    "Future",
    "Gather",
    "GatherDone",
    "Grant",
    "HandledMessage",
    "HandlingTime",
    "Inbox",
    "InboxClosed",
    "InboxEmpty",
    "InvalidAddress",
    "InvalidConfig",
    "InvalidEnvelope",
    "InvalidMemoryEntry",
    "InvalidMessage",
    "InvalidToolArguments",
    "Kind",
    "LifecycleChanged",
    "Mailbox",
    "MailboxFull",
    "ManualClock",
    "MemoryChanged",
    "Message",
    "MessageHandled",
    "MessageLog",
    "MessageOutcome",
    "MessageSent",
    "MessageTooLarge",
    "MetricsSnapshot",
    "MissingExtra",
    "Nowhere",
    "Outcome",
    "Overflow",
    "Permission",
    "PolicyViolation",
    "PoolFull",
    "Priority",
    "RateLimit",
    "RegimentError",
    "ReplyToken",
    "Request",
    "RequestStatus",
    "Role",
    "Route",
    "Routes",
    "Routing",
    "RoutingStrategy",
    "RunReport",
    "SendPolicy",
    "SendRule",
    "StartFailed",
    "StopReason",
    "Subscription",
    "SystemClock",
    "SystemFailed",
    "SystemMetrics",
    "SystemStopped",
    "Terminated",
    "Timer",
    "Tool",
    "ToolCalled",
    "ToolDenied",
    "ToolOutcome",
    "ToolPolicy",
    "ToolRateLimit",
    "ToolRateLimited",
    "TransportError",
    "UnhandledMessage",
    "UnknownAddress",
    "UnknownMessage",
    "handler",
    "parse_address",
    "read_jsonl",
    "schema_catalog",
    "tool",
]
