"""Several app hosts on one database share the uploads folder (HOTLINE_UPLOAD_DIR): a file uploaded
through one host downloads through another."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core import config
from core.db import session
from tests.tickets.builders import make_caseworker, make_ticket
from tickets.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def two_hosts(backend, committing_app, tmp_path):
    """Two apps on the backend's database and one uploads folder, each with its own instance folder."""
    from app import create_app

    shared = {"ENV": "testing", "DATABASE_URL": backend["url"], "SECRET_KEY": "test-secret",
              "AUDIT_KEY": committing_app.config["AUDIT_KEY"], "WTF_CSRF_ENABLED": False,
              "UPLOAD_DIR": str(tmp_path / "shared-uploads")}
    hosts = [create_app({**shared, "INSTANCE_PATH": str(tmp_path / name)}) for name in ("host-a", "host-b")]
    yield hosts
    for host in hosts:
        host.extensions["hotline.engine"].dispose()


def _signed_in(host, username: str):
    client = host.test_client()
    assert client.post("/accounts/login", data={"username": username, "password": "Passw0rd!"}).status_code == 302
    return client


def test_an_attachment_uploaded_on_one_host_downloads_on_the_other(two_hosts, tmp_path):
    host_a, host_b = two_hosts
    with host_a.app_context():
        caseworker = make_caseworker()
        owner, ticket_id = caseworker.username, make_ticket("in_progress", owner=caseworker).id
        session.commit()
        session.remove()
    on_a = _signed_in(host_a, owner)
    answer = on_a.post(f"/tickets/{ticket_id}/attachments", data={"file": (io.BytesIO(PNG), "低保证明.png")},
                       content_type="multipart/form-data")
    assert answer.status_code == 302
    with host_b.app_context():
        attachment_id = session.execute(select(Attachment.id).where(Attachment.ticket_id == ticket_id)).scalar_one()
        session.remove()
    download = _signed_in(host_b, owner).get(f"/tickets/attachments/{attachment_id}")
    assert download.status_code == 200 and download.data == PNG
    assert not (tmp_path / "host-a" / "uploads").exists()  # kept in the shared folder, not host A's own


def test_the_uploads_folder_defaults_to_the_instance_and_can_be_moved(tmp_path):
    assert config.upload_dir(config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)}), "tickets") == \
        tmp_path / "uploads" / "tickets"
    moved = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_UPLOAD_DIR": "/mnt/hotline"})
    assert config.upload_dir(moved) == config.Path("/mnt/hotline")
