"""Mask formats are registered once (core.mask.formats.registry): the command line's plain-data copy is
what the registry computes, `mask import`'s choices and help come from it, and every format has a decoder.
(The window's import dialog is held to the same table in tests/gui/test_mask_format_agreement.py.)"""

from __future__ import annotations

import argparse
import importlib

from playment_submit.core.cli import mask as cli_mask
from playment_submit.core.cli import mask_formats, mask_import
from playment_submit.core.mask import formats
from playment_submit.core.mask.formats import registry


def _import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playment-submit")
    cli_mask.add_parser(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    mask = parser._subparsers._group_actions[0].choices["mask"]  # argparse keeps its subparsers here
    return mask._subparsers._group_actions[0].choices["import"]


def test_the_plain_data_copy_is_what_the_registry_computes():
    assert registry.plain_table() == mask_formats.TABLE
    # byte for byte: regenerate with `python -m playment_submit.core.mask.formats.registry`
    assert registry.PLAIN_MODULE.read_text(encoding="utf-8") == registry.render_plain_module()
    assert mask_formats.FORMATS == registry.FORMATS == formats.FORMATS  # core.manifest reads formats.FORMATS


def test_mask_import_choices_options_and_help_come_from_the_table():
    parser = _import_parser()
    actions = {a.dest: a for a in parser._actions}
    assert tuple(actions["fmt"].choices) == registry.FORMATS
    for option in registry.OPTIONS:
        action = actions[option.key]
        assert action.option_strings == [option.flag]
        readers = registry.formats_reading(option.key)
        assert readers, f"no format reads {option.flag}"
        assert action.help == f"{', '.join(readers)}: {option.help}"
        if option.metavar:
            assert action.metavar == option.metavar
    text = " ".join(parser.format_help().split())
    for spec in registry.REGISTRY:
        assert " ".join(spec.description) in text, spec.name


def test_every_option_a_format_reads_is_an_import_option_and_every_format_decodes():
    fields = set(formats.ImportOptions.__dataclass_fields__)
    for spec in registry.REGISTRY:
        assert set(spec.options) <= set(registry.OPTION_BY_KEY) and set(spec.options) <= fields, spec.name
        module = importlib.import_module(f"playment_submit.core.mask.formats.{spec.decoder}")
        assert callable(module.decode) and registry.decoder(spec.name) is module.decode
    assert set(registry.BY_NAME) == set(formats.FORMAT_HELP)
    assert {k for k, _ in registry.SNIFF_ORDER} == set(registry.FORMATS)


def test_a_new_option_reaches_import_options_through_the_table(tmp_path):
    """run_import hands every option of the table to ImportOptions by its key (no hand list to forget)."""
    args = _import_parser().parse_args(["src.png", "-o", "o.png", "--legend-out", "l.json", "--ids", "train",
                                        "--ignore", "3", "4"])
    given = {o["key"]: getattr(args, o["key"]) for o in mask_import.TABLE["options"]}
    assert given["ids"] == "train" and given["ignore"] == [3, 4] and given["unlabelled"] == 0


def test_an_options_values_are_listed_once():
    """--ids' values: the registry's choices are argparse's choices and what the Cityscapes decoder knows."""
    from playment_submit.core.mask.formats import cityscapes

    actions = {a.dest: a for a in _import_parser()._actions}
    values = tuple(v for v, _label in registry.OPTION_BY_KEY["ids"].choices)
    assert tuple(actions["ids"].choices) == values == cityscapes.IDS == ("label", "train", "instance")
