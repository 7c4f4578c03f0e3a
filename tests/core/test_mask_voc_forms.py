"""VOC class masks in the forms tools write (issue 22 item 2, issue 21's 16-bit grey): RGB coloured by VOC's
colour map (Datumaro's VOC writer, CVAT's VOC export) or by the labelmap.txt beside it, 8-bit grey, and
16-bit grey refused. Expected readings are built from the devkit's colour map definition, every pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.errors import ValidationError
from playment_submit.core.mask.formats import import_mask
from playment_submit.core.mask.formats.voc import VOC_CLASSES, voc_colour


def _devkit_cmap():
    # VOCdevkit's labelcolormap.m / the VOC 2012 palette, written independently of voc_colour
    cmap = np.zeros((256, 3), np.uint8)
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r = r | (((c >> 0) & 1) << (7 - j))
            g = g | (((c >> 1) & 1) << (7 - j))
            b = b | (((c >> 2) & 1) << (7 - j))
            c = c >> 3
        cmap[i] = (r, g, b)
    return cmap


def _indices():
    v = np.zeros((12, 16), np.uint8)
    v[1:4, 1:6] = 15          # person
    v[5:9, 3:12] = 5          # bottle
    v[4, :] = 255             # void outline
    v[10:12, 10:16] = 20      # tvmonitor
    return v


def _names(res):
    legend = list(res.legend.values())
    return np.array([[legend[c - 1] if c else "" for c in row] for row in res.classes])


def _expected(v):
    names = np.array(["", *VOC_CLASSES] + [""] * 235)
    return names[v]


def test_the_colour_map_matches_the_devkit():
    cmap = _devkit_cmap()
    assert all(voc_colour(i) == tuple(int(c) for c in cmap[i]) for i in range(256))
    assert voc_colour(1) == (128, 0, 0) and voc_colour(15) == (192, 128, 128) and voc_colour(255) == (224, 224, 192)


def test_an_rgb_mask_in_voc_colours_reads_as_the_palette_mask_does(tmp_path):
    v = _indices()
    Image.fromarray(_devkit_cmap()[v], "RGB").save(tmp_path / "rgb.png")
    pal = Image.fromarray(v, "P")
    pal.putpalette(_devkit_cmap().ravel().tolist())
    pal.save(tmp_path / "pal.png")
    Image.fromarray(v, "L").save(tmp_path / "grey.png")
    for name in ("rgb.png", "pal.png", "grey.png"):
        res = import_mask(tmp_path / name, "voc")
        assert (_names(res) == _expected(v)).all(), name


def test_an_rgb_mask_with_a_labelmap_beside_it_uses_the_labelmap(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[1, 1:3] = (10, 20, 30)
    rgb[2, 2:5] = (200, 0, 0)
    Image.fromarray(rgb, "RGB").save(tmp_path / "m.png")
    (tmp_path / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\n"
                                           "road:10,20,30::\nsign:200,0,0::\n")
    res = import_mask(tmp_path / "m.png", "voc")
    expected = np.where((rgb == (10, 20, 30)).all(2), "road", np.where((rgb == (200, 0, 0)).all(2), "sign", ""))
    assert (_names(res) == expected).all()


def test_another_colour_is_refused_naming_the_pixel_and_the_colour(tmp_path):
    v = _indices()
    rgb = _devkit_cmap()[v]
    rgb[7, 9] = (1, 2, 3)
    Image.fromarray(rgb, "RGB").save(tmp_path / "rgb.png")
    with pytest.raises(ValidationError, match=r"#010203 \(1 pixels?, first at x=9, y=7\)") as e:
        import_mask(tmp_path / "rgb.png", "voc")
    assert "VOC's colour map" in str(e.value)


def test_a_16_bit_grey_png_is_refused(tmp_path):
    v = np.zeros((4, 4), np.uint16)
    v[1, 1] = 1750
    v[2, 2] = 63750
    Image.fromarray(v).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    with pytest.raises(ValidationError, match="16-bit grey PNG"):
        import_mask(tmp_path / "g16.png", "voc")


def test_a_jpeg_mask_is_refused_once_with_one_sentence_by_every_reader(tmp_path):
    # issue 23 item 11: the JPEG mask problem said once (it gave 800-odd "colours not in VOC's map" before)
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[10:30, 10:40] = (128, 0, 0)
    path = tmp_path / "2007_000001.jpg"
    Image.fromarray(rgb).save(path, quality=70)
    for fmt in ("voc", "index", "cvat"):
        with pytest.raises(ValidationError) as e:
            import_mask(path, fmt, classes=["aeroplane"])
        assert len(e.value.problems) == 1
        (p,) = e.value.problems
        assert p.code == "not_png" and p.message.count("JPEG") == 1 and "PNG" in p.message
