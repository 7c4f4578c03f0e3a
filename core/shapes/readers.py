"""Readers for vector pre-label sources: each returns an :class:`.model.Outcome` in pixels.

YOLO txt, COCO dataset JSON or detector results, LabelMe JSON, Pascal VOC XML, CVAT for images 1.1 XML and
Label Studio JSON. Files over :data:`MAX_BYTES` are refused before reading; XML with a DOCTYPE or ENTITY is
refused before parsing (no entity expansion).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..errors import Problem, UsageError, ValidationError
from ..jsonio import parse_json
from .model import Outcome, Shape

MAX_BYTES = 64 * 1024 * 1024
FORMATS = ("yolo", "coco", "labelme", "voc", "cvat", "labelstudio")


def refuse(where: str, text: str) -> ValidationError:
    return ValidationError([Problem(where, text)])


def read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise refuse(str(p), f"the {what} is {size / 1e6:.0f} MB, more than the {MAX_BYTES // 2**20} MB a "
                                 f"shapes source may be; split it.")
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise UsageError(f"The {what} {p} does not exist.") from e
    except IsADirectoryError as e:
        raise UsageError(f"The {what} {p} is a folder, not a file.") from e
    except UnicodeDecodeError as e:
        raise refuse(str(p), f"the {what} is not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8.") from e
    except OSError as e:
        raise UsageError(f"The {what} {p} cannot be read: {e.strerror}.") from e


def read_json(path: str | Path, what: str) -> Any:
    data, problem = parse_json(read_text(path, what), what=what, where=str(path))
    if problem is not None:
        raise ValidationError([problem])
    return data


def read_xml(path: str | Path, what: str) -> ET.Element:
    text = read_text(path, what)
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise refuse(str(path), f"the {what} declares a DOCTYPE or ENTITY, which annotation exports never need "
                                f"and which can expand without bound; remove the declaration.")
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        raise refuse(str(path), f"the {what} is not well-formed XML ({e}).") from e
    except RecursionError as e:
        raise refuse(str(path), f"the {what} nests elements too deeply; no annotation export needs that.") from e


def num(value: Any, where: str, field: str) -> float:
    try:
        v = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or abs(v) > 1e9:
        raise refuse(where, f"{field} is {json.dumps(value) if not isinstance(value, ET.Element) else '?'}, "
                            f"not a finite number of sensible size; fix the source.")
    return v


def size_of(image: str | Path | None) -> tuple[int, int] | None:
    if image is None:
        return None
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(image) as im:
            return int(im.width), int(im.height)
    except FileNotFoundError as e:
        raise UsageError(f"The image {image} does not exist.") from e
    except (UnidentifiedImageError, OSError) as e:
        raise UsageError(f"The image {image} cannot be read as an image.") from e
    except Image.DecompressionBombError:
        raise UsageError(f"The image {image} has more pixels than this app reads (a decompression bomb?); use the "
                         f"real frame.") from None


def frame(out_w: float | None, out_h: float | None, image: tuple[int, int] | None, where: str,
          notes: list[str]) -> tuple[float, float]:
    """The size to normalise by: the declared one, said when it differs from --image's."""
    if image is not None and out_w and out_h and (int(out_w), int(out_h)) != image:
        notes.append(f"{where} declares an image of {int(out_w)}×{int(out_h)} pixels but --image is "
                     f"{image[0]}×{image[1]}; the shapes are normalised by the declared size.")
    if out_w and out_h and out_w > 0 and out_h > 0:
        return out_w, out_h
    if image is not None:
        return float(image[0]), float(image[1])
    raise UsageError(f"{where} does not say the image size; give the image with --image.")


