"""mask import: every format against expected class-per-pixel arrays built independently (pycocotools'
annToMask for COCO, hand-built arrays for the rest), the overlap rules, ignore values, class names
(--map, the project's list, the closest name), stable colours, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from playment_submit.core.cli import main
from playment_submit.core.errors import UsageError, ValidationError
from playment_submit.core.mask import check
from playment_submit.core.mask.formats import ImportOptions, import_mask, infer_format, stable_colours


def names_per_pixel(result) -> np.ndarray:
    """The class name of every pixel ("" = unlabelled), from the result's classes and legend."""
    table = np.array(["", *result.legend.values()], dtype=object)
    return table[result.classes]


def expected_names(values: np.ndarray, names: dict[int, str]) -> np.ndarray:
    out = np.full(values.shape, "", dtype=object)
    for v, n in names.items():
        out[values == v] = n
    return out


# ------------------------------------------------------------------------------------------------ COCO
def _coco(tmp_path, with_rle=True):
    from pycocotools import mask as cocomask
    rng = np.random.default_rng(3)
    h, w = 90, 120
    anns = []
    for i in range(25):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, 30)
        t = np.sort(rng.uniform(0, 2 * np.pi, 7))
        polys = [np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).ravel().tolist()]
        if i % 5 == 0:  # two parts in one annotation
            polys.append([cx + 2, cy + 2, cx + 9.5, cy + 2, cx + 5, cy + 8.25])
        anns.append({"id": 100 + i, "image_id": 1, "category_id": int(rng.integers(1, 4)), "segmentation": polys,
                     "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1]})
    if with_rle:
        m = np.zeros((h, w), np.uint8, order="F")
        m[10:40, 20:70] = 1
        compressed = cocomask.encode(m)
        anns.append({"id": 500, "image_id": 1, "category_id": 2, "iscrowd": 1, "area": 1.0, "bbox": [0, 0, 1, 1],
                     "segmentation": {"size": [h, w], "counts": compressed["counts"].decode("ascii")}})
        m2 = np.zeros((h, w), np.uint8, order="F")
        m2[50:80, 5:30] = 1
        runs, last, n = [], 0, 0
        for v in m2.ravel(order="F"):
            if v != last:
                runs.append(n)
                n, last = 0, v
            n += 1
        runs.append(n)
        anns.append({"id": 501, "image_id": 1, "category_id": 3, "iscrowd": 1, "area": 1.0, "bbox": [0, 0, 1, 1],
                     "segmentation": {"size": [h, w], "counts": [int(x) for x in runs]}})
    anns.append({"id": 900, "image_id": 2, "category_id": 1, "segmentation": [[0, 0, 50, 0, 50, 50]],
                 "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1]})
    data = {"images": [{"id": 1, "file_name": "frames/0001.jpg", "height": h, "width": w},
                       {"id": 2, "file_name": "frames/0002.jpg", "height": 10, "width": 10}],
            "annotations": anns,
            "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "road"}, {"id": 3, "name": "tree"}]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path, data


def _coco_expected(path, image_id, instances=False):
    from pycocotools.coco import COCO
    coco = COCO(str(path))
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    info = coco.loadImgs(image_id)[0]
    out = np.full((info["height"], info["width"]), "", dtype=object)
    seen: dict[str, int] = {}
    for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id)):  # file order; later wins
        name = cats[a["category_id"]]
        if instances:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} #{seen[name]}"
        out[coco.annToMask(a).astype(bool)] = name
    return out


def test_coco_polygons_and_both_rles_match_ann_to_mask_later_annotation_wins(tmp_path):
    path, _ = _coco(tmp_path)
    res = import_mask(path, "coco", image="0001.jpg")
    assert (res.width, res.height) == (120, 90)
    got = names_per_pixel(res)
    assert (got == _coco_expected(path, 1)).all()
    assert set(res.counts) == {"car", "road", "tree"}
    assert sum(res.counts.values()) + res.unlabelled == 120 * 90


def test_coco_instances_one_entry_per_annotation(tmp_path):
    path, _ = _coco(tmp_path)
    res = import_mask(path, "coco", image="1", instances=True)
    assert (names_per_pixel(res) == _coco_expected(path, 1, instances=True)).all()
    assert "car #1" in res.counts and all("#" in n for n in res.counts)


def test_coco_image_choice_is_required_when_there_are_several_and_unknown_is_named(tmp_path):
    path, _ = _coco(tmp_path)
    with pytest.raises(UsageError, match=r"holds 2 images.*--image"):
        import_mask(path, "coco")
    with pytest.raises(UsageError, match=r"no image in the COCO file has the file_name or id \"nope\.jpg\""):
        import_mask(path, "coco", image="nope.jpg")


def test_coco_rle_of_another_size_is_refused_naming_the_annotation(tmp_path):
    path, data = _coco(tmp_path)
    data["annotations"][-2]["segmentation"]["size"] = [10, 10]
    path.write_text(json.dumps(data))
    with pytest.raises(ValidationError, match="annotation 501: its RLE is for"):
        import_mask(path, "coco", image="0001.jpg")


# ------------------------------------------------------------------------------------------------- VOC
def _palette_png(path, values):
    img = Image.fromarray(values.astype(np.uint8), "P")
    img.putpalette(list(np.random.default_rng(0).integers(0, 256, 768)))
    img.save(path)


def test_voc_palette_png_zero_and_255_unlabelled(tmp_path):
    values = np.zeros((6, 8), np.uint8)
    values[1:3, 1:4] = 15       # person
    values[3:5, 4:7] = 7        # car
    values[0, :] = 255          # void border
    path = tmp_path / "2007_000032.png"
    _palette_png(path, values)
    assert infer_format(path) == "voc"
    res = import_mask(path)
    assert (names_per_pixel(res) == expected_names(values, {15: "person", 7: "car"})).all()
    assert res.unlabelled == 48 - 6 - 6


def test_voc_index_outside_the_names_is_refused_with_value_and_position(tmp_path):
    values = np.zeros((4, 4), np.uint8)
    values[2, 3] = 40
    path = tmp_path / "x.png"
    _palette_png(path, values)
    with pytest.raises(ValidationError, match=r"palette index in the mask has no class name: 40 \(1 pixel, "
                                              r"first at x=3, y=2\)"):
        import_mask(path, "voc")
    res = import_mask(path, "voc", ignore=(40,))
    assert res.legend == {} and res.unlabelled == 16


# ------------------------------------------------------------------------------------------ Cityscapes
def test_cityscapes_label_train_and_instance_ids(tmp_path):
    label = np.array([[0, 7, 7, 26], [24, 26, 26, 1]], np.uint8)
    p = tmp_path / "aachen_000000_000019_gtFine_labelIds.png"
    Image.fromarray(label, "L").save(p)
    res = import_mask(p)
    assert res.format == "cityscapes"
    assert (names_per_pixel(res) == expected_names(label, {7: "road", 26: "car", 24: "person",
                                                           1: "ego vehicle"})).all()

    train = np.array([[0, 255, 13], [11, 0, 18]], np.uint8)
    p = tmp_path / "a_gtFine_labelTrainIds.png"
    Image.fromarray(train, "L").save(p)
    res = import_mask(p)
    assert (names_per_pixel(res) == expected_names(train, {0: "road", 13: "car", 11: "person",
                                                           18: "bicycle"})).all()

    inst = np.array([[7, 26000, 26001], [0, 24000, 26001]], np.uint16)
    p = tmp_path / "a_gtFine_instanceIds.png"
    Image.fromarray(inst).save(p)
    res = import_mask(p, instances=True)
    assert (names_per_pixel(res) == expected_names(inst, {7: "road", 26000: "car #1", 26001: "car #2",
                                                          24000: "person #1"})).all()
    assert (names_per_pixel(import_mask(p)) == expected_names(inst, {7: "road", 26000: "car", 26001: "car",
                                                                     24000: "person"})).all()


def test_cityscapes_colour_png_is_refused_with_a_sentence(tmp_path):
    p = tmp_path / "a_gtFine_color.png"
    Image.new("RGB", (4, 4)).save(p)
    with pytest.raises(ValidationError, match="several labels share one colour"):
        import_mask(p)


def test_mask_import_of_a_cityscapes_colour_png_is_a_refused_input_exit_1(tmp_path, capsys):
    """A readable file with content that cannot be imported is the input saying no (exit 1), as the README
    says; a missing one is a usage error (exit 2)."""
    p = tmp_path / "a_gtFine_color.png"
    Image.new("RGB", (4, 4)).save(p)
    argv = ["mask", "import", str(p), "-o", str(tmp_path / "m.png"), "--legend-out", str(tmp_path / "l.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {p}: a Cityscapes *_color.png cannot be imported") and "Traceback" not in err
    assert main([*argv, "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert (d["status"], d["exit_code"], d["problems"][0]["code"]) == ("error", 1, "cityscapes_color")
    p.unlink()
    assert main(argv) == 2 and "does not exist" in capsys.readouterr().err


def test_cityscapes_ids_option_overrides_the_name(tmp_path):
    p = tmp_path / "prediction.png"
    Image.fromarray(np.array([[0, 255]], np.uint8), "L").save(p)
    with pytest.raises(UsageError, match="--ids"):
        import_mask(p, "cityscapes")
    res = import_mask(p, "cityscapes", ids="train")
    assert list(res.counts) == ["road"] and res.unlabelled == 1


# ------------------------------------------------------------------------------------------------ CVAT
LABELMAP = ("# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:250,50,83::\nroad:128,64,128::\n")


def test_cvat_mask_keeps_cvat_colours(tmp_path):
    (tmp_path / "labelmap.txt").write_text(LABELMAP)
    (tmp_path / "SegmentationClass").mkdir()
    rgb = np.zeros((5, 6, 3), np.uint8)
    rgb[1:3, 1:3] = (250, 50, 83)
    rgb[3:, :] = (128, 64, 128)
    p = tmp_path / "SegmentationClass" / "frame_000001.png"
    Image.fromarray(rgb, "RGB").save(p)
    assert infer_format(p) == "cvat"
    res = import_mask(p)
    assert res.legend == {"#fa3253": "car", "#804080": "road"}
    exp = np.full((5, 6), "", dtype=object)
    exp[1:3, 1:3] = "car"
    exp[3:, :] = "road"
    assert (names_per_pixel(res) == exp).all()
    assert (res.rgba()[3, 0] == [128, 64, 128, 255]).all() and (res.rgba()[0, 0] == 0).all()


def test_cvat_colour_missing_from_the_labelmap_is_named(tmp_path):
    (tmp_path / "labelmap.txt").write_text(LABELMAP)
    rgb = np.zeros((3, 3, 3), np.uint8)
    rgb[2, 1] = (1, 2, 3)
    p = tmp_path / "f.png"
    Image.fromarray(rgb, "RGB").save(p)
    with pytest.raises(ValidationError, match=r"#010203 \(1 pixels, first at x=1, y=2\)"):
        import_mask(p, "cvat")


def test_cvat_bad_labelmap_line_is_named(tmp_path):
    (tmp_path / "labelmap.txt").write_text("car:250,50::\n")
    p = tmp_path / "f.png"
    Image.new("RGB", (2, 2)).save(p)
    with pytest.raises(ValidationError, match="line 1"):
        import_mask(p, "cvat")


# ---------------------------------------------------------------------------------------------- binary
def test_binary_folder_later_sorted_file_wins_or_order_file(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    a = np.zeros((4, 5), np.uint8)
    a[0:3, 0:3] = 255
    b = np.zeros((4, 5), np.uint8)
    b[2:4, 2:5] = 1
    Image.fromarray(a, "L").save(folder / "car.png")
    Image.fromarray(b, "L").save(folder / "road.png")
    assert infer_format(folder) == "binary"
    res = import_mask(folder)
    exp = np.full((4, 5), "", dtype=object)
    exp[a > 0] = "car"
    exp[b > 0] = "road"          # road.png sorts after car.png: it wins the overlap at (2, 2)
    assert (names_per_pixel(res) == exp).all()
    order = tmp_path / "order.txt"
    order.write_text("road\ncar\n")
    res = import_mask(folder, "binary", order=order)
    assert names_per_pixel(res)[2, 2] == "car"


def test_binary_soft_edges_are_refused_naming_file_value_and_pixel(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    a = np.zeros((3, 3), np.uint8)
    a[1, 2] = 128
    Image.fromarray(a, "L").save(folder / "car.png")
    with pytest.raises(ValidationError, match=r"car.png: the mask holds the value 128 at x=2, y=1"):
        import_mask(folder, "binary")


# ----------------------------------------------------------------------------------------------- index
def test_index_16bit_with_unlabelled_and_ignore(tmp_path):
    values = np.array([[0, 1, 2], [255, 300, 0]], np.uint16)
    p = tmp_path / "idx.png"
    Image.fromarray(values).save(p)
    classes = tmp_path / "classes.txt"
    classes.write_text("road\nsidewalk\ncar\n")   # with --unlabelled 255, line 1 names value 0
    res = import_mask(p, "index", classes=classes, unlabelled=255, ignore=(300,))
    assert (names_per_pixel(res) == expected_names(values, {0: "road", 1: "sidewalk", 2: "car"})).all()
    npy = tmp_path / "idx.npy"
    np.save(npy, np.array([[1, 0], [2, 2]], np.uint8))
    res = import_mask(npy, classes=["a", "b"])
    assert res.counts == {"a": 1, "b": 2}


def test_index_needs_classes(tmp_path):
    p = tmp_path / "idx.png"
    Image.fromarray(np.zeros((2, 2), np.uint8), "L").save(p)
    with pytest.raises(UsageError, match="--classes"):
        import_mask(p, "index")


# ------------------------------------------------------------------------------------------ class names
def _voc(tmp_path):
    values = np.array([[7, 7, 15], [0, 6, 6]], np.uint8)   # car, person, bus
    p = tmp_path / "v.png"
    _palette_png(p, values)
    return p, values


def test_map_renames_merges_and_drops(tmp_path):
    p, values = _voc(tmp_path)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"bus": "vehicle", "car": "vehicle", "person": None}))
    res = import_mask(p, "voc", mapping=mapping)
    assert (names_per_pixel(res) == expected_names(values, {7: "vehicle", 6: "vehicle"})).all()
    assert res.counts == {"vehicle": 4} and res.unlabelled == 2


def test_unknown_class_is_refused_naming_the_closest_known(tmp_path):
    p, _ = _voc(tmp_path)
    with pytest.raises(ValidationError) as e:
        import_mask(p, "voc", known=["Car", "pedestrian", "bus"])
    text = " ".join(str(x) for x in e.value.problems)
    assert "class \"car\"" in text and "the closest is \"Car\"" in text and "class \"person\"" in text
    res = import_mask(p, "voc", known=["Car", "pedestrian", "bus"],
                      mapping={"car": "Car", "person": "pedestrian"})
    assert set(res.counts) == {"Car", "pedestrian", "bus"}


def test_colours_are_stable_per_name_across_formats_and_can_be_pinned(tmp_path):
    p, _ = _voc(tmp_path)
    a = import_mask(p, "voc")
    folder = tmp_path / "bin"
    folder.mkdir()
    Image.fromarray(np.full((2, 2), 255, np.uint8), "L").save(folder / "car.png")
    b = import_mask(folder, "binary")
    car_a = next(c for c, n in a.legend.items() if n == "car")
    assert b.legend == {car_a: "car"}
    colours = stable_colours([f"class {i}" for i in range(200)])
    assert len(set(colours.values())) == 200 and "#000000" not in colours.values()
    pinned = tmp_path / "colours.json"
    pinned.write_text(json.dumps({"car": "#123456"}))
    c = import_mask(p, "voc", colours=pinned)
    assert c.legend["#123456"] == "car"


def test_options_object_and_check_pass(tmp_path):
    p, _ = _voc(tmp_path)
    res = import_mask(p, "voc", ImportOptions(ignore=(6,)))
    out, legend = tmp_path / "o.png", tmp_path / "o.json"
    res.write(out, legend)
    report = check(out, json.loads(legend.read_text()))
    assert report.ok and set(res.counts) == {"car", "person"}


# ----------------------------------------------------------------------------------------- command line
def test_cli_import_writes_a_checked_mask_and_prints_counts(tmp_path, capsys):
    path, _ = _coco(tmp_path)
    out, legend = tmp_path / "out.png", tmp_path / "legend.json"
    assert main(["mask", "import", str(path), "--image", "frames/0001.jpg", "-o", str(out),
                 "--legend-out", str(legend)]) == 0
    text = capsys.readouterr().out
    assert "road" in text and "unlabelled" in text and "from coco" in text
    assert check(out, json.loads(legend.read_text())).ok
    assert main(["mask", "import", str(path), "-o", str(out), "--legend-out", str(legend)]) == 2
    assert "--image" in capsys.readouterr().err


def test_cli_refusal_exit_1_and_profile_class_list(tmp_path, capsys, monkeypatch):
    from playment_submit.core.settings import Profile, save_profiles
    save_profiles({"default": Profile(name="default", classes=["vehicle", "human"])}, current="default")
    p, _ = _voc(tmp_path)
    args = ["mask", "import", str(p), "--from", "voc", "-o", str(tmp_path / "o.png"),
            "--legend-out", str(tmp_path / "o.json")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "class \"person\"" in err and "the closest is" in err and not (tmp_path / "o.png").exists()
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"bus": "vehicle", "car": "vehicle", "person": "human"}))
    assert main([*args, "--map", str(mapping)]) == 0


def test_mask_encode_still_works_as_before(tmp_path):
    idx = tmp_path / "i.png"
    Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "L").save(idx)
    classes = tmp_path / "c.txt"
    classes.write_text("car\nroad\n")
    assert main(["mask", "encode", str(idx), "--classes", str(classes), "-o", str(tmp_path / "o.png"),
                 "--legend-out", str(tmp_path / "o.json")]) == 0
    assert list(json.loads((tmp_path / "o.json").read_text()).values()) == ["car", "road"]


def test_written_mask_equals_the_in_memory_colouring_for_few_and_many_classes(tmp_path):
    """write() colours through Pillow up to 255 classes and through numpy beyond: both give rgba()."""
    from playment_submit.core.mask.formats import ImportResult
    rng = np.random.default_rng(3)
    for n, dtype in ((7, np.uint8), (300, np.uint16)):
        classes = rng.integers(0, n + 1, (23, 31)).astype(dtype)
        legend = {f"#{(k * 2654435761) & 0xFFFFFF:06x}": f"c{k}" for k in range(1, n + 1)}
        res = ImportResult("x", "index", classes, legend, {}, 0)
        res.write(tmp_path / f"o{n}.png", tmp_path / f"l{n}.json")
        with Image.open(tmp_path / f"o{n}.png") as im:
            assert im.mode == "RGBA"
            assert np.array_equal(np.asarray(im), res.rgba())
