"""task events partitioned by month on PostgreSQL

The task-event table becomes a range-partitioned table on `at` (one partition per UTC month,
a default partition for anything outside them), with its rows, ids and id sequence kept. A
partitioned table's unique keys must hold the partition key, so its primary key is (id, at)
and linkage_events.task_event_id (still unique) no longer has a foreign key to it; on SQLite,
which has one table, only that foreign key goes, so both databases have the same shape.

Revision ID: 0016
Revises: 0015
"""

from datetime import UTC, datetime

from alembic import op

from gridflow import partitions

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD = "task_events_unpartitioned"
INDEXES = (
    ("ix_task_events_instance", "instance_id, id"),
    ("ix_task_events_lifecycle", "lifecycle"),
    ("ix_task_events_work_item_id", "work_item_id"),
    ("ix_task_events_system_task_id", "system_task_id"),
)
FOREIGN_KEYS = (
    ("task_events_definition_id_fkey", "definition_id", "definitions"),
    ("task_events_instance_id_fkey", "instance_id", "instances"),
    ("task_events_work_item_id_fkey", "work_item_id", "work_items"),
    ("fk_task_events_system_task_id", "system_task_id", "system_tasks"),
)
SQLITE_FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        with op.batch_alter_table("linkage_events", naming_convention=SQLITE_FK_NAMES) as batch:
            batch.drop_constraint("fk_linkage_events_task_event_id_task_events", type_="foreignkey")
        return
    op.execute("ALTER TABLE linkage_events DROP CONSTRAINT linkage_events_task_event_id_fkey")
    op.execute(f"ALTER TABLE task_events RENAME TO {OLD}")
    for name, _ in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT task_events_pkey TO {OLD}_pkey")
    for name, _, _ in FOREIGN_KEYS:
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {name} TO {name}_old")
    # The same columns and defaults (the id still draws from task_events_id_seq).
    op.execute(f"CREATE TABLE task_events (LIKE {OLD} INCLUDING DEFAULTS) PARTITION BY RANGE (at)")
    op.execute("ALTER TABLE task_events ADD CONSTRAINT task_events_pkey PRIMARY KEY (id, at)")
    for name, column, table in FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE task_events ADD CONSTRAINT {name} "
            f"FOREIGN KEY ({column}) REFERENCES {table} (id)"
        )
    for name, columns in INDEXES:
        op.execute(f"CREATE INDEX {name} ON task_events ({columns})")
    op.execute("CREATE TABLE task_events_default PARTITION OF task_events DEFAULT")
    connection = op.get_bind()
    # A partition for every month the rows span (and the months around now), then the rows.
    months = connection.exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', at) FROM {OLD}"  # noqa: S608 - constant
    ).all()
    for (month,) in months:
        name = partitions.partition_name(month)
        if name not in partitions.existing(connection):
            partitions._make(connection, name, month, partitions.add_months(month, 1))
    partitions.ensure(connection, datetime.now(UTC))
    op.execute(f"INSERT INTO task_events SELECT * FROM {OLD}")  # noqa: S608 - constant
    op.execute("ALTER SEQUENCE task_events_id_seq OWNED BY task_events.id")
    op.execute(f"DROP TABLE {OLD}")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        with op.batch_alter_table("linkage_events", naming_convention=SQLITE_FK_NAMES) as batch:
            batch.create_foreign_key(
                "fk_linkage_events_task_event_id_task_events",
                "task_events",
                ["task_event_id"],
                ["id"],
            )
        return
    op.execute(f"CREATE TABLE {OLD} (LIKE task_events INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {OLD} SELECT * FROM task_events")  # noqa: S608 - constant
    op.execute(f"ALTER SEQUENCE task_events_id_seq OWNED BY {OLD}.id")
    op.execute("DROP TABLE task_events CASCADE")
    op.execute(f"ALTER TABLE {OLD} RENAME TO task_events")
    op.execute("ALTER TABLE task_events ADD CONSTRAINT task_events_pkey PRIMARY KEY (id)")
    for name, column, table in FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE task_events ADD CONSTRAINT {name} "
            f"FOREIGN KEY ({column}) REFERENCES {table} (id)"
        )
    for name, columns in INDEXES:
        op.execute(f"CREATE INDEX {name} ON task_events ({columns})")
    op.execute(
        "ALTER TABLE linkage_events ADD CONSTRAINT linkage_events_task_event_id_fkey "
        "FOREIGN KEY (task_event_id) REFERENCES task_events (id)"
    )