def load_classes(path: str | Path | None) -> list[str] | None:
    """A names file (line 1 = class 0), a data.yaml (``names`` list or {index: name}) or a COCO dataset JSON."""
    if path is None:
        return None
    p = Path(path)
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml
        try:
            data = yaml.safe_load(read_text(p, "classes file"))
        except yaml.YAMLError as e:
            raise refuse(str(p), f"the classes file is not valid YAML ({type(e).__name__}).") from e
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            try:
                return [str(names[k]) for k in sorted(names, key=int)]
            except (TypeError, ValueError) as e:
                raise refuse(str(p), "the names in data.yaml must be keyed by class index 0, 1, ...") from e
        if isinstance(names, list):
            return [str(n) for n in names]
        raise refuse(str(p), "data.yaml has no \"names\" list; write names: [class0, class1, ...].")
    if p.suffix.lower() == ".json":
        data = read_json(p, "classes file")
        cats = data.get("categories") if isinstance(data, dict) else None
        if not isinstance(cats, list):
            raise refuse(str(p), "a JSON classes file must be a COCO dataset with \"categories\".")
        return coco_categories(cats, str(p))  # type: ignore[return-value]
    return [line.strip() for line in read_text(p, "classes file").splitlines() if line.strip()]


def coco_categories(cats: list[Any], where: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for c in cats:
        if isinstance(c, dict) and isinstance(c.get("id"), int) and isinstance(c.get("name"), str):
            out[c["id"]] = c["name"]
    return out


def _class_name(classes: Any, index: int, where: str) -> str:
    if classes is None:
        return str(index)
    try:
        return str(classes[index])
    except (IndexError, KeyError) as e:
        raise refuse(where, f"class {index} is not in the classes file; add it or fix the index.") from e


def read_yolo(path: str, classes: Any, image: tuple[int, int] | None) -> Outcome:
    if image is None:
        raise UsageError("YOLO labels are normalised but Playment shapes still need the frame; give --image.")
    out = Outcome(1.0, 1.0, path)
    for n, line in enumerate(read_text(path, "YOLO label file").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        where = f"{path}:{n}"
        try:
            cls = int(parts[0])
        except ValueError as e:
            raise refuse(where, f"the class \"{parts[0][:20]}\" is not a class index; write an integer.") from e
        values = [num(v, where, "a value") for v in parts[1:]]
        label = _class_name(classes, cls, where)
        if len(values) in (4, 5):
            cx, cy, w, h = values[:4]
            score = values[4] if len(values) == 5 else None
            out.shapes.append(Shape("rectangles", label, [(cx - w / 2, cy - h / 2), (cx + w / 2, cy + h / 2)],
                                    score=score))
        elif len(values) >= 6 and len(values) % 2 == 0:
            out.shapes.append(Shape("polygons", label, list(zip(values[::2], values[1::2], strict=True))))
        else:
            raise refuse(where, f"the line has {len(values)} numbers after the class; write cx cy w h [score] "
                                f"or x1 y1 x2 y2 x3 y3 ...")
    return out


def read_labelme(path: str, image: tuple[int, int] | None) -> Outcome:
    data = read_json(path, "LabelMe file")
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise refuse(path, "a LabelMe file is an object with a \"shapes\" list.")
    notes: list[str] = []
    w, h = frame(num(data.get("imageWidth", 0) or 0, path, "imageWidth"),
                 num(data.get("imageHeight", 0) or 0, path, "imageHeight"), image, path, notes)
    out = Outcome(w, h, path)
    out.notes.extend(notes)
    groups: dict[tuple[str, Any], list[tuple[float, float]]] = {}
    for i, s in enumerate(data["shapes"]):
        where = f"{path}: shapes[{i}]"
        if not isinstance(s, dict) or not isinstance(s.get("points"), list):
            raise refuse(where, "each shape needs \"points\": [[x, y], ...].")
        pts = []
        for p in s["points"]:
            if not isinstance(p, list) or len(p) != 2:
                raise refuse(where, "each point must be [x, y].")
            pts.append((num(p[0], where, "x"), num(p[1], where, "y")))
        label = str(s.get("label", ""))
        kind = s.get("shape_type", "polygon")
        attrs = {k: v for k, v in (s.get("flags") or {}).items()} if isinstance(s.get("flags"), dict) else {}
        if kind == "rectangle" and len(pts) == 2:
            out.shapes.append(Shape("rectangles", label, pts, attrs))
        elif kind == "polygon":
            out.shapes.append(Shape("polygons", label, pts, attrs))
        elif kind in ("line", "linestrip"):
            out.shapes.append(Shape("lines", label, pts, attrs))
        elif kind == "point":
            groups.setdefault((label, s.get("group_id") if s.get("group_id") is not None else f"#{i}"),
                              []).extend(pts)
        else:
            out.note(f"LabelMe \"{kind}\" shapes are not carried and were left out.")
    for (label, _), pts in groups.items():
        out.shapes.append(Shape("landmarks", label, pts))
    return out


def read_voc(path: str, image: tuple[int, int] | None) -> Outcome:
    root = read_xml(path, "VOC file")
    size = root.find("size")
    notes: list[str] = []
    dw = num(size.findtext("width", "0"), path, "<width>") if size is not None else 0.0
    dh = num(size.findtext("height", "0"), path, "<height>") if size is not None else 0.0
    w, h = frame(dw, dh, image, path, notes)
    out = Outcome(w, h, path)
    out.notes.extend(notes)
    for i, obj in enumerate(root.iter("object")):
        where = f"{path}: object {i + 1}"
        box = obj.find("bndbox")
        if box is None:
            out.note("VOC objects without <bndbox> were left out.")
            continue
        x0, y0, x1, y1 = (num(box.findtext(t), where, f"<{t}>") for t in ("xmin", "ymin", "xmax", "ymax"))
        attrs = {t: obj.findtext(t) for t in ("pose", "truncated", "difficult") if obj.findtext(t) is not None}
        # 1-based inclusive pixel corners: the box spans (xmin - 1) .. xmax in continuous coordinates.
        out.shapes.append(Shape("rectangles", (obj.findtext("name") or "").strip(),
                                [(x0 - 1, y0 - 1), (x1, y1)], attrs))
    return out


def _rotated(x0: float, y0: float, x1: float, y1: float, degrees: float) -> list[tuple[float, float]]:
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c)
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]


