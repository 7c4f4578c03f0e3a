"""Profiles (base URL, project, workflow, default batch, storage) and the API key.

- Profiles are JSON under the platform config dir (``platformdirs``; ``PLAYMENT_CONFIG_DIR`` overrides it,
  which the tests use). The file never holds a secret: a profile with an ``api_key`` field is refused.
- The API key lives in the OS keyring (service ``playment-submit``, user = profile name). Without a
  keyring backend (a headless box) the key comes from ``PLAYMENT_API_KEY`` and a warning says so.
- Precedence for every connection setting: command-line option > environment > profile > default.
  The environment's names: ``PLAYMENT_API_KEY``, ``PLAYMENT_PROJECT_ID``, ``PLAYMENT_WORKFLOW_ID``,
  ``PLAYMENT_BASE_URL`` and ``PLAYMENT_DEFAULT_BATCH_ID``.
- ``merged_profile()`` is the one rule for saving an edited profile: the edited connection fields over
  the saved profile, keeping what the form does not edit, and refused with plain sentences when a field
  cannot work.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keyring
import platformdirs
from keyring.errors import KeyringError, PasswordDeleteError

from .errors import Problem, UsageError, ValidationError
from .job import is_uuid
from .jsonio import parse_json

APP = "playment-submit"
KEYRING_SERVICE = "playment-submit"
DEFAULT_BASE_URL = "https://api.playment.io"
ENV_KEY, ENV_PROJECT, ENV_WORKFLOW, ENV_BASE = ("PLAYMENT_API_KEY", "PLAYMENT_PROJECT_ID",
                                                "PLAYMENT_WORKFLOW_ID", "PLAYMENT_BASE_URL")
ENV_DEFAULT_BATCH = "PLAYMENT_DEFAULT_BATCH_ID"
SANDBOX_PROFILE = "sandbox"  # the window's embedded sandbox: may be "current" (persisted) but never saved as a profile


def config_dir() -> Path:
    return Path(os.environ.get("PLAYMENT_CONFIG_DIR") or platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    """Where journals and history live (``PLAYMENT_DATA_DIR`` overrides)."""
    return Path(os.environ.get("PLAYMENT_DATA_DIR") or platformdirs.user_data_dir(APP, appauthor=False))


@dataclass
class Profile:
    name: str = "default"
    base_url: str = DEFAULT_BASE_URL
    project_id: str = ""
    workflow_id: str = ""
    default_batch_id: str = ""
    storage: dict[str, Any] = field(default_factory=dict)  # see core.storage; {} means URLs only
    batches: dict[str, str] = field(default_factory=dict)  # batches made from this app: name -> batch_id
    # default batches named by Playment's /details, cached: "<base_url> <project_id>" -> batch_id
    known_default_batches: dict[str, str] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)  # the project's class names: mask import refuses others

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> Profile:
        if "api_key" in d:
            raise UsageError(f"Profile \"{name}\" in {profiles_path()} contains an api_key; keys belong in the "
                             f"OS keyring. Remove that line and store the key with the app or PLAYMENT_API_KEY.")
        known: dict[str, Any] = {}
        for k in ("base_url", "project_id", "workflow_id", "default_batch_id"):
            value = d.get(k)
            if value is None:
                continue
            # Kept as text whatever it is: a bad base URL is refused, with its sentence, when it is used.
            known[k] = value if isinstance(value, str) else json.dumps(value)
        for k in ("storage", "batches", "known_default_batches"):
            value = d.get(k)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise UsageError(f"Profile \"{name}\" in {profiles_path()}: \"{k}\" must be an object, not "
                                 f"{type(value).__name__}; fix or delete that line.")
            known[k] = value
        for k in ("batches", "known_default_batches"):
            if k in known:
                known[k] = {str(n): str(b) for n, b in known[k].items()}
        classes = d.get("classes")
        if classes is not None:
            if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
                raise UsageError(f"Profile \"{name}\" in {profiles_path()}: \"classes\" must be a list of class "
                                 f"names; fix or delete that line.")
            known["classes"] = [c.strip() for c in classes if c.strip()]
        return cls(name=name, **known)


def profiles_path() -> Path:
    return config_dir() / "profiles.json"


def load_profiles() -> tuple[dict[str, Profile], str | None]:
    """(profiles by name, the current profile's name). A missing file is no profiles, not an error."""
    path = profiles_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"The profiles file {path} cannot be read ({e}); fix or delete it.") from e
    data, problem = parse_json(text, what="profiles file", where=str(path))
    if problem is not None:
        raise UsageError(f"The profiles file cannot be read: {problem}; fix or delete it.")
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise UsageError(f"The profiles file {path} is not in the expected form; fix or delete it.")
    profiles = {name: Profile.from_dict(name, p) for name, p in data.get("profiles", {}).items() if isinstance(p, dict)}
    current = data.get("current") if data.get("current") in profiles or data.get("current") == SANDBOX_PROFILE \
        else None
    return profiles, current


