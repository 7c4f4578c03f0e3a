"""Issue 21 item 10: non-regular files given as job files, manifests or masks are refused as "not a regular file"."""

from __future__ import annotations

import os

import pytest

from playment_submit.core.errors import UsageError
from playment_submit.core.jsonio import read_json_file
from playment_submit.core.localfile import regular_file_problem

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX device and /proc paths")


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/proc/self/environ"])
def test_devices_and_proc_files_are_not_regular_files(path):
    said = regular_file_problem(path, "job file")
    assert said is not None and "not a regular file" in said and path in said


def test_ordinary_files_folders_and_missing_paths_are_left_to_the_caller(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("{}", encoding="utf-8")
    assert regular_file_problem(f) is None
    assert regular_file_problem(tmp_path) is None
    assert regular_file_problem(tmp_path / "missing") is None


def test_a_fifo_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    said = regular_file_problem(fifo, "manifest")
    assert said is not None and "not a regular file" in said


@pytest.mark.parametrize("path", ["/dev/zero", "/proc/self/environ"])
def test_a_job_file_that_is_a_device_is_refused_with_a_sentence(path):
    with pytest.raises(UsageError, match="not a regular file"):
        read_json_file(path)


@pytest.mark.parametrize("path", ["/dev/zero", "/proc/self/environ"])
def test_a_manifest_that_is_a_device_is_refused_with_a_sentence(path):
    from playment_submit.core.manifest import read_csv, read_jsonl

    for read in (read_csv, read_jsonl):
        with pytest.raises(UsageError, match="not a regular file"):
            read(path)


@pytest.mark.parametrize("path", ["/dev/zero", "/proc/self/environ"])
def test_a_mask_image_or_classes_file_that_is_a_device_is_refused(path):
    from playment_submit.core.mask.formats import read_text
    from playment_submit.core.mask.io import probe_image

    with pytest.raises(UsageError, match="not a regular file"):
        read_text(path, "classes file")
    with pytest.raises(Exception, match="not a regular file"):
        probe_image(path)
