"""core/shapes/layer.py: what the window draws and hovers, and the edits it hands back (issue 25, window)."""

from __future__ import annotations

from playment_submit.core.legend import name_colours
from playment_submit.core.shapes.layer import ShapeLayer


def box(x0, y0, x1, y1, label, sid):
    return {"_id": sid, "label": label, "attributes": {}, "state": "editable",
            "coordinates": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]}


FRAGMENT = {
    "rectangles": {"data": [box(0.1, 0.1, 0.5, 0.5, "car", "a"), box(0.2, 0.2, 0.3, 0.3, "person", "b"),
                            box(0.6, 0.6, 0.9, 0.9, "car", "c")]},
    "polygons": {"data": [{"_id": "t", "label": "tree", "points": {"p1": {"x": 0.6, "y": 0.1},
                                                                    "p2": {"x": 0.9, "y": 0.1},
                                                                    "p3": {"x": 0.75, "y": 0.4}},
                           "edges": {"e1": ["p1", "p2"], "e2": ["p2", "p3"], "e3": ["p3", "p1"]}}]},
    "lines": {"data": [{"_id": "l", "label": "lane", "points": {"p1": {"x": 0.0, "y": 0.95},
                                                                 "p2": {"x": 0.5, "y": 0.95}},
                        "edges": {"e1": ["p1", "p2"]}}]},
    "landmarks": {"data": [{"_id": "k", "label": "eye", "points": {"p1": {"x": 0.95, "y": 0.05}}}]},
}


def test_labels_counts_and_colours_come_from_core():
    layer = ShapeLayer(FRAGMENT, 1000, 500)
    rows = {r.label: r for r in layer.labels}
    assert rows["car"].counts == {"rectangles": 2} and rows["tree"].counts == {"polygons": 1}
    assert {r.label: r.colour for r in layer.labels} == name_colours(["car", "person", "tree", "lane", "eye"])
    a = layer.outlines[0]
    assert a.points == [(100.0, 50.0), (500.0, 50.0), (500.0, 250.0), (100.0, 250.0)]  # pixels of a 1000x500 image


def test_hover_names_the_smallest_shape_under_the_pointer_and_skips_hidden_labels():
    layer = ShapeLayer(FRAGMENT, 1000, 500)
    assert layer.describe(250, 125) == 'rectangle 2 ("person")'       # inside car a too: the smaller wins
    assert layer.describe(150, 60) == 'rectangle 1 ("car")'
    assert layer.describe(250, 125, hidden={"person"}) == 'rectangle 1 ("car")'
    assert layer.describe(750, 100) == 'polygon 1 ("tree")'
    assert layer.describe(610, 190) == ""                               # in the tree's box, outside the triangle
    assert layer.describe(300, 476) == 'line 1 ("lane")'               # 1 px off the line
    assert layer.describe(300, 490) == ""
    assert layer.describe(951, 26) == 'landmark group 1 ("eye")'


def test_hover_stays_cheap_with_many_shapes():
    many = {"rectangles": {"data": [box(i % 100 / 100, i // 100 / 100, i % 100 / 100 + 0.005, i // 100 / 100 + 0.005,
                                        "car", str(i)) for i in range(5000)]}}
    layer = ShapeLayer(many, 4000, 4000)
    longest = max(len(c) for c in layer._grid.values())
    assert longest <= 16   # a cell holds a handful of candidates, not 5,000
    assert layer.describe(4000 * 0.37 + 5, 4000 * 0.21 + 5) == 'rectangle 2138 ("car")'


def test_edits_return_new_fragments():
    layer = ShapeLayer(FRAGMENT, 1000, 500)
    merged = layer.renamed("person", "car")
    assert [s["label"] for s in merged["rectangles"]["data"]] == ["car", "car", "car"]
    assert FRAGMENT["rectangles"]["data"][1]["label"] == "person"          # the input is not changed
    no_tree = layer.without_label("tree")
    assert "polygons" not in no_tree and len(no_tree["rectangles"]["data"]) == 3
    one_less = layer.without_shape(layer.outlines[1])
    assert [s["_id"] for s in one_less["rectangles"]["data"]] == ["a", "c"]


def test_badly_formed_shapes_are_skipped_and_counted():
    bad = {"rectangles": {"data": [{"label": "car", "coordinates": [{"x": "a", "y": 0}]}, box(0, 0, 1, 1, "x", "y")]}}
    layer = ShapeLayer(bad, 10, 10)
    assert layer.skipped == 1 and [o.label for o in layer.outlines] == ["x"]
