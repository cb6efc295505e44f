"""Pinecone's backup and restore-job bodies, as the OpenAPI document declares them (``backups.py`` reads
and writes them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from inferhouse.api.pinecone.schemas import IndexName
from inferhouse.vectors.backup_pages import MAX_BACKUP_NAME, MAX_DESCRIPTION


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class CreateBackupRequest(_Body):
    name: str | None = Field(None, min_length=1, max_length=MAX_BACKUP_NAME)
    # Empty means none: the 7.x client sends "" when it is given no description.
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)


class CreateIndexFromBackupRequest(_Body):
    name: IndexName
    deletion_protection: Literal["enabled", "disabled"] | None = None
    tags: dict[str, str] | None = None


class Backup(BaseModel):
    """Both client eras' keys: 10.x reads ``schema``, 7.x ``dimension`` and ``metric``."""

    backup_id: str
    source_index_name: str
    source_index_id: str
    name: str | None = None
    description: str | None = None
    status: Literal["Initializing", "Ready", "InitializationFailed"]
    cloud: str
    region: str
    dimension: int
    metric: str
    schema_: dict[str, Any] = Field(alias="schema")
    record_count: int | None = None
    namespace_count: int | None = None
    size_bytes: int | None = None
    tags: dict[str, str] | None = None
    created_at: str
    source_index_deleted_at: str | None = None


class Pagination(BaseModel):
    next: str


class BackupList(BaseModel):
    data: list[Backup]
    pagination: Pagination | None = None


class RestoreJob(BaseModel):
    restore_job_id: str
    backup_id: str
    target_index_name: str
    target_index_id: str
    status: Literal["Pending", "InProgress", "Completed", "Failed"]
    created_at: str
    completed_at: str | None = None
    percent_complete: float


class RestoreJobList(BaseModel):
    data: list[RestoreJob]
    pagination: Pagination | None = None


class CreateIndexFromBackupResponse(BaseModel):
    restore_job_id: str
    index_id: str
