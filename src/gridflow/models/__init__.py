"""The store's tables: definitions, demands, instances, work items, waits and task events, and
every other table gridflow keeps, each in the module of its concern.

Times are stored as UTC with millisecond precision and come back timezone-aware.

`base` holds the declarative `Base` and the shared column types; `processes` the running
processes (definitions, demands, instances, work items, waits, task events); `system_steps`
external tasks and incidents; `accounts` users, tokens, sessions and sign-ins; `notes` comments
and consultations; `deployments` deploy records and instance migrations; `dispatch` the skill
pool, dispatch rounds and linkage events; `audit` the audit's indexes, figures and roll-ups;
`decisions` DMN decisions; `notifications` the outbox; `workers` heartbeats and timer leases;
`customer_channel` documents, predictions, appointments, ratings and packages. Importing this
package imports them all, so every table is on `Base.metadata` (Alembic reads it).
"""

from gridflow.models.accounts import ApiToken, SignInAttempt, SignInCode, StaffSession, User
from gridflow.models.audit import (
    AUDIT_MEASURE_COLUMNS,
    AuditInstance,
    AuditLinkHistogram,
    AuditLinkRollup,
    AuditPersonRollup,
    AuditRollupState,
)
from gridflow.models.base import Base, Id, UTCDateTime, to_ms
from gridflow.models.customer_channel import (
    Appointment,
    Document,
    PackageOffer,
    PredictionInstance,
    PredictionSample,
    Rating,
    RatingVisit,
)
from gridflow.models.decisions import DecisionBinding, DecisionDefinition, DecisionDeployRecord
from gridflow.models.deployments import DeployRecord, InstanceMigration
from gridflow.models.dispatch import (
    DispatchAssignment,
    DispatchRound,
    Equipment,
    LinkageEvent,
    LinkHelper,
    StaffLeave,
    StaffProfile,
    StaffShift,
    StaffSkill,
)
from gridflow.models.notes import Comment, Consultation
from gridflow.models.notifications import Notification
from gridflow.models.processes import (
    LIFECYCLES,
    Definition,
    Demand,
    Instance,
    TaskEvent,
    Wait,
    WorkItem,
)
from gridflow.models.system_steps import Incident, SystemTask
from gridflow.models.workers import TimerLease, WorkerHeartbeat

__all__ = [
    "AUDIT_MEASURE_COLUMNS",
    "LIFECYCLES",
    "ApiToken",
    "Appointment",
    "AuditInstance",
    "AuditLinkHistogram",
    "AuditLinkRollup",
    "AuditPersonRollup",
    "AuditRollupState",
    "Base",
    "Comment",
    "Consultation",
    "DecisionBinding",
    "DecisionDefinition",
    "DecisionDeployRecord",
    "Definition",
    "Demand",
    "DeployRecord",
    "DispatchAssignment",
    "DispatchRound",
    "Document",
    "Equipment",
    "Id",
    "Incident",
    "Instance",
    "InstanceMigration",
    "LinkHelper",
    "LinkageEvent",
    "Notification",
    "PackageOffer",
    "PredictionInstance",
    "PredictionSample",
    "Rating",
    "RatingVisit",
    "SignInAttempt",
    "SignInCode",
    "StaffLeave",
    "StaffProfile",
    "StaffSession",
    "StaffShift",
    "StaffSkill",
    "SystemTask",
    "TaskEvent",
    "TimerLease",
    "UTCDateTime",
    "User",
    "Wait",
    "WorkItem",
    "WorkerHeartbeat",
    "to_ms",
]
