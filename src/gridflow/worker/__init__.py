"""`gridflow worker`: the background work of the engine, done in rounds by any number of worker
processes sharing one database, with no leader.

Each round runs every registered job once (`jobs.JOBS`: due timers, breached standards fed to the
linkage rules, a dispatch round, and whatever another module registers, such as an outbox). Each
job claims its work so that two workers never do the same thing twice: timers with leases under
`FOR UPDATE SKIP LOCKED` (`gridflow.timers`), dispatch rounds by a key per period, the linkage
feed under a PostgreSQL advisory lock and keyed events. A worker records a heartbeat per round
(`gridflow.heartbeats`); on SIGTERM it finishes the round it is in and stops.
"""

from gridflow.worker.jobs import JOBS, Backlog, Job, JobContext, register
from gridflow.worker.loop import Worker

__all__ = ["JOBS", "Backlog", "Job", "JobContext", "Worker", "register"]
