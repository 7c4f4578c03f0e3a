"""The window's backend: connection, client, embedded sandbox, storage and journal, in one plain object.

Passed into the MainWindow (dangerzone's pattern) so tests hand in one wired to a test sandbox. No Qt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from playment_submit.core.client import PlaymentClient
from playment_submit.core.journal import Journal, default_journal_path
from playment_submit.core.sandbox import SandboxServer
from playment_submit.core.settings import Connection, Profile, get_api_key, load_profiles, resolve_connection, save_profiles
from playment_submit.core.storage import Storage, storage_from_settings

log = logging.getLogger(__name__)


@dataclass
class Backend:
    base_url: str
    project_id: str
    workflow_id: str
    api_key: str | None
    profile: Profile = field(default_factory=Profile)
    sandbox: SandboxServer | None = None
    default_batch_id: str | None = None
    key_warning: str | None = None
    journal: Journal | None = None
    storage: Storage | None = None
    _client: PlaymentClient | None = field(default=None, repr=False)
    _old_journals: list[Journal] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:  # never the key
        return f"Backend(base_url={self.base_url!r}, project_id={self.project_id!r}, sandbox={self.sandbox_mode})"

    @property
    def sandbox_mode(self) -> bool:
        """Jobs go to the embedded sandbox (not merely: a sandbox is running; the Connection tab may have
        pointed the window at a real server since)."""
        return self.sandbox is not None and self.base_url.rstrip("/") == self.sandbox.base_url.rstrip("/")

    @property
    def connection(self) -> Connection:
        return Connection(self.base_url, self.project_id, self.workflow_id, self.api_key,
                          "sandbox" if self.sandbox_mode else "profile", self.default_batch_id, self.profile)

    @classmethod
    def for_sandbox(cls, sandbox: SandboxServer, *, journal: Journal | None = None) -> "Backend":
        b = cls(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key,
                profile=Profile(name="sandbox", base_url=sandbox.base_url, project_id=sandbox.project_id,
                                workflow_id=sandbox.workflow_id, default_batch_id=sandbox.default_batch_id,
                                storage={"kind": "sandbox"}),
                sandbox=sandbox, default_batch_id=sandbox.default_batch_id)
        # "is not None": a Journal with no rows is falsy (it has a length).
        b.journal = journal if journal is not None else Journal(default_journal_path("sandbox"))
        b.storage = storage_from_settings({"kind": "sandbox"}, sandbox_base_url=sandbox.base_url,
                                          api_key=sandbox.api_key)
        return b

    @classmethod
    def from_settings(cls, *, force_sandbox: bool = False) -> "Backend":
        """The configured profile, or an embedded sandbox when no API key is configured (or asked for)."""
        conn = resolve_connection()
        if force_sandbox or not conn.api_key:
            sb = SandboxServer().start()
            b = cls.for_sandbox(sb)
            b.key_warning = None if force_sandbox else (conn.warnings[0] if conn.warnings else None)
            return b
        b = cls(conn.base_url, conn.project_id, conn.workflow_id, conn.api_key, profile=conn.profile,
                default_batch_id=conn.default_batch_id, key_warning=conn.warnings[0] if conn.warnings else None)
        b.journal = Journal(default_journal_path(conn.profile.name))
        b.storage = storage_from_settings(conn.profile.storage)
        return b

    def apply_connection(self, base_url: str, project_id: str, workflow_id: str, api_key: str | None) -> None:
        """New connection settings from the Connection panel; the next request uses them."""
        self.base_url, self.project_id, self.workflow_id = base_url, project_id, workflow_id
        if api_key is not None:
            self.api_key = api_key
        if self._client is not None:
            self._client.close()
            self._client = None

    def remember_batch(self, name: str, batch_id: str) -> None:
        """Keep a batch made from the app in the profile, so it can be picked next time (the API has no
        endpoint that lists a project's batches). Sandbox batches die with the sandbox: not saved."""
        self.profile.batches[name] = batch_id
        if self.sandbox_mode:
            return
        profiles, current = load_profiles()
        if self.profile.name in profiles:
            profiles[self.profile.name].batches[name] = batch_id
            save_profiles(profiles, current)

    def use_profile(self, profile: Profile) -> None:
        """The Connection tab switched to another saved profile: its journal (history, duplicate checks)
        from now on. The previous journal stays open until close(): a submission may still be using it."""
        if profile.name == self.profile.name:
            self.profile = profile
            return
        self.profile = profile
        self.default_batch_id = profile.default_batch_id or None
        if self.journal is not None:
            self._old_journals.append(self.journal)
        self.journal = Journal(default_journal_path(profile.name))

    def apply_storage(self, settings: dict) -> None:
        """Storage from the profile's settings; raises a core error (kept storage) when unusable."""
        self.storage = storage_from_settings(settings, sandbox_base_url=self.base_url if self.sandbox_mode else None,
                                             api_key=self.api_key)
        self.profile.storage = dict(settings)

    @property
    def client(self) -> PlaymentClient:
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def make_client(self, pool_size: int = 4) -> PlaymentClient:
        return PlaymentClient(self.base_url, self.project_id, self.api_key or "", pool_size=pool_size,
                              default_batch_id=self.default_batch_id)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        for journal in [*self._old_journals, self.journal]:
            if journal is not None:
                journal.close()
        self._old_journals.clear()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


def current_key_source(profile: str) -> tuple[str, str | None]:
    _, source, warning = get_api_key(profile)
    return source, warning
