"""What the sandbox accepts and answers on the wire: its limits, the API's error shape, /files/ names and
JSON bodies. Pure functions of their arguments (no server state), shared by every module of the package."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

MAX_JSON_BODY = 1024 * 1024  # a job or batch body: real ones are a few KiB
MAX_UPLOAD = 2 * 1024 ** 3  # one /files/ PUT
CHUNK = 64 * 1024  # bodies are read at most this much at a time
MAX_JSON_DEPTH = 64  # nesting of arrays and objects in a JSON body
MAX_JSON_INT_DIGITS = 100  # digits of one JSON integer (int() of a long one is quadratic)
NAME_MAX = 255  # bytes in one part of a /files/ name (ext4, xfs, btrfs, tmpfs)
MAX_NAME_BYTES = 1024  # bytes in a whole /files/ name

JsonObject = dict[str, Any]
"""A JSON object as the sandbox reads or answers it."""


def error_body(code: str, message: str) -> JsonObject:
    """The API's error shape: ``{"success": false, "error": {"code": ..., "message": ...}}``."""
    return {"success": False, "error": {"code": code, "message": message}}


def now_iso() -> str:
    """The current UTC time as the sandbox stamps rows: ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def decode_once(text: str) -> str:
    """One round of percent-decoding; UnicodeDecodeError when the bytes are not UTF-8."""
    return unquote(text, errors="strict")


def has_control(text: str) -> bool:
    """True when ``text`` holds an ASCII control character (C0 or DEL)."""
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a /files/ name, as a sentence, or None. Names are stored as sent or not at all."""
    if not name:
        return "The file name is empty."
    if has_control(name):
        return "The file name holds a control character."
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "The file name is not valid Unicode."
    if size > MAX_NAME_BYTES:
        return f"The file name is longer than {MAX_NAME_BYTES} bytes."
    if "\\" in name:
        return "The file name holds a backslash."
    if name.startswith("/"):
        return "The file name is an absolute path."
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "The file name has an empty, \".\" or \"..\" part."
        if len(part.encode("utf-8")) > NAME_MAX:
            return f"A part of the file name is longer than {NAME_MAX} bytes."
    return None


def _strict_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise ValueError(f"an integer has more than {MAX_JSON_INT_DIGITS} digits")
    return int(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _json_problem(value: Any) -> str | None:
    """What makes an already parsed body unfit to store (walked without recursion), or None."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"it nests deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a string holds a lone surrogate"
    return None


def parse_json_body(raw: bytes) -> tuple[Any, str | None]:
    """A request body as strict JSON: (value, None) when acceptable, else (None, the reason in a sentence).
    Refused: NaN and Infinity, integers of more than ``MAX_JSON_INT_DIGITS`` digits, nesting deeper than
    ``MAX_JSON_DEPTH``, lone surrogates."""
    try:
        value = json.loads(raw, parse_int=_strict_int, parse_constant=_no_constant)
    except RecursionError:
        return None, f"Request body is not acceptable JSON: it nests deeper than {MAX_JSON_DEPTH} levels."
    except (ValueError, UnicodeDecodeError) as e:
        reason = str(e) if "digits" in str(e) else "it does not parse"
        return None, f"Request body is not valid JSON: {reason}."
    problem = _json_problem(value)
    if problem:
        return None, f"Request body is not acceptable JSON: {problem}."
    return value, None
