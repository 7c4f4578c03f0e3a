"""One session: profile, connection, client, storage, journal and default batch, in one plain object.

The window and every command line subcommand build a :class:`Session` and go through it: the window gets
one passed in (dangerzone's pattern; tests hand in one wired to a test sandbox), the command line builds
one from its options (:meth:`Session.from_options`). Jobs enter through :meth:`check` and :meth:`submit`,
which are :mod:`core.pipeline`'s, so the same job gets the same verdict wherever it comes from. No Qt.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pipeline
from .client import DEFAULT_TIMEOUT, ConnectionReport, CreatedJob, PlaymentClient, ProjectDetails, check_base_url
from .errors import PlaymentError, Problem, UsageError
from .job import JobSpec
from .journal import Journal, default_journal_path
from .retry import RetryPolicy
from .sandbox import SandboxServer, open_embedded_sandbox
from .settings import (
    SANDBOX_PROFILE,
    Connection,
    Profile,
    cache_default_batch,
    load_profiles,
    resolve_connection,
    save_profiles,
)
from .storage import NoStorage, Storage, storage_for_api, storage_from_settings, storage_mispaired

log = logging.getLogger(__name__)


@dataclass
class Session:
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
    storage_problem: str | None = None  # the profile's storage cannot be used as saved (said, never raised at start)
    notice: str | None = None  # how the session was opened when the saved settings could not be read (said at start)
    pool_size: int = 4
    timeout: float | None = None  # seconds per request, connect to last byte; None: the policy's (30 s)
    retry: RetryPolicy = field(default_factory=RetryPolicy)  # every retry, wait and limit number (core.retry)
    _client: PlaymentClient | None = field(default=None, repr=False)
    _old_journals: list[Journal] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:  # never the key
        return f"Session(base_url={self.base_url!r}, project_id={self.project_id!r}, sandbox={self.sandbox_mode})"

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
    def for_sandbox(cls, sandbox: SandboxServer, *, journal: Journal | None = None) -> Session:
        b = cls(sandbox.base_url, sandbox.project_id, sandbox.workflow_id, sandbox.api_key,
                profile=Profile(name="sandbox", base_url=sandbox.base_url, project_id=sandbox.project_id,
                                workflow_id=sandbox.workflow_id, default_batch_id=sandbox.default_batch_id,
                                storage={"kind": "sandbox"}),
                sandbox=sandbox, default_batch_id=sandbox.default_batch_id)
        b.journal = journal if journal is not None else Journal(default_journal_path("sandbox"))
        b.storage = storage_from_settings({"kind": "sandbox"}, sandbox_base_url=sandbox.base_url,
                                          api_key=sandbox.api_key)
        return b

    @classmethod
    def from_settings(cls, *, force_sandbox: bool = False) -> Session:
        """The configured profile, or an embedded sandbox when no API key is configured (or asked for)."""
        try:
            conn = resolve_connection()
            _, current = load_profiles()
        except PlaymentError as e:  # e.g. a broken profiles.json: the window opens on the sandbox and says why
            b = embedded_sandbox_session(fresh=force_sandbox)
            b.notice = f"{e} The window opened on the sandbox meanwhile."
            return b
        # The profile in use persists: a saved profile chosen last time opens again even without a key (the
        # check then says no key is set, and where to set it); the sandbox only when it was the one in use,
        # when asked for, or on a first start with nothing configured.
        if force_sandbox or current == SANDBOX_PROFILE or (current is None and not conn.api_key):
            b = embedded_sandbox_session(fresh=force_sandbox)
            b.key_warning = None if force_sandbox else (conn.warnings[0] if conn.warnings else None)
            return b
        b = cls(conn.base_url, conn.project_id, conn.workflow_id, conn.api_key, profile=conn.profile,
                default_batch_id=conn.default_batch_id, key_warning=conn.warnings[0] if conn.warnings else None)
        b.journal = Journal(default_journal_path(conn.profile.name))
        b.use_profile_storage()
        return b

    def apply_connection(self, base_url: str, project_id: str, workflow_id: str, api_key: str | None) -> None:
        """New connection settings from the Connection panel; the next request uses them."""
        self.base_url, self.project_id, self.workflow_id = base_url, project_id, workflow_id
        if api_key is not None:
            self.api_key = api_key
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.storage_problem is not None or storage_mispaired(self.storage, self.base_url) is not None:
            self.use_profile_storage()  # sandbox storage is the new URL's own, or refused with a sentence

    def use_profile_storage(self) -> None:
        """The profile's storage for this session's base URL, never raising: storage that cannot be used as
        saved (sandbox storage for a server that is no sandbox, a bad S3 setting) becomes no storage and
        :attr:`storage_problem` says why; every check and submit then refuses with that sentence."""
        try:
            self.storage = storage_for_api(self.profile.storage, self.base_url, self.api_key)
            self.storage_problem = None
        except PlaymentError as e:
            self.storage, self.storage_problem = NoStorage(), str(e)

    def base_url_problem(self) -> str | None:
        """Why the base URL cannot be used (not http(s), credentials in it, plain http elsewhere), or None."""
        try:
            check_base_url(self.base_url)
        except PlaymentError as e:
            return str(e)
        return None

    def start_notices(self) -> list[str]:
        """Sentences to show when the window opens: how the session was opened (:attr:`notice`), the key's
        warning, the sandbox's own notices (a kept sandbox that could not be reopened, a pruned store), why the
        base URL and the storage cannot be used, and a missing key. Each once, in that order."""
        no_key = None if self.sandbox_mode else self.missing_key()
        said = [self.notice, self.key_warning, *(self.sandbox.notices if self.sandbox is not None else []),
                self.base_url_problem(), self.storage_refusal(), no_key.message if no_key is not None else None]
        return list(dict.fromkeys(t for t in said if t))

    def storage_refusal(self) -> str | None:
        """Why nothing may be uploaded or sent with this session's storage, or None: storage unusable as
        saved, or sandbox storage that is not this API's own."""
        return self.storage_problem or storage_mispaired(self.storage, self.base_url)

    def remember_batch(self, name: str, batch_id: str) -> None:
        """Keep a batch made from the app in the profile, so it is offered at once next time, before (or
        without) the project's ``/details`` listing. Sandbox batches die with the sandbox: not saved."""
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

    def choose_storage(self, settings: dict[str, Any]) -> str | None:
        """The Connection tab chose storage ``settings`` for the profile: they are the profile's from now on;
        when they cannot be used with this base URL (sandbox storage for another server, S3 without boto3 or
        a bucket) the session has no storage and every check and submit refuses with the sentence returned
        (never the previous storage, which may be a server the jobs' host cannot read). None: in use."""
        self.profile.storage = dict(settings)
        self.use_profile_storage()
        return self.storage_refusal()

    @property
    def client(self) -> PlaymentClient:
        if self._client is None:
            self._client = self.make_client(self.pool_size)
        return self._client

    def preview_client(self) -> PlaymentClient | None:
        """The client that fetches previews of files on the API's own host (the sandbox's ``/files/``), or
        None while there is no key or no usable base URL (previews are then fetched without it)."""
        if not self.api_key:
            return None
        try:
            return self.client
        except PlaymentError:
            return None

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy every request of this session follows (``retry`` with the session's ``timeout``):
        the client, its signed-URL fetcher and the connection test all get it from here."""
        return self.retry if self.timeout is None else self.retry.with_timeout(self.timeout)

    def make_client(self, pool_size: int = 4) -> PlaymentClient:
        return PlaymentClient(self.base_url, self.project_id, self.api_key or "", pool_size=pool_size,
                              default_batch_id=self.default_batch_id, retry=self.policy,
                              on_default_batch=self._remember_default_batch)

    def test_connection(self, base_url: str, project_id: str, api_key: str) -> ConnectionReport:
        """Key rejected / project unknown / reachable for settings not applied yet (the Connection tab's
        test), with the session's policy made quick (:meth:`RetryPolicy.for_probe`). Raises the client's
        typed errors for settings it cannot use (a worker shows their sentence)."""
        with PlaymentClient(base_url, project_id, api_key, retry=self.policy.for_probe()) as client:
            return client.test_connection()

    def _remember_default_batch(self, batch_id: str) -> None:
        """Playment's /details named the default batch (none was configured): use it from now on and keep it
        in the saved profile, so an interrupted send is reconciled without any flag next time too."""
        self.default_batch_id = batch_id
        if not self.sandbox_mode:
            cache_default_batch(self.profile.name, self.base_url, self.project_id, batch_id)

    def project_details(self) -> ProjectDetails:
        """Every batch of the project (made here or elsewhere) with its counts; names the default batch.
        Raises the client's typed errors (a worker shows their sentence)."""
        return self.client.get_project_details()

    # ------------------------------------------------------------------ the one way in
    @property
    def can_upload(self) -> bool:
        """Local files may stand where URLs go: storage will upload them first."""
        return pipeline.uploads(self.storage)

    def resolve(self, spec: JobSpec, base_dir: str | Path = ".") -> JobSpec:
        """Local paths made absolute, relative to ``base_dir`` (the job file's or manifest's folder)."""
        return pipeline.resolve_spec(spec, base_dir)

    def missing_key(self) -> Problem | None:
        """No API key is set for the profile in use: said before anything is sent, never as the server's
        "rejected the API key"."""
        if self.api_key:
            return None
        return Problem("", f"No API key is set for the profile \"{self.profile.name}\": enter it in the "
                           f"Connection tab and press \"Save and use\" (or set PLAYMENT_API_KEY).",
                       code="NO_API_KEY")

    def check(self, spec: JobSpec, *, ask_server: bool = False) -> pipeline.Verdict:
        """Every problem with a resolved job, as the submit would find it (file checks are cached).
        ``ask_server``: confirm a journal duplicate with the server (a job deleted there may be re-created)."""
        no_key = self.missing_key()
        verdict = pipeline.check_job(spec, storage=self.storage, journal=self.journal,
                                     client=self.client if ask_server and no_key is None else None)
        if no_key is not None:
            verdict.problems.append(no_key)
        refusal = self.storage_refusal()
        if refusal is not None:
            verdict.problems.append(Problem("", refusal, code="STORAGE_UNUSABLE"))
        return verdict

    def submit(self, spec: JobSpec, *, progress: pipeline.Progress | None = None,
               cancel: threading.Event | None = None) -> CreatedJob:
        """Check, upload, create and journal a resolved job (see :func:`core.pipeline.submit_job`)."""
        no_key = self.missing_key()
        if no_key is not None:
            raise UsageError(no_key.message)
        refusal = self.storage_refusal()
        if refusal is not None:
            raise UsageError(refusal)
        return pipeline.submit_job(spec, self.client, storage=self.storage, journal=self.journal,
                                   progress=progress, cancel=cancel)

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


# ------------------------------------------------------------------ the window's embedded sandbox
def embedded_sandbox_session(*, fresh: bool = False) -> Session:
    """A session on the window's embedded sandbox. By default the kept one (``core.sandbox.open_embedded_
    sandbox``: its jobs and files survive a restart, in the app's data folder) with the sandbox profile's
    journal; ``fresh`` (``--sandbox``): a throw-away sandbox with a fresh journal of its own, both gone when
    the session closes."""
    if fresh:
        sb = SandboxServer().start()
        return Session.for_sandbox(sb, journal=Journal(sb.scratch_dir / "journal.sqlite"))
    return Session.for_sandbox(open_embedded_sandbox())


# ------------------------------------------------------------------ the command line's session
def from_options(*, profile: str | None = None, base_url: str | None = None, project_id: str | None = None,
                 workflow_id: str | None = None, default_batch_id: str | None = None, journal: str | Path | None = None,
                 storage_args: Any = None, need_key: bool = True, pool_size: int = 4,
                 with_journal: bool = True, warn: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Session:
    """A session for a command: options > environment > profile. ``storage_args`` (an argparse namespace
    with the ``--upload-to`` options) chooses storage; ``journal`` is a file (default: the profile's).
    ``need_key``: no API key is a usage error that says how to get one. ``timeout``: seconds per request
    for the session's client (which refuses values outside 0..MAX_TIMEOUT). ``warn(text)`` is told about
    warnings (a missing keyring)."""
    conn = resolve_connection(profile, base_url=base_url, project_id=project_id, workflow_id=workflow_id)
    if need_key and not conn.api_key:
        for w in conn.warnings:  # only worth saying when it explains why there is no key
            if warn is not None:
                warn(w)
        raise UsageError("No API key: set PLAYMENT_API_KEY (or store one for the profile in the app). To try "
                         "things out, start a local sandbox with `playment-submit sandbox`.")
    s = Session(conn.base_url, conn.project_id, conn.workflow_id, conn.api_key, profile=conn.profile,
                default_batch_id=default_batch_id or conn.default_batch_id,
                key_warning=conn.warnings[0] if conn.warnings else None)
    s.pool_size = pool_size
    s.timeout = timeout
    if storage_args is not None:
        from .storage import storage_from_args
        s.storage = storage_from_args(storage_args, conn)
    if with_journal:
        s.journal = Journal(Path(journal) if journal else default_journal_path(conn.profile.name))
    return s