def read_cvat(path: str, image: tuple[int, int] | None, image_name: str | None = None) -> Outcome:
    root = read_xml(path, "CVAT file")
    images = root.findall("image")
    if not images:
        raise refuse(path, "the CVAT file has no <image>; export as \"CVAT for images 1.1\".")
    chosen = images[0]
    if len(images) > 1:
        names = [im.get("name", "") for im in images]
        match = [im for im, n in zip(images, names, strict=True)
                 if image_name and Path(n).name == Path(image_name).name]
        if not match:
            raise UsageError(f"{path} holds {len(images)} images; give the one to import with --image.")
        chosen = match[0]
    notes: list[str] = []
    w, h = frame(num(chosen.get("width", 0), path, "width"), num(chosen.get("height", 0), path, "height"),
                 image, path, notes)
    out = Outcome(w, h, path)
    out.notes.extend(notes)
    for i, el in enumerate(chosen):
        where = f"{path}: {el.tag} {i + 1}"
        label = el.get("label", "")
        attrs: dict[str, Any] = {a.get("name", ""): (a.text or "") for a in el.findall("attribute")}
        if el.get("z_order") not in (None, "0"):
            out.note("CVAT z_order is not carried.")
        if el.get("occluded") == "1":
            attrs["occluded"] = True
        if el.tag == "box":
            x0, y0, x1, y1 = (num(el.get(k), where, k) for k in ("xtl", "ytl", "xbr", "ybr"))
            rot = num(el.get("rotation", 0), where, "rotation")
            if rot % 360:
                out.note("Rotated boxes became 4-point polygons.")
                out.shapes.append(Shape("polygons", label, _rotated(x0, y0, x1, y1, rot), attrs))
            else:
                out.shapes.append(Shape("rectangles", label, [(x0, y0), (x1, y1)], attrs))
            continue
        kind = {"polygon": "polygons", "polyline": "lines", "points": "landmarks"}.get(el.tag)
        if kind is None:
            out.note(f"CVAT <{el.tag}> shapes are not carried and were left out.")
            continue
        pts = []
        for pair in (el.get("points") or "").split(";"):
            xy = pair.split(",")
            if len(xy) != 2:
                raise refuse(where, "points must be \"x1,y1;x2,y2;...\".")
            pts.append((num(xy[0], where, "x"), num(xy[1], where, "y")))
        out.shapes.append(Shape(kind, label, pts, attrs))
    return out


