"""The `gridflow` command: database, lint, deploy, demo data, statistics and the summary table.

The package, by concern: `base` (the group, the --database option, run()), `running`
(init-db, serve, worker, notify-deliver), `processes` (lint, deploy, migrate, layout),
`simulation` (demo, demo-worker), `reports` (stats, summary, export) and `accounts` (roles,
user, token). Importing the package registers every command on `main`.
"""

from gridflow.cli.accounts import (
    roles,
    token,
    token_list,
    token_revoke,
    user,
    user_add,
    user_disable,
    user_enable,
    user_grant,
    user_list,
    user_revoke,
)
from gridflow.cli.base import database_option, main, run
from gridflow.cli.processes import deploy, layout, lint, migrate
from gridflow.cli.reports import export_command, stats, summary
from gridflow.cli.running import (
    init_db,
    notify_deliver,
    notify_round,
    serve,
    work_round,
    worker,
)
from gridflow.cli.simulation import demo, demo_worker

__all__ = [
    "database_option",
    "demo",
    "demo_worker",
    "deploy",
    "export_command",
    "init_db",
    "layout",
    "lint",
    "main",
    "migrate",
    "notify_deliver",
    "notify_round",
    "roles",
    "run",
    "serve",
    "stats",
    "summary",
    "token",
    "token_list",
    "token_revoke",
    "user",
    "user_add",
    "user_disable",
    "user_enable",
    "user_grant",
    "user_list",
    "user_revoke",
    "work_round",
    "worker",
]
