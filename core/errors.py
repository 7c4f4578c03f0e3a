"""One exception tree for everything that can go wrong, each message fit to show a user.

Every error carries:
- ``code``: the Playment error code (``FS_0001`` ...) when the server sent one, else ``None``;
- ``server_message``: the server's own message, when there was one;
- ``status``: the HTTP status, when there was a response;
- ``str(err)``: a plain sentence that says what happened and what to do about it.

``exit_code`` is what the command line exits with: 1 when the input or the server said no (a readable file
with bad content, a refused job), 2 for usage or environment trouble (a missing or unreadable path, a missing
or contradictory option, no connection, no configuration), 130 when interrupted. Subcommands raise these; the
command line's one edge (:mod:`core.cli.edge`) prints them and picks the exit status from ``exit_code``.
``problems`` (every error has the list, often empty) name each thing wrong; ``details`` carry context for
``--json`` (the existing job's ID, the reference ID ...). No message here ever contains the API key:
messages are built from server bodies and our own words, never from request headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Problem:
    """One thing wrong with an input: where (a field path, file, row or pixel) and a sentence.

    ``code`` is the Playment error code a real server would answer for this problem (used by the
    sandbox so that it refuses exactly like the API); ``severity`` is "error" or "warning". ``fix``
    (keyword only) names how to fix it (core/fixes.py), rendered in each front end's words:
    ``str(problem)`` in the command line's, ``problem.text("gui")`` in the window's.

    Immutable, compared and hashed by its fields except ``fix``: what ``@dataclass(frozen=True)`` would
    make, written out because importing :mod:`dataclasses` (it loads :mod:`inspect`) costs ~16 ms of every
    command, ``--help`` included. Subclasses add their fields to ``_fields`` / ``_compared``.
    """

    path: str
    message: str
    severity: str
    code: str
    fix: str | None
    _fields: tuple[str, ...] = ("path", "message", "severity", "code", "fix")
    _compared: tuple[str, ...] = ("path", "message", "severity", "code")
    _hashed: tuple[str, ...] = ("path", "message", "severity", "code")

    def __init__(self, path: str, message: str, severity: str = "error", code: str = "FS_0003", *,
                 fix: str | None = None) -> None:
        self._set(path=path, message=message, severity=severity, code=code, fix=fix)

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a problem is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a problem is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._compared)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self._hashed))

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    def text(self, front: str = "cli", *, with_path: bool = True) -> str:
        """The sentence with the fix hint of ``front`` ("cli" or "gui"), prefixed by the path if asked."""
        from .fixes import render
        body = render(self.message, self.fix, front)
        return f"{self.path}: {body}" if self.path and with_path else body

    def __str__(self) -> str:
        return self.text("cli")

    def to_dict(self) -> dict[str, Any]:
        d = {"path": self.path, "message": self.text("cli", with_path=False), "severity": self.severity,
             "code": self.code}
        if self.fix:
            d["fix"] = self.fix
        return d


class PlaymentError(Exception):
    """Base of every error this tool raises on purpose."""

    exit_code = 1
    retryable = False
    default_message = "Playment refused the request."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 server_message: str | None = None, status: int | None = None,
                 problems: Sequence[Problem] | None = None):
        from .sanitise import one_line, redact, server_text
        # What a server sent is cleaned (escapes, controls, secrets) before it is kept or shown.
        self.code = one_line(code, 60) if code is not None else None
        self.server_message = server_text(server_message) if server_message is not None else None
        self.status = status
        self.problems: list[Problem] = list(problems or [])
        self.context: dict[str, Any] = {}
        if not message and self.problems:
            message = " ".join(str(p) for p in self.problems)
        self.user_message = redact(message) if message else self._compose()
        super().__init__(self.user_message)

    def with_context(self, **context: Any) -> PlaymentError:
        """This error with ``context`` added to its :meth:`details` (what the command was doing: the job
        file, the reference ID ...); returns the error itself, so ``raise e.with_context(...)`` reads well."""
        self.context.update(context)
        return self

    def details(self) -> dict[str, Any]:
        """What a machine reader may want besides the sentence: the server's own words and HTTP status when
        there was an answer, each subclass's fields, then the context the command added."""
        d: dict[str, Any] = {}
        if self.server_message is not None:
            d["server_message"] = self.server_message
        if self.status is not None:
            d["http_status"] = self.status
        d.update(self.context)
        return d

    def _compose(self) -> str:
        text = self.default_message
        if self.server_message:
            text += f" The server said: {self.server_message}"
        if self.code:
            text += f" (code {self.code})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "code": self.code, "status": self.status,
                "message": self.user_message, "server_message": self.server_message}


