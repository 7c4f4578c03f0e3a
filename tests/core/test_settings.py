"""Profiles live in a JSON file without keys; keys live in the keyring (or the environment, with a warning)."""

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from playment_submit.core.errors import UsageError, ValidationError
from playment_submit.core.settings import (
    DEFAULT_BASE_URL,
    KEYRING_SERVICE,
    Profile,
    delete_profile,
    get_api_key,
    load_profiles,
    merged_profile,
    profiles_path,
    resolve_connection,
    save_profiles,
    set_api_key,
)

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"
BATCH_PROFILE, BATCH_ENV, BATCH_OPTION = ("11111111-1111-4111-8111-111111111111",
                                          "22222222-2222-4222-8222-222222222222",
                                          "33333333-3333-4333-8333-333333333333")


class NoKeyring(KeyringBackend):
    """What a headless box without a secret service gives: every call fails."""

    priority = 1

    def get_password(self, service, username):
        raise KeyringError("no backend")

    def set_password(self, service, username, password):
        raise KeyringError("no backend")

    def delete_password(self, service, username):
        raise KeyringError("no backend")


def test_profiles_round_trip_and_the_key_never_reaches_the_file(memory_keyring):
    save_profiles({"prod": Profile("prod", "https://api.example.com", "p1", "wf1", storage={"kind": "s3",
                                   "bucket": "b"}, batches={"week 1": "b-1"})}, current="prod")
    set_api_key("prod", "secret-key-123")
    profiles, current = load_profiles()
    assert current == "prod"
    assert profiles["prod"] == Profile("prod", "https://api.example.com", "p1", "wf1",
                                       storage={"kind": "s3", "bucket": "b"}, batches={"week 1": "b-1"})
    assert "secret-key-123" not in profiles_path().read_text()
    assert get_api_key("prod", env={}) == ("secret-key-123", "keyring", None)
    conn = resolve_connection(env={})
    assert conn.api_key == "secret-key-123" and "secret-key-123" not in repr(conn)


def test_a_broken_profiles_file_is_a_sentence_naming_it(memory_keyring):
    profiles_path().parent.mkdir(parents=True)
    profiles_path().write_text("{not json")
    with pytest.raises(UsageError) as e:
        load_profiles()
    assert str(profiles_path()) in str(e.value) and "fix or delete it" in str(e.value)


def test_a_key_written_into_the_profiles_file_is_refused(memory_keyring):
    profiles_path().parent.mkdir(parents=True)
    profiles_path().write_text(json.dumps({"profiles": {"prod": {"api_key": "oops"}}}))
    with pytest.raises(UsageError, match="keyring") as e:
        load_profiles()
    assert "oops" not in str(e.value)


def test_without_a_keyring_the_key_comes_from_the_environment_with_a_warning():
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        key, source, warning = get_api_key("prod", env={"PLAYMENT_API_KEY": "env-key"})
        assert (key, source) == ("env-key", "environment") and "PLAYMENT_API_KEY" in warning
        with pytest.raises(UsageError, match="PLAYMENT_API_KEY"):
            set_api_key("prod", "k")
    finally:
        keyring.set_keyring(previous)


def test_delete_profile_forgets_it_and_its_key_but_keeps_the_others(memory_keyring):
    save_profiles({"prod": Profile("prod", project_id="p1"), "staging": Profile("staging", project_id="p2")},
                  current="prod")
    set_api_key("prod", "k-prod")
    set_api_key("staging", "k-staging")
    delete_profile("prod")
    profiles, current = load_profiles()
    assert set(profiles) == {"staging"} and current is None
    assert (KEYRING_SERVICE, "prod") not in memory_keyring.store
    assert memory_keyring.store[(KEYRING_SERVICE, "staging")] == "k-staging"
    with pytest.raises(UsageError, match='no saved profile named "prod"'):
        delete_profile("prod")


# ------------------------------------------------------------ default batch
def test_default_batch_id_is_option_then_environment_then_profile(memory_keyring):
    save_profiles({"prod": Profile("prod", project_id="p1", default_batch_id=BATCH_PROFILE)}, current="prod")
    env = {"PLAYMENT_DEFAULT_BATCH_ID": BATCH_ENV}
    assert resolve_connection(env={}).default_batch_id == BATCH_PROFILE
    assert resolve_connection(env=env).default_batch_id == BATCH_ENV
    assert resolve_connection(default_batch_id=BATCH_OPTION, env=env).default_batch_id == BATCH_OPTION
    # An empty variable is unset, as for the other PLAYMENT_* settings.
    assert resolve_connection(env={"PLAYMENT_DEFAULT_BATCH_ID": ""}).default_batch_id == BATCH_PROFILE
    # The profile itself is not changed by the override.
    assert resolve_connection(env=env).profile.default_batch_id == BATCH_PROFILE


def test_default_batch_id_from_the_process_environment_without_a_profile(memory_keyring, monkeypatch):
    monkeypatch.delenv("PLAYMENT_DEFAULT_BATCH_ID", raising=False)
    assert resolve_connection().default_batch_id is None
    monkeypatch.setenv("PLAYMENT_DEFAULT_BATCH_ID", BATCH_ENV)
    assert resolve_connection().default_batch_id == BATCH_ENV


# --------------------------------------------------------------- the merge
def saved_prod() -> Profile:
    return Profile("prod", "https://old.example.com", "p-old", WF, default_batch_id=BATCH_PROFILE,
                   storage={"kind": "s3", "bucket": "b", "prefix": "x/"}, batches={"week 1": "b-1"},
                   known_default_batches={"https://old.example.com p-old": "b-default"})


