"""``playment-submit submit`` with local files: relative paths, upload first, then the POST.

Runs against the real sandbox server and, for S3, moto's S3 server on 127.0.0.1 (never the internet).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from playment_submit.core.cli import main
from tests.conftest import mask_bytes, png_bytes
from tests.core.test_storage_s3 import s3_endpoint  # noqa: F401  (module-scoped moto server fixture)


def key_of(sandbox):
    """The header that reads the sandbox's files (it serves them only with the key or a signed URL)."""
    return {"x-api-key": sandbox.api_key}


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def job_file(tmp_path, reference_id="cli-1", mask="masks/m.png"):
    """A job file naming local files relative to its own folder, plus the bytes each should have."""
    write(tmp_path / "jobs" / "frames" / "f.png", png_bytes(1))
    write(tmp_path / "jobs" / "frames" / "cam.png", png_bytes(2))
    if mask:
        write(tmp_path / "jobs" / mask, mask_bytes())
    job = tmp_path / "jobs" / "job.json"
    job.write_text(json.dumps({"reference_id": reference_id, "data": {
        "image_url": "frames/f.png",
        "reference_data": {"raster": {"images": [{"image_url": "frames/cam.png", "label": "cam"}]}},
        "maker_response": {"raster": {"data": {"url": "masks/m.png", "legend": {"#ff0000": "cup"}}}}}}))
    return job


@pytest.fixture
def point_at(monkeypatch, tmp_path):
    def point(sandbox):
        monkeypatch.setenv("PLAYMENT_BASE_URL", sandbox.base_url)
        monkeypatch.setenv("PLAYMENT_API_KEY", sandbox.api_key)
        monkeypatch.setenv("PLAYMENT_PROJECT_ID", sandbox.project_id)
        monkeypatch.setenv("PLAYMENT_WORKFLOW_ID", sandbox.workflow_id)
        monkeypatch.chdir(tmp_path)  # not the job's folder: relative paths must follow the job file
    return point


def test_cli_submit_with_local_files_uses_sandbox_storage(sandbox, tmp_path):
    write(tmp_path / "frames" / "f.png", png_bytes(1))
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"reference_id": "cli-local", "data": {"image_url": "frames/f.png"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYMENT_")}
    env.update(PLAYMENT_BASE_URL=sandbox.base_url, PLAYMENT_API_KEY=sandbox.api_key,
               PLAYMENT_PROJECT_ID=sandbox.project_id, PLAYMENT_WORKFLOW_ID=sandbox.workflow_id,
               PLAYMENT_CONFIG_DIR=str(tmp_path / "cfg"), PLAYMENT_DATA_DIR=str(tmp_path / "data"))
    res = subprocess.run([sys.executable, "-m", "playment_submit.core.cli", "submit", str(job), "--json"], cwd="/",
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    url = sandbox.jobs()[0]["payload"]["data"]["image_url"]
    assert requests.get(url, headers=key_of(sandbox), timeout=5).content == png_bytes(1)
    assert (tmp_path / "data" / "journals").is_dir()  # the submission was journalled


def test_in_process_sandbox_default_serves_the_same_bytes(sandbox, point_at, tmp_path, capsys):
    point_at(sandbox)
    job = job_file(tmp_path)
    assert main(["submit", str(job.relative_to(tmp_path)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    stored = sandbox.jobs()[0]
    assert out["job_id"] == stored["job_id"] and out["status"] == "created"
    data = stored["payload"]["data"]
    for url, body in ((data["image_url"], png_bytes(1)),
                      (data["reference_data"]["raster"]["images"][0]["image_url"], png_bytes(2)),
                      (data["maker_response"]["raster"]["data"]["url"], mask_bytes())):
        assert url.startswith(sandbox.base_url + "/files/")
        assert requests.get(url, headers=key_of(sandbox), timeout=5).content == body


def test_missing_local_file_exits_1_naming_it_and_nothing_is_sent(sandbox, point_at, tmp_path, capsys):
    point_at(sandbox)
    job = job_file(tmp_path, mask=None)
    assert main(["submit", str(job)]) == 1
    err = capsys.readouterr().err
    assert "m.png does not exist" in err and "Traceback" not in err
    assert sandbox.job_count() == 0 and sandbox.stats().get("PUT files", 0) == 0


def test_no_storage_refuses_local_paths_with_the_fix(sandbox, point_at, tmp_path, capsys):
    point_at(sandbox)
    assert main(["submit", str(job_file(tmp_path)), "--upload-to", "none"]) == 1
    err = capsys.readouterr().err
    assert "is a local file" in err and "--upload-to" in err
    assert sandbox.job_count() == 0


def test_bad_upload_destination_is_a_usage_error(sandbox, point_at, tmp_path, capsys):
    point_at(sandbox)
    with pytest.raises(SystemExit) as e:  # refused while the options are parsed
        main(["submit", str(job_file(tmp_path)), "--upload-to", "ftp://host/x"])
    assert e.value.code == 2
    assert "argument --upload-to: the destination \"ftp://host/x\" is not s3://bucket/prefix" in capsys.readouterr().err
    assert sandbox.job_count() == 0


def test_upload_to_s3_then_submit(s3_endpoint, sandbox, point_at, tmp_path, capsys):  # noqa: F811
    point_at(sandbox)
    job = job_file(tmp_path)
    argv = ["submit", str(job), "--upload-to", "s3://frames/cli", "--s3-endpoint-url", s3_endpoint, "--json"]
    assert main(argv) == 0, capsys.readouterr().err
    data = sandbox.jobs()[0]["payload"]["data"]
    assert data["image_url"].startswith("s3://frames/cli/") and data["image_url"].endswith("/f.png")
    import boto3
    obj = boto3.client("s3", endpoint_url=s3_endpoint).get_object(Bucket="frames",
                                                                   Key=data["image_url"][len("s3://frames/"):])
    assert obj["Body"].read() == png_bytes(1)
    capsys.readouterr()
    presigned = ["submit", str(job_file(tmp_path, "cli-2")), "--upload-to", "s3://frames/cli",
                 "--s3-endpoint-url", s3_endpoint, "--url-style", "presigned", "--presign-expiry", "900"]
    assert main(presigned) == 0, capsys.readouterr().err
    url = sandbox.jobs()[-1]["payload"]["data"]["maker_response"]["raster"]["data"]["url"]
    assert "X-Amz-Expires=900" in url and requests.get(url, headers=key_of(sandbox), timeout=5).content == mask_bytes()


def test_s3_missing_bucket_exits_1_and_endpoint_down_exits_2(s3_endpoint, sandbox, point_at, tmp_path,  # noqa: F811
                                                            capsys):
    point_at(sandbox)
    job = job_file(tmp_path)
    assert main(["submit", str(job), "--upload-to", "s3://no-such-bucket/x", "--s3-endpoint-url", s3_endpoint]) == 1
    err = capsys.readouterr().err
    assert "no-such-bucket" in err and "does not exist" in err and "Traceback" not in err
    assert main(["submit", str(job), "--upload-to", "s3://frames/x", "--s3-endpoint-url", "http://127.0.0.1:9"]) == 2
    assert "Could not reach the storage endpoint" in capsys.readouterr().err
    assert sandbox.job_count() == 0