def set_current_profile(name: str) -> None:
    """Remember ``name`` (a saved profile, or :data:`SANDBOX_PROFILE`) as the profile in use at the next start."""
    profiles, _ = load_profiles()
    save_profiles(profiles, current=name)


def save_profiles(profiles: Mapping[str, Profile], current: str | None = None) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"current": current, "profiles": {n: {k: v for k, v in p.to_dict().items() if k != "name"}
                                             for n, p in profiles.items()}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".profiles-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=2)
    os.replace(tmp, path)


def delete_profile(name: str) -> None:
    """Forget a saved profile and its keyring entry; the submission journal (history) is kept on disk."""
    profiles, current = load_profiles()
    if name not in profiles:
        raise UsageError(f"There is no saved profile named \"{name}\".")
    del profiles[name]
    save_profiles(profiles, current=None if current == name else current)
    try:
        set_api_key(name, "")
    except UsageError:  # no keyring: there was no key to forget
        pass


# ------------------------------------------------------------------ secrets
class SecretStoreUnavailable(UsageError):
    pass


# Without a keyring, the key typed for a profile is kept here for this process only (never written to a
# file or a log), so switching profiles and back within one session does not forget it.
_session_keys: dict[str, str] = {}


def forget_session_keys() -> None:
    """Drop every key kept in memory for this session (tests; a process ends with them gone anyway)."""
    _session_keys.clear()


def get_api_key(profile: str, env: Mapping[str, str] | None = None) -> tuple[str | None, str, str | None]:
    """(key, where it came from: "keyring" | "session" | "environment" | "none", a warning or None): the one
    place the key state of a profile comes from ("session": typed in this session, no keyring to keep it)."""
    env = os.environ if env is None else env
    warning = None
    try:
        key = keyring.get_password(KEYRING_SERVICE, profile)
    except KeyringError:  # no backend (a headless box): a runtime condition, said as a warning
        key, warning = None, ("No system keyring is available, so the API key is taken from "
                              "PLAYMENT_API_KEY and cannot be saved by this app.")
        if _session_keys.get(profile):
            return _session_keys[profile], "session", warning
    else:
        if key:
            return key, "keyring", None
    key = env.get(ENV_KEY) or None
    return key, ("environment" if key else "none"), warning


def set_api_key(profile: str, key: str) -> None:
    try:
        if key:
            keyring.set_password(KEYRING_SERVICE, profile, key)
        else:
            try:
                keyring.delete_password(KEYRING_SERVICE, profile)
            except PasswordDeleteError:
                pass
    except KeyringError as e:
        if key:
            _session_keys[profile] = key  # memory only: kept until the app closes
        else:
            _session_keys.pop(profile, None)
        raise SecretStoreUnavailable("No system keyring is available to store the API key: it is kept for "
                                     "this session only; set PLAYMENT_API_KEY in the environment to keep "
                                     "it.") from e


# --------------------------------------------------------------- resolution
@dataclass
class Connection:
    base_url: str
    project_id: str
    workflow_id: str
    api_key: str | None
    key_source: str
    default_batch_id: str | None
    profile: Profile
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # never the key
        return (f"Connection(base_url={self.base_url!r}, project_id={self.project_id!r}, "
                f"workflow_id={self.workflow_id!r}, key_source={self.key_source!r})")


def resolve_connection(profile: str | None = None, *, base_url: str | None = None, project_id: str | None = None,
                       workflow_id: str | None = None, default_batch_id: str | None = None,
                       env: Mapping[str, str] | None = None) -> Connection:
    """The connection for ``profile`` (else the current one, else "default"): each setting from the
    option given here, else the environment, else the profile (else the built-in default)."""
    env = os.environ if env is None else env
    profiles, current = load_profiles()
    # The window's sandbox as the profile in use is the window's alone: the command line has no sandbox there.
    name = profile or (current if current != SANDBOX_PROFILE else None) or "default"
    if profile and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise UsageError(f"There is no profile named \"{profile}\" (known: {known}).")
    prof = profiles.get(name) or Profile(name=name)
    key, source, warning = get_api_key(name, env)
    return Connection(
        base_url=base_url or env.get(ENV_BASE) or prof.base_url or DEFAULT_BASE_URL,
        project_id=project_id or env.get(ENV_PROJECT) or prof.project_id,
        workflow_id=workflow_id or env.get(ENV_WORKFLOW) or prof.workflow_id,
        default_batch_id=(default_batch_id or env.get(ENV_DEFAULT_BATCH) or prof.default_batch_id
                          or prof.known_default_batches.get(default_batch_key(base_url or env.get(ENV_BASE)
                                                                              or prof.base_url or DEFAULT_BASE_URL,
                                                                              project_id or env.get(ENV_PROJECT)
                                                                              or prof.project_id)) or None),
        api_key=key, key_source=source, profile=prof,
        warnings=[warning] if warning else [])