def test_merge_takes_the_form_fields_and_keeps_what_the_form_does_not_edit():
    saved = saved_prod()
    before = saved.to_dict()
    merged = merged_profile(saved, name=" prod ", base_url=" https://api.example.com ", project_id=" p-new ",
                            workflow_id=f" {WF} ", storage={"kind": "none"})
    assert merged == Profile("prod", "https://api.example.com", "p-new", WF, default_batch_id=BATCH_PROFILE,
                             storage={"kind": "none"}, batches={"week 1": "b-1"},
                             known_default_batches={"https://old.example.com p-old": "b-default"})
    assert saved.to_dict() == before  # pure: the saved profile is untouched
    merged.batches["week 2"] = "b-2"
    assert saved.batches == {"week 1": "b-1"}  # and shares nothing with the result


def test_merge_without_storage_keeps_the_saved_storage():
    merged = merged_profile(saved_prod(), name="prod", base_url="https://api.example.com", project_id="p",
                            workflow_id=WF)
    assert merged.storage == {"kind": "s3", "bucket": "b", "prefix": "x/"}


def test_merge_of_a_new_profile_and_blank_fields():
    merged = merged_profile(None, name="  ", base_url="", project_id="", workflow_id="",
                            storage={"kind": "sandbox"})
    assert merged == Profile("default", DEFAULT_BASE_URL, "", "", storage={"kind": "sandbox"})


@pytest.mark.parametrize("workflow_id", ["wf-prod", "2aae1234acac1234eeff12a22a237bbc",
                                         "2aae1234-acac-1234-eeff-12a22a237bbcX"])
def test_merge_refuses_a_workflow_id_that_is_not_a_uuid_in_a_sentence(workflow_id):
    with pytest.raises(ValidationError) as e:
        merged_profile(saved_prod(), name="prod", base_url="https://api.example.com", project_id="p",
                       workflow_id=workflow_id)
    assert [p.path for p in e.value.problems] == ["workflow_id"]
    message = str(e.value)
    assert message.startswith('Profile "prod" was not saved. The workflow ID') and message.endswith(".")
    assert f'"{workflow_id}" is not a UUID' in message and "workflow page" in message


@pytest.mark.parametrize("base_url", ["api.playment.io", "ftp://api.playment.io", "https://"])
def test_merge_refuses_a_base_url_that_is_not_a_web_address(base_url):
    with pytest.raises(ValidationError) as e:
        merged_profile(None, name="prod", base_url=base_url, project_id="p", workflow_id=WF)
    assert [p.path for p in e.value.problems] == ["base_url"]
    assert f'"{base_url}" is not an http(s) URL' in str(e.value) and DEFAULT_BASE_URL in str(e.value)


def test_merge_lists_every_problem_at_once():
    with pytest.raises(ValidationError) as e:
        merged_profile(None, name="prod", base_url="nope", project_id="p", workflow_id="nope")
    assert [p.path for p in e.value.problems] == ["base_url", "workflow_id"]
    assert "base URL" in str(e.value) and "workflow ID" in str(e.value)


def test_merge_accepts_a_loopback_http_address():
    merged = merged_profile(None, name="local", base_url="http://127.0.0.1:8765", project_id="p", workflow_id=WF)
    assert merged.base_url == "http://127.0.0.1:8765"



@pytest.mark.parametrize(("base_url", "words"), [
    ("https://bob:hunter2-secret@api.example.com", "holds a user name or password"),
    ("http://localhost:99999", "port that is not a number from 1 to 65535"),
    ("https://api.example.com:0", "port 0"),
    ("http://api.example.com", "uses plain http"),
])
def test_merge_refuses_a_base_url_the_client_would_refuse_without_echoing_a_password(base_url, words):
    with pytest.raises(ValidationError) as e:
        merged_profile(None, name="prod", base_url=base_url, project_id="p", workflow_id=WF)
    assert [p.path for p in e.value.problems] == ["base_url"]
    assert words in str(e.value) and "hunter2-secret" not in str(e.value)
    assert all("hunter2-secret" not in p.message for p in e.value.problems)


@pytest.mark.parametrize("stored", ["ftp://api.example.com", "https://u:stored-pw@api.example.com", 5, ["x"]])
def test_a_bad_stored_base_url_resolves_and_the_client_refuses_it_with_a_sentence(memory_keyring, stored):
    from playment_submit.core.client import PlaymentClient
    profiles_path().parent.mkdir(parents=True, exist_ok=True)
    profiles_path().write_text(json.dumps({"current": "prod", "profiles": {"prod": {"base_url": stored}}}))
    conn = resolve_connection()  # no crash: the connection is what the file says
    assert isinstance(conn.base_url, str)
    with pytest.raises(UsageError) as e:
        PlaymentClient(conn.base_url, "p", "k")
    assert "base URL" in str(e.value) and "stored-pw" not in str(e.value)


def test_a_profiles_file_the_parser_cannot_hold_is_a_sentence(memory_keyring):
    profiles_path().parent.mkdir(parents=True, exist_ok=True)
    profiles_path().write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UsageError) as e:
        load_profiles()
    assert str(profiles_path()) in str(e.value) and "levels deep" in str(e.value)
    profiles_path().write_text(json.dumps({"profiles": {"prod": {"storage": "s3"}}}))
    with pytest.raises(UsageError) as e:
        load_profiles()
    assert '"storage" must be an object' in str(e.value)