class ValidationError(PlaymentError):
    """The input was checked locally and has problems; nothing was sent.

    ``source`` (optional) is the file the problems are in: the command line prefixes each problem's line with
    it. ``summary`` (optional) is one closing sentence shown after the problems ("Not submitted: 2 problems
    in job.json."); it is the message too when no message is given. ``already_said``: the command printed
    the problems as it went (bulk's rows), so the command line shows only the summary.
    """

    def __init__(self, problems: Sequence[Problem], message: str | None = None, *, source: str | None = None,
                 summary: str | None = None, already_said: bool = False):
        errors = [p for p in problems if p.severity == "error"]
        self.source = source
        self.summary = summary
        self.already_said = already_said
        if message is None and summary is not None:
            message = summary
        if message is None:
            n = len(errors)
            message = (f"{n} problem{'s' if n != 1 else ''} must be fixed before submitting: "
                       + "; ".join(str(p) for p in errors[:5])
                       + (f"; and {n - 5} more" if n > 5 else ""))
        super().__init__(message, problems=list(problems))


class UsageError(PlaymentError):
    """The command line or the configuration is incomplete or wrong, or a path cannot be used (missing,
    unreadable, a folder where a file is due). ``problems``: the sentences, when there are several."""

    exit_code = 2


class InterruptedByUser(PlaymentError):
    """Ctrl-C (or SIGTERM) stopped the command."""

    exit_code = 130
    default_message = "Interrupted."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, code="interrupted")


class StoppedError(PlaymentError):
    """A run that stopped because of ``cause`` (a refused key, an unreachable server ...), said in the run's
    own words; its exit status, code and HTTP status are the cause's."""

    def __init__(self, message: str, cause: PlaymentError) -> None:
        self.cause = cause
        self.exit_code = cause.exit_code
        super().__init__(message, code=cause.code, status=cause.status)

    def details(self) -> dict[str, Any]:
        return {"cause": type(self.cause).__name__, **self.cause.details(), **super().details()}


class OutOfMemoryError(PlaymentError):
    """The input is too large for this machine's memory; exit status 1, as a refused input."""

    default_message = "There is not enough memory for this input; split it into smaller files."


class AuthError(PlaymentError):
    default_message = ("Playment rejected the API key. Check the key in your profile (or "
                       "PLAYMENT_API_KEY) and that it belongs to this project.")


class NotFoundError(PlaymentError):
    default_message = "Playment does not know this project, job or batch. Check the IDs in your profile."


class DuplicateReferenceError(PlaymentError):
    """FS_0001: a job with this reference_id exists already."""

    default_message = ("A job with this reference ID already exists in the project. Choose another "
                       "reference ID, or look the existing job up instead of creating it again.")

    def __init__(self, message: str | None = None, *, existing_job_id: str | None = None, **kw: Any):
        self.existing_job_id = existing_job_id
        super().__init__(message, **kw)

    def details(self) -> dict[str, Any]:
        return {"existing_job_id": self.existing_job_id, **super().details()}


class InvalidDataError(PlaymentError):
    default_message = "Playment refused the job's data."


class AttachmentNotAccessibleError(PlaymentError):
    default_message = ("Playment could not fetch one of the images or the mask. Make sure every URL "
                       "is public or that your bucket policy grants Playment read access.")


class BatchCreationError(PlaymentError):
    default_message = "Playment could not create the batch (a batch with this name may exist already)."


class ServerFaultError(PlaymentError):
    retryable = True
    default_message = "Playment had a server-side fault; trying again later usually helps."


