"""shapes import / check (issue 25 part 1): each format written by its own rules, expected coordinates computed
here independently, the check's sentences, hostile input refused with a sentence, through the CLI entry point."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from playment_submit.core.cli import main
from playment_submit.core.shapes import check_shapes

W, H = 200, 100


@pytest.fixture
def image(tmp_path):
    p = tmp_path / "frame.png"
    Image.new("RGB", (W, H)).save(p)
    return p


def run(tmp_path, *argv):
    out = tmp_path / "shapes.json"
    code = main(["shapes", "import", *map(str, argv), "-o", str(out)])
    return code, (json.loads(out.read_text()) if out.exists() else None)


def corners(x0, y0, x1, y1):
    return [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]


def test_yolo_box_score_polygon_and_min_score(tmp_path, image, capsys):
    src = tmp_path / "f.txt"
    src.write_text("0 0.5 0.5 0.2 0.4 0.9\n1 0.1 0.1 0.3 0.1 0.2 0.3\n0 0.5 0.5 0.1 0.1 0.1\n")
    names = tmp_path / "classes.txt"
    names.write_text("car\nperson\n")
    code, got = run(tmp_path, src, "--classes", names, "--image", image, "--min-score", "0.5")
    assert code == 0
    box = got["rectangles"]["data"]
    assert len(box) == 1 and box[0]["label"] == "car" and box[0]["attributes"] == {"score": 0.9}
    assert all(
        a["x"] == pytest.approx(b["x"]) and a["y"] == pytest.approx(b["y"])
        for a, b in zip(box[0]["coordinates"], corners(0.4, 0.3, 0.6, 0.7), strict=True))
    poly = got["polygons"]["data"][0]
    assert poly["label"] == "person" and poly["state"] == "editable"
    assert poly["points"]["p3"] == {"x": 0.2, "y": 0.3}
    assert poly["edges"]["e3"] == ["p3", "p1"]  # the ring closed
    assert "1 detection below --min-score 0.5 left out." in capsys.readouterr().err
    _, again = run(tmp_path, src, "--classes", names, "--image", image, "--min-score", "0.5")
    assert again == got  # stable ids


def test_voc_corners_are_one_based_inclusive(tmp_path):
    src = tmp_path / "a.xml"
    src.write_text("<annotation><size><width>200</width><height>100</height></size><object><name>dog</name>"
                   "<bndbox><xmin>11</xmin><ymin>21</ymin><xmax>50</xmax><ymax>60</ymax></bndbox></object>"
                   "</annotation>")
    code, got = run(tmp_path, src, "--locked")
    assert code == 0
    r = got["rectangles"]["data"][0]
    assert r["state"] == "non_editable" and r["label"] == "dog"
    exp = corners((11 - 1) / 200, (21 - 1) / 100, 50 / 200, 60 / 100)
    for a, b in zip(r["coordinates"], exp, strict=True):
        assert a["x"] == pytest.approx(b["x"]) and a["y"] == pytest.approx(b["y"])


def test_labelme_kinds_clipping_and_outside(tmp_path, capsys):
    src = tmp_path / "f.json"
    src.write_text(json.dumps({"imageWidth": W, "imageHeight": H, "imagePath": "f.png", "shapes": [
        {"label": "a", "shape_type": "rectangle", "points": [[100, 80], [20, 10]]},
        {"label": "b", "shape_type": "polygon", "points": [[0, 0], [100, 0], [100, 150]]},
        {"label": "c", "shape_type": "linestrip", "points": [[0, 0], [50, 50]]},
        {"label": "k", "shape_type": "point", "points": [[10, 10]], "group_id": 1},
        {"label": "k", "shape_type": "point", "points": [[20, 20]], "group_id": 1},
        {"label": "z", "shape_type": "rectangle", "points": [[300, 300], [400, 400]]}]}))
    code, got = run(tmp_path, src)
    assert code == 0
    r = got["rectangles"]["data"]
    assert len(r) == 1 and r[0]["coordinates"][0] == {"x": 20 / W, "y": 10 / H}
    assert got["polygons"]["data"][0]["points"]["p3"] == {"x": 0.5, "y": 1.0}
    assert got["lines"]["data"][0]["edges"] == {"e1": ["p1", "p2"]}
    assert got["landmarks"]["data"][0]["points"] == {"p1": {"x": 0.05, "y": 0.1}, "p2": {"x": 0.1, "y": 0.2}}
    err = capsys.readouterr().err
    assert "1 shape partly outside the image clipped to it." in err
    assert "1 shape wholly outside the image left out." in err


def test_coco_dataset_results_and_crowd(tmp_path, image, capsys):
    ds = tmp_path / "ds.json"
    ds.write_text(json.dumps({"images": [{"id": 7, "file_name": "frame.png", "width": W, "height": H}],
                              "categories": [{"id": 3, "name": "cat"}],
                              "annotations": [{"image_id": 7, "category_id": 3, "bbox": [10, 20, 30, 40]},
                                              {"image_id": 7, "category_id": 3, "iscrowd": 1,
                                               "segmentation": {"counts": "x", "size": [H, W]}}]}))
    code, got = run(tmp_path, ds)
    assert code == 0 and got["rectangles"]["data"][0]["coordinates"][2] == {"x": 40 / W, "y": 60 / H}
    assert "crowd" in capsys.readouterr().err
    res = tmp_path / "res.json"
    res.write_text(json.dumps([{"image_id": 7, "category_id": 3, "bbox": [0, 0, 20, 10], "score": 0.7}]))
    code, got = run(tmp_path, res, "--classes", ds, "--image", image)
    assert code == 0 and got["rectangles"]["data"][0]["label"] == "cat"
    assert got["rectangles"]["data"][0]["attributes"]["score"] == 0.7


def test_cvat_and_labelstudio(tmp_path, capsys):
    cv = tmp_path / "c.xml"
    cv.write_text(f'<annotations><image id="0" name="f.png" width="{W}" height="{H}">'
                  '<box label="car" xtl="10" ytl="10" xbr="30" ybr="20" z_order="2"><attribute name="color">red'
                  '</attribute></box><polyline label="lane" points="0,0;100,50"/></image></annotations>')
    code, got = run(tmp_path, cv)
    assert code == 0 and got["rectangles"]["data"][0]["attributes"] == {"color": "red"}
    assert got["lines"]["data"][0]["points"]["p2"] == {"x": 0.5, "y": 0.5}
    assert "z_order" in capsys.readouterr().err
    ls = tmp_path / "ls.json"
    ls.write_text(json.dumps([{"annotations": [{"result": [
        {"type": "rectanglelabels", "original_width": W, "original_height": H,
         "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rectanglelabels": ["car"]}},
        {"type": "rectanglelabels", "original_width": W, "original_height": H,
         "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 90, "rectanglelabels": ["bus"]}}]}]}]))
    code, got = run(tmp_path, ls)
    assert code == 0
    c = got["rectangles"]["data"][0]["coordinates"]
    assert c[0]["x"] == pytest.approx(0.1) and c[2]["y"] == pytest.approx(0.6)
    assert got["polygons"]["data"][0]["label"] == "bus"
    assert "4-point polygons" in capsys.readouterr().err


def test_known_and_map(tmp_path, capsys):
    src = tmp_path / "a.xml"
    src.write_text("<annotation><size><width>10</width><height>10</height></size><object><name>persn</name>"
                   "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
                   "</annotation>")
    known = tmp_path / "known.txt"
    known.write_text("person\ncar\n")
    code, _ = run(tmp_path, src, "--known", known)
    assert code == 1 and 'closest known name is "person"' in capsys.readouterr().err
    m = tmp_path / "map.json"
    m.write_text(json.dumps({"persn": "person"}))
    code, got = run(tmp_path, src, "--known", known, "--map", m)
    assert code == 0 and got["rectangles"]["data"][0]["label"] == "person"


@pytest.mark.parametrize("body", [
    '<!DOCTYPE a [<!ENTITY x "y">]><annotation>&x;</annotation>',
    "<annotation><size><width>10</width><height>10</height></size><object><name>a</name><bndbox>"
    "<xmin>nan</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
    "<annotation><size><width>10</width><height>10</height></size><object><name>a</name><bndbox>"
    "<xmin>1e300</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
])
def test_hostile_xml_refused_with_a_sentence(tmp_path, body, capsys):
    src = tmp_path / "h.xml"
    src.write_text(body)
    code, _ = run(tmp_path, src, "--from", "voc")
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and str(src) in err


def test_hostile_json_refused(tmp_path, capsys):
    src = tmp_path / "h.json"
    src.write_text(json.dumps({"imageWidth": W, "imageHeight": H, "shapes": [
        {"label": "a", "shape_type": "polygon", "points": [["x", 1], [2, 3], [4, 5]]}]}))
    code, _ = run(tmp_path, src)
    assert code == 1 and "not a finite number" in capsys.readouterr().err
    src.write_text("[" * 100000 + "]" * 100000)
    code, _ = run(tmp_path, src, "--from", "labelme")
    assert code == 1 and "Traceback" not in capsys.readouterr().err


def test_check_sentences(tmp_path, capsys):
    bad = {"rectangles": {"data": [{"_id": "a", "label": "car", "coordinates": corners(0.5, 0.5, 0.5, 0.9)},
                                   {"_id": "a", "label": "x\x07", "coordinates": corners(0, 0, 2, 1)}]},
           "polygons": {"data": [{"_id": "p", "label": "road", "points": {"p1": {"x": 0, "y": 0},
                                                                          "p2": {"x": 0, "y": 0}},
                                  "edges": {"e1": ["p1", "p9"]}}]}}
    texts = [p.message for p in check_shapes(bad)]
    assert 'Rectangle 1 ("car") has no area' in texts[0]
    assert any("control or bidi characters" in t for t in texts)
    assert any('has the _id "a" that rectangle 1 ("car") has too' in t for t in texts)
    assert any("four {x, y} numbers in 0..1" in t for t in texts)
    assert any('Polygon 1 ("road") has 1 distinct point, fewer than 3' in t for t in texts)
    assert any('edge "e1"' in t for t in texts)
    f = tmp_path / "s.json"
    f.write_text(json.dumps(bad))
    assert main(["shapes", "check", str(f)]) == 1
    assert "has no area" in capsys.readouterr().err
    f.write_text(json.dumps({"lines": {"data": [{"_id": "l", "label": "lane", "points": {
        "p1": {"x": 0, "y": 0}, "p2": {"x": 1, "y": 1}}, "edges": {"e1": ["p1", "p2"]}}]}}))
    assert main(["shapes", "check", str(f)]) == 0
