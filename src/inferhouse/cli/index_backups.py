"""``inferhouse index backup|backups|restore|restore-jobs|delete-backup``: back indexes up and restore
them, through the server's Pinecone routes."""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from inferhouse.cli._common import (
    DEFAULT_BASE_URL,
    DataDirOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    new_table,
    print_result,
)
from inferhouse.client import BackupDescription, Client, RestoreJobDescription

WaitOption = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds to wait for the backup or restore to end")
]


def register(app: typer.Typer) -> None:
    app.command("backup")(index_backup)
    app.command("backups")(index_backups)
    app.command("restore")(index_restore)
    app.command("restore-jobs")(index_restore_jobs)
    app.command("delete-backup")(index_delete_backup)


def index_backup(
    index: str,
    name: Annotated[str | None, typer.Option("--name", help="A name for the backup")] = None,
    description: Annotated[str | None, typer.Option(help="What the backup is for")] = None,
    timeout: WaitOption = 3600,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back an index up (its records as they stand at one moment; writes go on) and wait until ready."""
    with connect(url, token, data_dir) as client:
        backup = client.create_backup(index, name=name, description=description)
        deadline = time.monotonic() + timeout
        while backup.status == "Initializing" and time.monotonic() < deadline:
            time.sleep(0.5)
            backup = client.describe_backup(backup.backup_id)
    if backup.status != "Ready":
        raise fail(f"backup {backup.backup_id} of {index} is {backup.status}")
    data = dataclasses.asdict(backup)
    table = new_table("field", "value")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    print_result(as_json, data, table)


def index_backups(
    index: Annotated[str | None, typer.Option("--index", help="Only the backups of this index")] = None,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List backups, oldest first."""
    with connect(url, token, data_dir) as client:
        backups = client.list_backups(index)
    print_result(as_json, [dataclasses.asdict(backup) for backup in backups], _backups_table(backups))


def _backups_table(backups: list[BackupDescription]) -> Table:
    table = new_table("backup id", "name", "index", "status", "records", "namespaces", "bytes", "created")
    for backup in backups:
        table.add_row(
            backup.backup_id,
            backup.name or "",
            backup.source_index_name,
            backup.status,
            _count(backup.record_count),
            _count(backup.namespace_count),
            _count(backup.size_bytes),
            backup.created_at or "",
        )
    return table


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def index_restore(
    backup_id: str,
    name: Annotated[str, typer.Argument(help="The new index's name")],
    deletion_protection: Annotated[
        str | None, typer.Option(help="enabled or disabled (default disabled)")
    ] = None,
    timeout: WaitOption = 3600,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into a new index, showing the restore job's progress until it ends."""
    with connect(url, token, data_dir) as client:
        job = client.restore_backup(backup_id, name, deletion_protection=deletion_protection)
        job = _follow(client, job, timeout)
    if job.status != "Completed":
        raise fail(f"restore job {job.restore_job_id} into {name} is {job.status}")
    data = dataclasses.asdict(job)
    table = new_table("field", "value")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    print_result(as_json, data, table)


def _follow(client: Client, job: RestoreJobDescription, timeout: float) -> RestoreJobDescription:
    """Poll the job with a progress bar on stderr (stdout keeps the result)."""
    columns = (TextColumn("restoring into {task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(job.target_index_name, total=100.0)
        progress.update(task, completed=job.percent_complete)
        try:
            return client.wait_for_restore(
                job.restore_job_id,
                timeout=timeout,
                on_progress=lambda current: progress.update(task, completed=current.percent_complete),
            )
        except TimeoutError as error:
            raise fail(str(error)) from None


def index_restore_jobs(
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List restore jobs, oldest first."""
    with connect(url, token, data_dir) as client:
        jobs = client.list_restore_jobs()
    table = new_table("job id", "backup id", "index", "status", "percent", "created", "completed")
    for job in jobs:
        table.add_row(
            job.restore_job_id,
            job.backup_id,
            job.target_index_name,
            job.status,
            f"{job.percent_complete:.0f}",
            job.created_at or "",
            job.completed_at or "",
        )
    print_result(as_json, [dataclasses.asdict(job) for job in jobs], table)


def index_delete_backup(
    backup_id: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete a backup (its index, and indexes restored from it, stay)."""
    with connect(url, token, data_dir) as client:
        client.delete_backup(backup_id)
    typer.echo(f"deleted backup {backup_id}")
