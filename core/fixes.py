"""How to fix a problem, in the words of the front end that shows it.

A :class:`~playment_submit.core.errors.Problem` says what is wrong in one sentence that is the same
everywhere; its ``fix`` names one of the keys below, and each front end renders the hint in its own
language: the command line names its commands and flags, the window names its buttons and tabs (it has
no ``--max-megapixels``, but it has a Repair button). ``str(problem)`` is the command line's rendering;
the window asks for ``problem.text("gui")``.
"""

from __future__ import annotations

FRONT_ENDS = ("cli", "gui")

#: fix key -> front end -> one sentence (or clause) appended to the problem's own sentence.
FIX_HINTS: dict[str, dict[str, str]] = {
    "mask_repair": {
        "cli": "`playment-submit mask repair` fixes this in a new file.",
        "gui": "Repair… (below the list of problems on the Mask tab) fixes this in a new file.",
    },
    "mask_repair_rgb": {
        "cli": "`playment-submit mask repair` does this for an RGB mask whose unlabelled pixels are black.",
        "gui": "Repair… on the Mask tab does this for an RGB mask whose unlabelled pixels are black.",
    },
    "mask_encode": {
        "cli": "If its pixel values are class indices, colour-code it with `playment-submit mask encode`.",
        "gui": "If its pixel values are class indices, load it with Colour-code index mask… on the Mask tab.",
    },
    "mask_check_instead": {
        "cli": "Check it with `playment-submit mask check` instead.",
        "gui": "Load it with Load RGBA mask… on the Mask tab instead.",
    },
    "max_megapixels": {
        "cli": "If the size is genuine, raise the limit (--max-megapixels); otherwise the file is damaged or "
               "hostile.",
        "gui": "If the size is genuine, make the image smaller or check and send it from the command line, "
               "whose --max-megapixels raises the limit; otherwise the file is damaged or hostile.",
    },
    "class_map": {
        "cli": "--map FILE renames ({\"old\": \"new\"}) or drops ({\"old\": null}) classes; the profile's "
               "\"classes\" list holds the project's names.",
        "gui": "Rename to the closest names or a Class map file in the import dialog renames or drops classes; "
               "Project classes on the Connection tab holds the project's names.",
    },
    "retry_failed": {
        "cli": "Pass --retry-failed to send it again.",
        "gui": "Retry failed (on the Bulk tab) sends it again.",
    },
}


def hint(fix: str | None, front: str = "cli") -> str:
    """The hint for ``fix`` in ``front``'s words ("" for None or an unknown key)."""
    if not fix:
        return ""
    words = FIX_HINTS.get(fix)
    if words is None:
        return ""
    return words.get(front) or words["cli"]


def render(message: str, fix: str | None, front: str = "cli") -> str:
    """``message`` followed by the front end's hint for ``fix``, as one piece of text."""
    extra = hint(fix, front)
    if not extra:
        return message
    return f"{message.rstrip()} {extra}" if message.rstrip().endswith((".", "!", "?", ")")) else \
        f"{message.rstrip()}. {extra}"


__all__ = ["FRONT_ENDS", "FIX_HINTS", "hint", "render"]
