"""The S3 client, configured only from the standard AWS environment, and its errors.

boto3/botocore gives the standard credential chain (``AWS_ACCESS_KEY_ID``,
profiles, SSO, instance roles), ``AWS_ENDPOINT_URL`` for on-premises stores,
SigV4 signing and request-level retries (``AWS_RETRY_MODE``,
``AWS_MAX_ATTEMPTS``). We never take any of it from argv.

botocore's own messages may carry the endpoint URL or a server's text, so
`storage_error` builds ours from error codes only and drops the cause.
"""

from __future__ import annotations

import functools
import logging

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.loaders import create_loader

from .errors import (
    AccessDeniedError,
    BucketNotFoundError,
    EndpointError,
    ObjectChangedError,
    ObjectNotFoundError,
    StorageError,
)

ACCESS_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "403"}
THROTTLE_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestTimeout", "503"}


def make_client(max_connections: int = 16):
    """An S3 client from the standard AWS configuration.

    botocore's DEBUG log prints signed request headers (the key id among
    them); its loggers are capped at WARNING so enabling debug logging in the
    console never writes them.
    """
    for name in ("botocore", "boto3", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        botocore_session = botocore.session.get_session()
        botocore_session.register_component("data_loader", _loader())
        return boto3.session.Session(botocore_session=botocore_session).client(
            "s3",
            config=Config(connect_timeout=5, read_timeout=30, max_pool_connections=max_connections,
                          parameter_validation=False),  # our requests are well-formed; saves CPU per GET
        )
    except ProfileNotFound:
        raise StorageError("the AWS profile named in AWS_PROFILE does not exist") from None
    except BotoCoreError as exc:
        raise StorageError(f"cannot set up the S3 client ({type(exc).__name__})") from None


@functools.cache
def _loader():
    """botocore's service-model loader, shared: each new client then skips re-reading the models (~70 ms),
    while credentials and connections stay per client (read from the environment as it is now)."""
    return create_loader()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def is_transient(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500 or error_code(exc) in THROTTLE_CODES


def storage_error(exc: Exception, where: str) -> StorageError:
    """The one-line typed error for a botocore failure at *where* (``s3://bucket/key at offset …``)."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchKey", "404", "NotFound"):
            return ObjectNotFoundError(f"{where}: object not found (deleted since it was listed?)")
        if code == "NoSuchBucket":
            return BucketNotFoundError(f"{where}: no such bucket")
        if code in ACCESS_CODES:
            return AccessDeniedError(f"{where}: access denied ({code}); check the AWS credentials in use")
        if code in ("PreconditionFailed", "412"):
            return ObjectChangedError(f"{where}: object changed since it was listed")
        return StorageError(f"{where}: S3 error {code or 'unknown'} (HTTP {status})")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return EndpointError(f"{where}: cannot connect to the S3 endpoint (check AWS_ENDPOINT_URL)")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AccessDeniedError(f"{where}: no usable AWS credentials in the environment or profile")
    return StorageError(f"{where}: {type(exc).__name__} talking to the S3 endpoint")