class RateLimitedError(ServerFaultError):
    default_message = "Playment is rate-limiting requests; slow down and try again."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any):
        self.retry_after = retry_after
        super().__init__(message, **kw)

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after, **super().details()}


class TransportError(PlaymentError):
    """No usable answer came back from the server."""

    exit_code = 2
    retryable = True


class RequestTimeoutError(TransportError):
    default_message = "Playment did not answer in time."


class ConnectionFailedError(TransportError):
    default_message = "Could not reach Playment. Check the base URL and your network connection."


class RedirectRefusedError(UsageError):
    """The API answered with a redirect: never followed (the API key would go with it)."""

    def __init__(self, base_url: str, location: str | None, status: int):
        from urllib.parse import urljoin, urlsplit

        from .sanitise import one_line, url_for_display
        target = urlsplit(urljoin(base_url + "/", location or ""))
        where = "another address"
        if target.netloc:
            where = one_line(url_for_display(f"{target.scheme}://{target.netloc}"), 120)
        super().__init__(f"{url_for_display(base_url)} answered with a redirect (HTTP {status}) to {where}; the tool "
                         f"does not follow redirects, so the API key is only ever sent to the configured API host. "
                         f"Check the base URL (the API's own address, e.g. https://api.playment.io).",
                         status=status)


class AmbiguousOutcomeError(PlaymentError):
    """A create request may or may not have taken effect and we could not find out which."""

    default_message = ("Playment may or may not have created this job: the connection failed after "
                       "the request was sent and the job could not be found afterwards.")

    def __init__(self, message: str | None = None, *, reference_id: str | None = None, **kw: Any):
        self.reference_id = reference_id
        super().__init__(message, **kw)

    def details(self) -> dict[str, Any]:
        return {"reference_id": self.reference_id, **super().details()}


# The API notes' error codes -> exception class.
CODE_MAP: dict[str, type[PlaymentError]] = {
    "FS_0001": DuplicateReferenceError,
    "FS_0002": InvalidDataError,
    "FS_0003": InvalidDataError,
    "FS_0004": InvalidDataError,
    "FS_0005": InvalidDataError,
    "FS_0007": AttachmentNotAccessibleError,
    "FS_00011": InvalidDataError,
    "FS_00012": InvalidDataError,
    "GE_0001": InvalidDataError,
    "BATCH_CREATION": BatchCreationError,
    "auth-failure": AuthError,
    "unauthorized": AuthError,
    "core.webutil.token_auth": AuthError,
    "core.webutil.auther": AuthError,
    "FS_0000": ServerFaultError,
    "FS_0008": ServerFaultError,
    "api_error": ServerFaultError,
    # Not in the API notes: the sandbox's answers for an unknown project, job or batch (HTTP 404).
    "NOT_FOUND": NotFoundError,
    "PROJECT_NOT_FOUND": NotFoundError,
    "JOB_NOT_FOUND": NotFoundError,
    "BATCH_NOT_FOUND": NotFoundError,
}

# Plain words for codes whose server message tends to be terse.
CODE_WORDS: dict[str, str] = {
    "FS_0002": "The job has no reference ID.",
    "FS_0003": "Playment found the job's data invalid.",
    "FS_0004": "The job's data is empty.",
    "FS_0005": "The job has no workflow ID (work_flow_id).",
    "FS_00011": "The job type must be TEST or NON_TEST.",
    "FS_00012": "The priority weight is out of range.",
    "GE_0001": "A parameter is invalid (for example a batch ID that is not a UUID).",
}


def error_for_code(code: str | None, server_message: str | None, status: int | None) -> PlaymentError:
    """The exception for a Playment error body; unknown codes still carry the server's words."""
    cls = CODE_MAP.get(code or "", PlaymentError)
    words = CODE_WORDS.get(code or "")
    message = None
    if words:
        message = words + (f" The server said: {server_message}" if server_message else "") + f" (code {code})"
    elif cls is PlaymentError:
        message = (f"Playment refused the request (HTTP {status})"
                   + (f": {server_message}" if server_message else ".")
                   + (f" (code {code})" if code else ""))
    return cls(message, code=code, server_message=server_message, status=status)
