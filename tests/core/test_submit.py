"""submit_job and its journal: a reference the journal holds as created is not sent again."""

from __future__ import annotations

import pytest

from playment_submit.core.client import PlaymentClient
from playment_submit.core.errors import DuplicateReferenceError
from playment_submit.core.job import JobSpec
from playment_submit.core.journal import Journal
from playment_submit.core.pipeline import submit_job


def client_for(sb) -> PlaymentClient:
    return PlaymentClient(sb.base_url, sb.project_id, sb.api_key)


def test_a_second_submit_of_a_created_reference_sends_nothing_and_keeps_the_record(sandbox, tmp_path):
    spec = JobSpec("frame-0001", sandbox.workflow_id, "https://cdn.example.com/frame-0001.png")
    with Journal(tmp_path / "j.sqlite") as journal, client_for(sandbox) as client:
        first = submit_job(spec, client, journal=journal)
        posts = sandbox.stats().get("POST jobs", 0)
        with pytest.raises(DuplicateReferenceError) as e:
            submit_job(spec, client, journal=journal)
        assert sandbox.stats().get("POST jobs", 0) == posts  # refused before any POST
        assert e.value.existing_job_id == first.job_id and e.value.code == "FS_0001"
        assert first.job_id in str(e.value) and '"frame-0001"' in str(e.value) and "not sent again" in str(e.value)
        entry = journal.get("frame-0001")
        assert (entry.state, entry.job_id) == ("created", first.job_id)  # the record of the job survives
    assert sandbox.job_count() == 1


def test_a_job_the_server_no_longer_has_is_created_again(sandbox, make_sandbox, tmp_path):
    spec = JobSpec("frame-0002", sandbox.workflow_id, "https://cdn.example.com/frame-0002.png")
    with Journal(tmp_path / "j.sqlite") as journal:
        with client_for(sandbox) as client:
            old = submit_job(spec, client, journal=journal)
        # A server without that job (as after it was deleted on Playment): GET job says JOB_NOT_FOUND.
        fresh = make_sandbox()
        spec2 = JobSpec("frame-0002", fresh.workflow_id, spec.image_url)
        with client_for(fresh) as client:
            new = submit_job(spec2, client, journal=journal)
        assert new.job_id != old.job_id and fresh.job_count() == 1
        assert journal.get("frame-0002").job_id == new.job_id