def read_coco(path: str, data: Any, classes: Any, image: tuple[int, int] | None, image_name: str | None,
              boxes: bool) -> Outcome:
    if isinstance(data, list):  # detector results
        if image is None:
            raise UsageError("COCO detector results do not say the image size; give the image with --image.")
        out = Outcome(float(image[0]), float(image[1]), path)
        ids = {d.get("image_id") for d in data if isinstance(d, dict)}
        if len(ids) > 1:
            raise UsageError(f"{path} holds results for {len(ids)} images; split it per image.")
        for i, d in enumerate(data):
            where = f"{path}: [{i}]"
            if not isinstance(d, dict) or not isinstance(d.get("bbox"), list) or len(d["bbox"]) != 4:
                raise refuse(where, "each result needs \"bbox\": [x, y, w, h].")
            x, y, bw, bh = (num(v, where, "bbox") for v in d["bbox"])
            cat = d.get("category_id")
            label = _class_name(classes, cat, where) if isinstance(cat, int) else str(cat)
            score = num(d["score"], where, "score") if "score" in d else None
            out.shapes.append(Shape("rectangles", label, [(x, y), (x + bw, y + bh)], score=score))
        return out
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not data["images"]:
        raise refuse(path, "a COCO dataset needs \"images\", \"annotations\" and \"categories\".")
    imgs = [im for im in data["images"] if isinstance(im, dict)]
    chosen = imgs[0] if len(imgs) == 1 else next(
        (im for im in imgs if image_name and Path(str(im.get("file_name", ""))).name == Path(image_name).name), None)
    if chosen is None:
        raise UsageError(f"{path} holds {len(imgs)} images; give the one to import with --image.")
    notes: list[str] = []
    w, h = frame(num(chosen.get("width", 0), path, "width"), num(chosen.get("height", 0), path, "height"),
                 image, path, notes)
    out = Outcome(w, h, path)
    out.notes.extend(notes)
    cats = coco_categories(data.get("categories") or [], path)
    for i, a in enumerate(data.get("annotations") or []):
        where = f"{path}: annotations[{i}]"
        if not isinstance(a, dict) or a.get("image_id") != chosen.get("id"):
            continue
        cat_id = a.get("category_id")
        label = cats.get(cat_id, str(cat_id)) if isinstance(cat_id, int) else str(cat_id)
        seg = a.get("segmentation")
        if isinstance(seg, dict) or a.get("iscrowd") == 1:
            out.note("COCO RLE (crowd) annotations were left out.")
            continue
        if isinstance(seg, list) and seg and not boxes:
            for ring in seg:
                if not isinstance(ring, list) or len(ring) % 2:
                    raise refuse(where, "a polygon segmentation is [x1, y1, x2, y2, ...].")
                vals = [num(v, where, "segmentation") for v in ring]
                out.shapes.append(Shape("polygons", label, list(zip(vals[::2], vals[1::2], strict=True))))
            continue
        bbox = a.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise refuse(where, "the annotation has neither a polygon nor \"bbox\": [x, y, w, h].")
        x, y, bw, bh = (num(v, where, "bbox") for v in bbox)
        score = num(a["score"], where, "score") if "score" in a else None
        out.shapes.append(Shape("rectangles", label, [(x, y), (x + bw, y + bh)], score=score))
    return out


