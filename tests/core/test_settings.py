"""Profiles live in a JSON file without keys; keys live in the keyring (or the environment, with a warning)."""

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from playment_submit.core.errors import UsageError
from playment_submit.core.settings import (KEYRING_SERVICE, Profile, delete_profile, get_api_key, load_profiles, profiles_path,
                           resolve_connection, save_profiles, set_api_key)


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
