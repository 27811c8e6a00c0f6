"""Blobs in an S3-compatible bucket (AWS, Aliyun OSS, MinIO): objects `<prefix><id[:2]>/<id>`,
written by multipart upload, each call bounded by S3Deadlines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .storage import (
    BLOB_ID_PATTERN,
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobStorage,
    BlobWriter,
    StorageError,
    check_blob_id,
)

S3_PART_SIZE = 8 * 1024 * 1024  # S3 needs ≥ 5 MiB per part except the last; memory per upload


class S3Storage(BlobStorage):
    """Blobs as objects `<prefix><id[:2]>/<id>` in one bucket (AWS, Aliyun OSS, MinIO, …)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: str = "auto",
        part_size: int = S3_PART_SIZE,
        client: Any = None,
        deadlines: S3Deadlines | None = None,
    ) -> None:
        if not bucket:
            raise StorageError("S3_BUCKET is not set")
        if part_size < 5 * 1024 * 1024:
            raise StorageError("S3 parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.part_size = part_size
        self.client = client or _make_s3_client(
            endpoint_url, region, access_key, secret_key, addressing_style, deadlines
        )

    def check(self) -> None:
        """Raise unless the bucket answers (HEAD; within the client's deadlines)."""
        self.client.head_bucket(Bucket=self.bucket)

    def key_for(self, blob_id: str) -> str:
        """The object key of a blob."""
        check_blob_id(blob_id)
        return f"{self.prefix}{blob_id[:2]}/{blob_id}"

    def writer(self, blob_id: str) -> BlobWriter:
        return _S3Writer(self, blob_id)

    def reader(self, blob_id: str) -> BlobReader:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key_for(blob_id))
        except self.client.exceptions.NoSuchKey:
            raise BlobNotFound(blob_id) from None
        return answer["Body"]

    def delete(self, blob_id: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key_for(blob_id))

    def _head(self, blob_id: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key_for(blob_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def exists(self, blob_id: str) -> bool:
        return self._head(blob_id) is not None

    def size(self, blob_id: str) -> int:
        head = self._head(blob_id)
        if head is None:
            raise BlobNotFound(blob_id)
        return int(head["ContentLength"])

    def iter_blobs(self) -> Iterator[BlobInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                shard, _, blob_id = name.partition("/")
                if BLOB_ID_PATTERN.match(blob_id) and shard == blob_id[:2]:
                    yield BlobInfo(blob_id, int(item["Size"]), _aware(item["LastModified"]))

    def iter_incomplete(self) -> Iterator[tuple[str, str, datetime]]:
        """(key, upload id, started) of multipart uploads never completed nor aborted."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                yield upload["Key"], upload["UploadId"], _aware(upload["Initiated"])

    def purge_incomplete(self, older_than: timedelta, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - older_than
        removed = 0
        for key, upload_id, started in list(self.iter_incomplete()):
            if started < cutoff:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                removed += 1
        return removed


class _S3Writer(BlobWriter):
    """One PUT for small blobs; a multipart upload once a part's worth of bytes is buffered."""

    def __init__(self, storage: S3Storage, blob_id: str) -> None:
        super().__init__(blob_id)
        self._storage = storage
        self._client = storage.client
        self._key = storage.key_for(blob_id)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) > self._storage.part_size:
            self._send_part(self._storage.part_size)

    def _send_part(self, size: int) -> None:
        if self._upload_id is None:
            answer = self._client.create_multipart_upload(
                Bucket=self._storage.bucket,
                Key=self._key,
                ContentType="application/octet-stream",
            )
            self._upload_id = answer["UploadId"]
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            Bucket=self._storage.bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=self._take(size),
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _take(self, size: int) -> bytearray:
        """Hand over the first `size` buffered bytes, copying only the small remainder."""
        body = self._buffer
        self._buffer = bytearray(body[size:])
        del body[size:]
        return body

    def _commit(self) -> None:
        if self._upload_id is None:
            self._client.put_object(
                Bucket=self._storage.bucket,
                Key=self._key,
                Body=self._take(len(self._buffer)),
                ContentType="application/octet-stream",
            )
        else:
            self._send_part(len(self._buffer))
            self._client.complete_multipart_upload(
                Bucket=self._storage.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()

    def _abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            self._client.abort_multipart_upload(
                Bucket=self._storage.bucket, Key=self._key, UploadId=self._upload_id
            )


def _aware(moment: datetime) -> datetime:
    """S3 times as aware UTC (some servers send naive or local-zone values)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass(frozen=True)
class S3Deadlines:
    """How long one S3 call may wait: to connect, for each socket read, and how many attempts in
    all (the first included; botocore's standard mode backs off between them)."""

    connect_timeout: float = 1.0
    read_timeout: float = 5.0
    max_attempts: int = 2


def _make_s3_client(
    endpoint_url: str | None,
    region: str | None,
    access_key: str | None,
    secret_key: str | None,
    addressing_style: str,
    deadlines: S3Deadlines | None = None,
) -> Any:
    """A boto3 S3 client that also speaks to Aliyun OSS and MinIO."""
    import boto3
    from botocore.config import Config as BotoConfig

    deadlines = deadlines or S3Deadlines()
    config = BotoConfig(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        connect_timeout=deadlines.connect_timeout,
        read_timeout=deadlines.read_timeout,
        retries={"max_attempts": deadlines.max_attempts, "mode": "standard"},
        # Newer botocore adds CRC checksums that several S3-compatible stores reject.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )
