"""Storage against the real sandbox server: its /files/ over HTTP, NoStorage, and the shared job step.

S3 (against moto's server) is in test_storage_s3.py; the ``submit`` command in test_cli_submit_upload.py.
"""

from __future__ import annotations

import argparse
import logging
import threading
from types import SimpleNamespace

import pytest
import requests

from playment_submit.core import errors as E
from playment_submit.core.client import PlaymentClient
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage
from playment_submit.core.pipeline import resolve_spec, submit_job
from playment_submit.core.settings import Profile
from playment_submit.core.storage import (
    NoStorage,
    SandboxStorage,
    StorageError,
    add_storage_arguments,
    content_key,
    storage_from_args,
    storage_from_settings,
    upload_local_files,
)
from tests.conftest import mask_bytes, png_bytes


def key_of(sandbox):
    """The header that reads the sandbox's files (it serves them only with the key or a signed URL)."""
    return {"x-api-key": sandbox.api_key}


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def local_job(tmp_path, wf):
    prim = write(tmp_path / "frames" / "primary.png", png_bytes(1))
    cam = write(tmp_path / "frames" / "cam1.png", png_bytes(2))
    mask = write(tmp_path / "masks" / "primary.png", mask_bytes())
    spec = JobSpec("local-1", wf, str(prim), [ReferenceImage(str(cam), "camera 1"),
                                              ReferenceImage("https://cdn.example.com/c2.png", "camera 2")],
                   RasterPrelabel(str(mask), {"#ff0000": "cup"}))
    return spec, {str(prim): prim.read_bytes(), str(cam): cam.read_bytes(), str(mask): mask.read_bytes()}


# ------------------------------------------------------------------ sandbox
def test_sandbox_storage_end_to_end(sandbox, tmp_path):
    spec, contents = local_job(tmp_path, sandbox.workflow_id)
    storage = SandboxStorage(sandbox.base_url, sandbox.api_key)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)
    seen = []
    created = submit_job(spec, client, storage=storage, progress=seen.append)
    stored = sandbox.jobs()[0]["payload"]
    data = stored["data"]
    urls = [data["image_url"], data["reference_data"]["raster"]["images"][0]["image_url"],
            data["maker_response"]["raster"]["data"]["url"]]
    for url, original in zip(urls, contents.values(), strict=True):
        assert url.startswith(sandbox.base_url + "/files/uploads/")
        assert requests.get(url, headers=key_of(sandbox), timeout=5).content == original
    assert data["reference_data"]["raster"]["images"][1]["image_url"] == "https://cdn.example.com/c2.png"
    assert created.job_id == sandbox.jobs()[0]["job_id"]
    assert [s["phase"] for s in seen][:2] == ["check", "upload"] and seen[-1]["phase"] == "send"
    assert sandbox.stats()["PUT files"] == 3
    # The same files again: no PUT (content-addressed, HEAD finds them).
    spec.reference_id = "local-2"
    submit_job(spec, client, storage=storage)
    assert sandbox.stats()["PUT files"] == 3 and sandbox.job_count() == 2


def test_missing_local_file_stops_before_any_upload(sandbox, tmp_path):
    spec, _ = local_job(tmp_path, sandbox.workflow_id)
    (tmp_path / "masks" / "primary.png").unlink()
    with pytest.raises(StorageError) as info:
        upload_local_files(spec, SandboxStorage(sandbox.base_url, sandbox.api_key))
    assert "masks/primary.png does not exist" in str(info.value)
    assert sandbox.stats().get("PUT files", 0) == 0


def test_no_storage_refuses_local_paths_with_a_sentence(tmp_path):
    spec, _ = local_job(tmp_path, "2aae1234-acac-1234-eeff-12a22a237bbc")
    with pytest.raises(StorageError) as info:
        upload_local_files(spec, NoStorage())
    assert "no storage is configured" in str(info.value) and "--upload-to" in str(info.value)


def test_content_key_is_hash_plus_name(tmp_path):
    a = write(tmp_path / "a" / "img.png", b"same")
    b = write(tmp_path / "b" / "img.png", b"same")
    c = write(tmp_path / "c" / "img.png", b"other")
    assert content_key(a, "p") == content_key(b, "p")
    assert content_key(a, "p").endswith("/img.png") and content_key(a, "p").startswith("p/")
    assert content_key(a) != content_key(c)


def test_progress_counts_bytes_across_all_files_and_destination_matches_url(sandbox, tmp_path):
    spec, contents = local_job(tmp_path, sandbox.workflow_id)
    storage = SandboxStorage(sandbox.base_url, sandbox.api_key)
    planned = {p: storage.destination(p) for p in spec.local_paths()}
    seen = []
    out = upload_local_files(spec, storage, progress=lambda done, total: seen.append((done, total)))
    total = sum(len(b) for b in contents.values())
    assert seen[-1] == (total, total) and all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert out.image_url == planned[spec.image_url]
    assert out.prelabel.url == planned[spec.prelabel.url]
    assert spec.image_url.startswith(str(tmp_path))  # the original is untouched: a copy comes back
    assert out.local_paths() == []