def read_labelstudio(path: str, data: Any, image: tuple[int, int] | None) -> Outcome:
    tasks = data if isinstance(data, list) else [data]
    if len(tasks) != 1 or not isinstance(tasks[0], dict):
        raise UsageError(f"{path} holds {len(tasks)} tasks; export or split one task per image.")
    task = tasks[0]
    anns = task.get("annotations") or task.get("predictions") or []
    results = [r for a in anns if isinstance(a, dict) for r in (a.get("result") or [])]
    out: Outcome | None = None
    notes: list[str] = []
    for i, r in enumerate(results):
        where = f"{path}: result {i + 1}"
        if not isinstance(r, dict) or not isinstance(r.get("value"), dict):
            continue
        if out is None:
            w, h = frame(num(r.get("original_width", 0), where, "original_width"),
                         num(r.get("original_height", 0), where, "original_height"), image, path, notes)
            out = Outcome(w, h, path)
            out.notes.extend(notes)
        v = r["value"]
        t = r.get("type", "")
        labels = v.get(t) if isinstance(v.get(t), list) else []
        label = str(labels[0]) if labels else ""
        sx, sy = out.width / 100.0, out.height / 100.0
        score = num(r["score"], where, "score") if "score" in r else None
        if t == "rectanglelabels":
            x, y, bw, bh = (num(v.get(k), where, k) for k in ("x", "y", "width", "height"))
            rot = num(v.get("rotation", 0), where, "rotation")
            if rot % 360:  # Label Studio rotates about the top-left corner
                out.note("Rotated boxes became 4-point polygons.")
                a = math.radians(rot)
                c, s = math.cos(a), math.sin(a)
                px, py = x * sx, y * sy
                corners = [(0, 0), (bw * sx, 0), (bw * sx, bh * sy), (0, bh * sy)]
                pts = [(px + dx * c - dy * s, py + dx * s + dy * c) for dx, dy in corners]
                out.shapes.append(Shape("polygons", label, pts, score=score))
            else:
                out.shapes.append(Shape("rectangles", label, [(x * sx, y * sy), ((x + bw) * sx, (y + bh) * sy)],
                                        score=score))
        elif t in ("polygonlabels", "polylinelabels"):
            raw = v.get("points")
            if not isinstance(raw, list):
                raise refuse(where, "\"points\" must be [[x, y], ...] in percent.")
            pts = [(num(p[0], where, "x") * sx, num(p[1], where, "y") * sy) for p in raw
                   if isinstance(p, list) and len(p) == 2]
            out.shapes.append(Shape("polygons" if t == "polygonlabels" else "lines", label, pts, score=score))
        elif t == "keypointlabels":
            out.shapes.append(Shape("landmarks", label, [(num(v.get("x"), where, "x") * sx,
                                                          num(v.get("y"), where, "y") * sy)], score=score))
        else:
            out.note(f"Label Studio \"{t}\" results are not carried and were left out.")
    if out is None:
        if image is None:
            raise UsageError(f"{path} has no results to import.")
        out = Outcome(float(image[0]), float(image[1]), path)
    return out


def infer(path: str) -> str:
    """The format a source is in, told from its name and first characters."""
    p = Path(path)
    if p.suffix.lower() == ".txt":
        return "yolo"
    if p.suffix.lower() == ".xml":
        head = read_text(p, "shapes source")[:4096]
        return "cvat" if "<annotations" in head else "voc"
    if p.suffix.lower() == ".json":
        data = read_json(p, "shapes source")
        if isinstance(data, dict) and "shapes" in data and ("imageWidth" in data or "imagePath" in data):
            return "labelme"
        if isinstance(data, dict) and "images" in data:
            return "coco"
        if isinstance(data, list) and data and isinstance(data[0], dict):
            if "bbox" in data[0] and "category_id" in data[0]:
                return "coco"
            if "annotations" in data[0] or "predictions" in data[0]:
                return "labelstudio"
        if isinstance(data, dict) and ("annotations" in data or "predictions" in data):
            return "labelstudio"
    raise UsageError(f"The format of {path} cannot be told; give --from {'|'.join(FORMATS)}.")


def read_source(path: str, fmt: str | None, *, classes: str | None = None, image: str | None = None,
                boxes: bool = False) -> Outcome:
    fmt = fmt or infer(path)
    size = size_of(image)
    names = load_classes(classes)
    if fmt == "yolo":
        return read_yolo(path, names, size)
    if fmt == "labelme":
        return read_labelme(path, size)
    if fmt == "voc":
        return read_voc(path, size)
    if fmt == "cvat":
        return read_cvat(path, size, image)
    data = read_json(path, "shapes source")
    if fmt == "coco":
        return read_coco(path, data, names, size, image, boxes)
    return read_labelstudio(path, data, size)