def default_batch_key(base_url: str, project_id: str) -> str:
    """The key of a cached default batch: one per API and project (a profile may be pointed elsewhere)."""
    return f"{(base_url or '').rstrip('/')} {project_id}"


def cache_default_batch(profile: str, base_url: str, project_id: str, batch_id: str) -> bool:
    """Remember the default batch Playment's /details named for this API and project in a saved profile, so
    later runs reconcile an interrupted send without asking (an explicit default batch still wins). False when
    the profile is not saved (nothing to keep it in) or already knew it."""
    profiles, current = load_profiles()
    prof = profiles.get(profile)
    key = default_batch_key(base_url, project_id)
    if prof is None or prof.known_default_batches.get(key) == batch_id:
        return False
    prof.known_default_batches[key] = batch_id
    save_profiles(profiles, current)
    return True


# ------------------------------------------------------------------ editing
def class_list(names: Iterable[str]) -> list[str]:
    """A profile's class list as kept: each name trimmed, blanks and repeats left out, order kept."""
    out: list[str] = []
    for n in names:
        n = str(n).strip()
        if n and n not in out:
            out.append(n)
    return out


def class_list_from_text(text: str) -> list[str]:
    """Class names pasted or read from a text file, one per line (a UTF-8 byte-order mark is ignored)."""
    return class_list(text.removeprefix("\ufeff").splitlines())


def read_class_list(path: str | Path) -> list[str]:
    """The class names in a text file, one per line; UsageError naming the file when it cannot be read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{p}: the class list is not UTF-8 text (bad byte at offset {e.start}); save it as "
                         f"UTF-8 text with one class name per line.") from None
    except OSError as e:
        raise UsageError(f"{p}: the class list cannot be read ({e.strerror or e}).") from None
    names = class_list_from_text(text)
    if not names:
        raise UsageError(f"{p}: the file holds no class names; write one class name per line.")
    return names


def merged_profile(saved: Profile | None, *, name: str, base_url: str, project_id: str, workflow_id: str,
                   storage: Mapping[str, Any] | None = None, classes: Sequence[str] | None = None) -> Profile:
    """The profile to save when a form has edited ``name``'s connection fields.

    The edited fields (trimmed) replace the saved ones; everything the form does not edit (default batch,
    remembered batches, default batches learnt from /details, the storage when ``storage`` is None, the
    class list when ``classes`` is None) is kept from ``saved``, the profile of that name as saved (None
    for a new profile). A blank name is "default"; a blank base URL is the default API. Pure: nothing is
    read or written and ``saved`` is not changed.

    Raises ValidationError (its ``problems`` one per field, its message one plain paragraph) when a field
    cannot work: a base URL that :func:`core.client.check_base_url` refuses (not http(s), a bad port, a user
    name or password in it, which the sentence never repeats, plain http to another machine), a workflow ID
    that is not a UUID.
    """
    name = name.strip() or "default"
    base_url, project_id, workflow_id = base_url.strip(), project_id.strip(), workflow_id.strip()
    problems: list[Problem] = []
    if not base_url:
        base_url = DEFAULT_BASE_URL
    else:
        from .client import check_base_url
        try:
            check_base_url(base_url)  # its sentence never repeats a password written into the URL
        except UsageError as e:
            problems.append(Problem("base_url", str(e)))
    if workflow_id and not is_uuid(workflow_id):
        problems.append(Problem("workflow_id", f"The workflow ID \"{workflow_id}\" is not a UUID (like "
                                               f"2aae1234-acac-1234-eeff-12a22a237bbc); copy it from the "
                                               f"project's workflow page.", code="FS_0003"))
    if problems:
        raise ValidationError(problems, f"Profile \"{name}\" was not saved. "
                                        + " ".join(p.message for p in problems))
    base = saved if saved is not None else Profile(name=name)
    return Profile(name=name, base_url=base_url, project_id=project_id, workflow_id=workflow_id,
                   default_batch_id=base.default_batch_id,
                   storage=copy.deepcopy(dict(storage if storage is not None else base.storage)),
                   batches=dict(base.batches), known_default_batches=dict(base.known_default_batches),
                   classes=class_list(classes) if classes is not None else list(base.classes))