def test_cancel_stops_before_the_next_file(sandbox, tmp_path):
    spec, _ = local_job(tmp_path, sandbox.workflow_id)
    cancel = threading.Event()
    storage = SandboxStorage(sandbox.base_url, sandbox.api_key)
    client = PlaymentClient(sandbox.base_url, sandbox.project_id, sandbox.api_key)

    def progress(event):
        if event["phase"] == "upload" and event["done"] > 0:
            cancel.set()

    with pytest.raises(E.PlaymentError) as info:
        submit_job(spec, client, storage=storage, progress=progress, cancel=cancel)
    assert "cancelled" in str(info.value).lower()
    # The first file's PUT is cut short (whether the server counted it is a race); the others never start.
    assert sandbox.stats().get("PUT files", 0) <= 1 and sandbox.job_count() == 0
    for later in spec.local_paths()[1:]:
        assert requests.head(storage.destination(later), headers=key_of(sandbox), timeout=5).status_code == 404


def test_wrong_key_and_stopped_sandbox_are_sentences(sandbox, make_sandbox, tmp_path):
    f = write(tmp_path / "a.png", b"abc")
    with pytest.raises(StorageError) as info:
        SandboxStorage(sandbox.base_url, "wrong-key").put(f)
    assert "a.png" in str(info.value) and "API key" in str(info.value) and "wrong-key" not in str(info.value)
    other = make_sandbox()
    url = other.base_url
    other.stop()
    with pytest.raises(E.ConnectionFailedError) as info:
        SandboxStorage(url, "k").put(f)
    assert "a.png" in str(info.value) and "is it running" in str(info.value)
    with pytest.raises(E.UsageError):
        SandboxStorage("https://api.playment.io", "k")


def test_storage_from_settings_kinds(sandbox):
    assert isinstance(storage_from_settings({}), NoStorage)
    assert isinstance(storage_from_settings(None, sandbox_base_url=sandbox.base_url, api_key="k"), SandboxStorage)
    sb = storage_from_settings({"kind": "sandbox"}, sandbox_base_url=sandbox.base_url, api_key=sandbox.api_key)
    assert sb.describe() == f"Sandbox storage ({sandbox.base_url}/files/)"
    assert sandbox.api_key not in repr(sb) + sb.describe()
    assert "No storage" in NoStorage().describe()
    with pytest.raises(E.UsageError) as info:
        storage_from_settings({"kind": "sandbox"})
    assert "sandbox" in str(info.value)
    with pytest.raises(E.UsageError) as info:
        storage_from_settings({"kind": "ftp"})
    assert "ftp" in str(info.value)


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_storage_arguments(parser)
    return parser.parse_args(list(argv))


def test_storage_from_args_order(sandbox):
    local = SimpleNamespace(base_url=sandbox.base_url, api_key=sandbox.api_key, profile=Profile(name="p"))
    remote = SimpleNamespace(base_url="https://api.playment.io", api_key="k", profile=Profile(name="p"))
    assert isinstance(storage_from_args(_args(), local), SandboxStorage)  # sandbox mode: its storage
    assert isinstance(storage_from_args(_args(), remote), NoStorage)
    assert isinstance(storage_from_args(_args("--upload-to", "none"), local), NoStorage)
    assert isinstance(storage_from_args(_args("--upload-to", "sandbox"), local), SandboxStorage)
    local.profile.storage = {"kind": "none"}
    assert isinstance(storage_from_args(_args(), local), NoStorage)  # the profile beats the default
    for bad in ("ftp://x/y", "s3://", "s3://Bad_Bucket/p"):
        with pytest.raises(SystemExit) as stop:  # refused while the options are parsed ...
            _args("--upload-to", bad)
        assert stop.value.code == 2
        parsed = _args()
        parsed.upload_to = bad  # ... and by storage_from_args for arguments built another way
        with pytest.raises(E.UsageError) as info:
            storage_from_args(parsed, remote)
        assert "--upload-to" in str(info.value)
    with pytest.raises(E.UsageError) as info:
        storage_from_args(_args("--s3-endpoint-url", "http://127.0.0.1:9000"), remote)
    assert "--s3-endpoint-url only applies to S3 storage" in str(info.value)
    with pytest.raises(E.UsageError) as info:
        storage_from_args(_args("--upload-to", "sandbox"), remote)  # sandbox storage is local only
    assert "local sandbox" in str(info.value)
    assert isinstance(storage_from_args(_args("--upload-to", "none"), remote), NoStorage)


def test_relative_paths_resolve_against_the_job_folder(tmp_path):
    spec = JobSpec("r", "wf", "frames/a.png", [ReferenceImage("https://x.example.com/b.png", "b")],
                   RasterPrelabel("../m.png", {"#ff0000": "cup"}))
    out = resolve_spec(spec, tmp_path / "jobs")
    assert out.image_url == str(tmp_path / "jobs" / "frames" / "a.png")
    assert out.prelabel.url == str(tmp_path / "m.png")
    assert out.references[0].image_url == "https://x.example.com/b.png"


def test_sandbox_upload_logs_hold_no_api_key(sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    SandboxStorage(sandbox.base_url, sandbox.api_key).put(write(tmp_path / "s.png", b"sandbox-log-test"))
    assert any("urllib3" in r.name for r in caplog.records)  # debug logging really was on
    assert sandbox.api_key not in caplog.text
