"""Property: whatever a user hands the command line (job files, manifests, masks, option values), it answers
with sentences and an exit status in {0, 1, 2, 130}, never a traceback, and the API key goes to no host but
the API's.

Every run is ``playment_submit.core.cli.main([...])`` in-process against a real sandbox on 127.0.0.1. A small
recording server on another loopback port stands wherever another host can appear: image URLs in jobs, the
S3 endpoint (``--s3-endpoint-url``, with dummy AWS credentials so that boto3 really sends there), and the
target of an API that answers every request with a redirect. It must never see the API key.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from playment_submit.core.cli import main
from tests.conftest import mask_bytes, png_bytes
from tests.hostile import HostileServer, answer

# 60 examples per property keeps the file near 12 s; PROPS_N=600 hunts longer (about a minute a property).
PROPS = settings(max_examples=int(os.environ.get("PROPS_N", "60")), deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])
CODES = {0, 1, 2, 130}
WF = "2aae1234-acac-1234-eeff-12a22a237bbc"
BATCH = "3bbe1234-acac-1234-eeff-12a22a237bbc"
_counter = itertools.count()


# ------------------------------------------------------------------ servers
def _s3_refusal(server, conn, req):
    body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
            b"<Message>Access Denied</Message></Error>")
    answer(conn, 403, body, headers={"Content-Type": "application/xml"}, reason="Forbidden")


@pytest.fixture
def world(sandbox, tmp_path, monkeypatch):
    """The sandbox as the configured API, the recording server, a redirecting API, dummy AWS credentials."""
    recorder = HostileServer(_s3_refusal)
    redirector = HostileServer(lambda s, c, r: answer(c, 307, {}, headers={"Location": recorder.base_url + r.path}))
    for name, value in {"PLAYMENT_BASE_URL": sandbox.base_url, "PLAYMENT_API_KEY": sandbox.api_key,
                        "PLAYMENT_PROJECT_ID": sandbox.project_id, "PLAYMENT_WORKFLOW_ID": sandbox.workflow_id,
                        "AWS_ACCESS_KEY_ID": "AKIAPROPERTYTEST", "AWS_SECRET_ACCESS_KEY": "property-test-secret",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                        "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield {"sandbox": sandbox, "recorder": recorder, "redirector": redirector, "root": tmp_path}
    recorder.stop()
    redirector.stop()
    leaked = [r for r in recorder.requests if _holds_key(r, sandbox.api_key)]
    assert not leaked, f"the API key reached another host: {[(r.method, r.path) for r in leaked]}"


def _holds_key(req, key: str) -> bool:
    return key in req.path or any(key in v for v in req.headers.values()) or key.encode() in req.body


def _fresh_dir(world) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"ex{next(_counter)}-", dir=world["root"]))


def run(argv, capsys, world) -> tuple[int, str, str]:
    """``main(argv)``: the exit status (argparse's SystemExit read too), stdout and stderr; checks the
    properties every run must have."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, (argv, err[-3000:])
    assert code in CODES, (argv, code, err[-2000:])
    if code != 0:  # a failure says why: on stderr, or (mask commands with --json) in the one JSON object
        assert err.strip() or ("--json" in argv and out.strip()), (argv, code, "a failure must say why")
    if "--json" in argv and "usage:" not in err:  # --json: stdout holds JSON lines and nothing else
        for line in out.splitlines():
            if line.strip():
                json.loads(line)
    recorder = world["recorder"]
    key = world["sandbox"].api_key
    assert not any(_holds_key(r, key) for r in recorder.requests), (argv, "the API key went to another host")
    return code, out, err


# ------------------------------------------------------------------ strategies
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.text(max_size=20),
                         st.floats(allow_nan=False, allow_infinity=False))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
ref_ids = st.one_of(st.text(max_size=30), st.sampled_from(["frame-001", " padded ", "a\x00b", "x" * 300, ""]),
                    st.integers(), st.none())


def locations(world):
    rec = world["recorder"].base_url
    return st.one_of(
        st.sampled_from(["https://cdn.example.com/a.png", "frames/f.png", "frames/missing.png", "masks/m.png",
                         f"{rec}/leak.png", f"{rec.replace('127.0.0.1', 'localhost')}/x.png", "s3://bucket/k.png",
                         "gs://bucket/k.png", "ftp://x/y.png", "http://example.com/a.png", "file:///etc/passwd",
                         "https://exa mple.com/a.png", "C:\\frames\\f.png", "", "/", ".", "frames"]),
        st.text(max_size=30), st.integers(), st.none(), st.lists(st.text(max_size=5), max_size=2))


def job_payloads(world):
    loc = locations(world)
    legend = st.one_of(st.dictionaries(st.sampled_from(["#ff0000", "#FF0000", "#000000", "#fdffd34", "red", ""]),
                                       st.one_of(st.text(max_size=10), st.integers()), max_size=3), json_values)
    data = st.fixed_dictionaries({"image_url": loc}, optional={
        "reference_data": st.one_of(
            st.fixed_dictionaries({"raster": st.fixed_dictionaries({"images": st.lists(
                st.fixed_dictionaries({"image_url": loc, "label": st.one_of(st.text(max_size=8), st.none())}),
                max_size=3)})}), json_values),
        "maker_response": st.one_of(
            st.fixed_dictionaries({"raster": st.fixed_dictionaries({"data": st.fixed_dictionaries(
                {"url": loc, "legend": legend})})}), json_values),
        "metadata": json_values,
        "extra": json_values})
    return st.fixed_dictionaries({"reference_id": ref_ids, "data": st.one_of(data, json_values)}, optional={
        "work_flow_id": st.one_of(st.just(WF), st.text(max_size=40), st.integers()),
        "tag": st.one_of(st.just(WF), st.text(max_size=10)),
        "batch_id": st.one_of(st.just(BATCH), st.text(max_size=40), st.none()),
        "priority_weight": st.one_of(st.integers(-5, 20), st.floats(allow_nan=False), st.text(max_size=3), st.none()),
        "unknown": json_values})


HOSTILE_TEXTS = st.sampled_from([
    "", "{", "[]", "null", "42", '"text"', "{not json", "9" * 5000, "[" * 100_000 + "]" * 100_000,
    "[" * 600 + "]" * 600, '{"reference_id": "a", "reference_id": "b"}', '{"x": NaN}', '{"x": 1e999}',
    '{"reference_id": "\\ud800", "data": {"image_url": "https://x.io/a.png"}}', "\ufeff{}",
    '{"reference_id": "d", "data": {"image_url": "https://x.io/a.png", "metadata": ' + "[" * 70 + "]" * 70 + "}}"])


def job_texts(world):
    return st.one_of(job_payloads(world).map(lambda p: json.dumps(p, ensure_ascii=False)), HOSTILE_TEXTS,
                     st.text(max_size=200), st.binary(max_size=64).map(lambda b: b.decode("latin-1")))


def common_options(world):
    sb, redirector = world["sandbox"], world["redirector"]
    base_urls = st.sampled_from([sb.base_url, redirector.base_url, "http://localhost:99999", "ftp://x",
                                 "https://user:pw@api.example.com", "http://127.0.0.1:9", "not a url"])
    return st.lists(st.one_of(
        st.tuples(st.just("--timeout"), st.sampled_from(["30", "5", "0.5", "0", "-1", "nan", "inf", "601", "x"])),
        st.tuples(st.just("--base-url"), base_urls),
        st.tuples(st.just("--workflow-id"), st.sampled_from([WF, "nope", ""])),
        st.tuples(st.just("--project-id"), st.sampled_from([sb.project_id, "other-project", "a/../b", ""])),
        st.tuples(st.just("--profile"), st.sampled_from(["default", "missing"])),
        st.tuples(st.just("--json"))), max_size=3).map(lambda opts: [x for o in opts for x in o])


def storage_options(world):
    rec = world["recorder"].base_url
    return st.lists(st.one_of(
        st.tuples(st.just("--upload-to"), st.sampled_from(["sandbox", "none", "s3://frames/p", "s3://Bad_B/x",
                                                           "ftp://x", ""])),
        st.tuples(st.just("--s3-endpoint-url"), st.sampled_from([rec, "not a url", "https://u:p@x.io",
                                                                 "http://127.0.0.1:99999"])),
        st.tuples(st.just("--presign-expiry"), st.sampled_from(["600", "0", "-1", "604801", "x"])),
        st.tuples(st.just("--url-style"), st.sampled_from(["s3", "presigned", "bogus"]))),
        max_size=3).map(lambda opts: [x for o in opts for x in o])


def _local_files(folder: Path) -> None:
    (folder / "frames").mkdir(exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    (folder / "frames" / "f.png").write_bytes(png_bytes(1))
    (folder / "masks" / "m.png").write_bytes(mask_bytes())
    (folder / "legend.json").write_text('{"#ff0000": "car"}')


# ------------------------------------------------------------------ properties
@PROPS
@given(data=st.data())
def test_submit_never_crashes_nor_leaks_the_key(world, capsys, data):
    folder = _fresh_dir(world)
    _local_files(folder)
    text = data.draw(job_texts(world), label="job file")
    where = data.draw(st.sampled_from(["job.json", "sub dir/jöb.json", "missing.json", "folder", "empty.json"]),
                      label="path")
    path = folder / where
    if where == "folder":
        path.mkdir()
    elif where == "empty.json":
        path.write_bytes(b"")
    elif where != "missing.json":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    options = data.draw(common_options(world), label="options") + data.draw(storage_options(world), label="storage")
    options += data.draw(st.lists(st.sampled_from([["--batch-id", BATCH], ["--batch-id", "x"],
                                                   ["--default-batch-id", BATCH], ["--journal", str(path)],
                                                   ["--journal", str(folder / "j.sqlite")]]), max_size=2)
                         .map(lambda o: [x for y in o for x in y]), label="submit options")
    run(["submit", path, *options], capsys, world)


def _csv_cell(world):
    return st.one_of(locations(world).map(lambda v: v if isinstance(v, str) else json.dumps(v)),
                     st.sampled_from(["", "front=frames/f.png|rear=https://x.io/r.png", "nolabel", "=", "|",
                                      '{"#ff0000": "car"}', '{"#ff0000": "a", "#ff0000": "b"}', "{broken",
                                      "legend.json", "missing.json", "9" * 5000, WF, BATCH, "5", "11", "x"]),
                     st.text(max_size=20))


def manifests(world):
    header = st.sampled_from([["reference_id", "image"], ["reference_id", "image", "references", "mask", "legend",
                                                          "batch_id", "work_flow_id", "priority_weight"],
                              ["image"], ["reference_id", "image", "extra"], []])
    csv_text = header.flatmap(lambda cols: st.lists(st.lists(_csv_cell(world), min_size=len(cols),
                                                             max_size=len(cols) + 1), max_size=4).map(
        lambda rows: _csv(cols, rows)))
    jsonl_text = st.lists(st.one_of(job_payloads(world).map(lambda p: json.dumps(p, ensure_ascii=False)),
                                    HOSTILE_TEXTS.map(lambda t: t.replace("\n", " ")), st.just("")),
                          max_size=4).map("\n".join)
    return st.one_of(st.tuples(st.just("m.csv"), csv_text), st.tuples(st.just("m.jsonl"), jsonl_text),
                     st.tuples(st.just("m.csv"), st.text(max_size=100)))


def _csv(cols, rows):
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf)
    if cols:
        writer.writerow(cols)
    for i, row in enumerate(rows):
        if row and cols and cols[0] == "reference_id" and i % 2 == 0:
            row = [f"row-{next(_counter)}", *row[1:]]  # some rows that can really be sent
        writer.writerow(row)
    return buf.getvalue()


@PROPS
@given(data=st.data())
def test_bulk_never_crashes_nor_leaks_the_key(world, capsys, data):
    folder = _fresh_dir(world)
    _local_files(folder)
    name, text = data.draw(manifests(world), label="manifest")
    manifest = folder / name
    manifest.write_text(text, encoding="utf-8", errors="surrogatepass")
    if data.draw(st.booleans(), label="folder mode"):
        manifest = folder
        (folder / "images").mkdir()
        (folder / "images" / "a.png").write_bytes(png_bytes(2))
    options = data.draw(common_options(world), label="options") + data.draw(storage_options(world), label="storage")
    options += data.draw(st.lists(st.sampled_from([
        ["--concurrency", "4"], ["--concurrency", "0"], ["--concurrency", "x"], ["--rate", "1000"],
        ["--rate", "0"], ["--rate", "nan"], ["--dry-run"], ["--valid-only"], ["--retry-failed"],
        ["--results", str(folder / "out.csv")], ["--results", str(folder / name)], ["--results", "/missing/out.csv"],
        ["--results", str(folder / "legend.json")], ["--journal", str(folder / name)],
        ["--write-manifest", str(folder / "w.csv")], ["--batch-id", BATCH], ["--batch-id", "x"],
        ["--no-mask-check"], ["--primary-dir", "images"], ["--masks-dir", "nope"]]), max_size=3)
        .map(lambda o: [x for y in o for x in y]), label="bulk options")
    # What bulk reads: the manifest file (not in folder mode) and the rows' images and masks. (legend.json is
    # read only by a row that has a mask too, so it is not protected here.)
    before = {p: p.read_bytes() for p in folder.rglob("*")
              if p.is_file() and p.name != "legend.json" and (manifest != folder or p.parent != folder)}
    run(["bulk", manifest, *options], capsys, world)
    for p, content in before.items():  # inputs are never overwritten (results, journal and manifest outputs aside)
        if p.name not in ("out.csv", "w.csv") and ".sqlite" not in p.name:
            assert p.read_bytes() == content, f"{p} was overwritten"


@PROPS
@given(data=st.data())
def test_mask_commands_never_crash(world, capsys, data):
    folder = _fresh_dir(world)
    shape = data.draw(st.tuples(st.integers(1, 6), st.integers(1, 6)), label="shape")
    idx = data.draw(st.lists(st.integers(0, 4), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]),
                    label="indices")
    Image.fromarray(np.array(idx, np.uint8).reshape(shape)).save(folder / "idx.png")
    rgba = np.zeros((*shape, 4), np.uint8)
    rgba[..., 0] = np.array(idx, np.uint8).reshape(shape) * 60
    rgba[..., 3] = data.draw(st.sampled_from([0, 90, 255]), label="alpha")
    Image.fromarray(rgba, "RGBA").save(folder / "mask.png")
    classes_name = data.draw(st.sampled_from(["classes.json", "classes.txt", "classes.yaml"]), label="classes name")
    classes = data.draw(st.one_of(st.lists(st.text(max_size=8), max_size=5).map(json.dumps),
                                  st.dictionaries(st.text(max_size=4), st.text(max_size=8), max_size=4).map(json.dumps),
                                  HOSTILE_TEXTS, st.text(max_size=60)), label="classes")
    (folder / classes_name).write_text(classes, encoding="utf-8", errors="surrogatepass")
    legend = data.draw(st.one_of(st.just('{"#3c0000": "car", "#780000": "bus"}'), HOSTILE_TEXTS,
                                 st.dictionaries(st.text(max_size=8), st.text(max_size=6), max_size=3).map(json.dumps)),
                       label="legend")
    (folder / "legend.json").write_text(legend, encoding="utf-8", errors="surrogatepass")
    outputs = st.sampled_from([folder / "out.png", folder / "idx.png", folder / "mask.png", folder / "out.jpg",
                               folder / "missing" / "o.png", folder / classes_name, folder / "legend.json", folder])
    numbers = st.sampled_from(["1", "0.001", "0", "-1", "nan", "inf", "1e309", "x", "100"])
    command = data.draw(st.sampled_from(["check", "encode", "repair"]), label="command")
    if command == "check":
        argv = ["mask", "check", folder / "mask.png", "--legend", folder / "legend.json"]
        argv += data.draw(st.lists(st.sampled_from([["--image", folder / "idx.png"], ["--image", folder / "nope.png"],
                                                    ["--max-megapixels", data.draw(numbers)]]), max_size=2)
                          .map(lambda o: [x for y in o for x in y]), label="check options")
    elif command == "encode":
        argv = ["mask", "encode", folder / "idx.png", "-o", data.draw(outputs, label="-o"),
                "--legend-out", data.draw(outputs, label="--legend-out")]
        argv += data.draw(st.lists(st.sampled_from([["--classes", folder / classes_name], ["--instance-of", "car"],
                                                    ["--classes", folder / "nope.txt"]]), max_size=2)
                          .map(lambda o: [x for y in o for x in y]), label="encode options")
    else:
        argv = ["mask", "repair", folder / "mask.png", "--legend", folder / "legend.json",
                "-o", data.draw(outputs, label="-o")]
        argv += data.draw(st.lists(st.sampled_from([["--tolerance", data.draw(numbers)],
                                                    ["--alpha-threshold", data.draw(numbers)],
                                                    ["--max-megapixels", data.draw(numbers)]]), max_size=2)
                          .map(lambda o: [x for y in o for x in y]), label="repair options")
    if data.draw(st.booleans(), label="--json"):
        argv.append("--json")
    # The classes file is an input only when --classes names it (as --legend-out it is an output).
    classes_read = any(a == "--classes" and b == folder / classes_name for a, b in itertools.pairwise(argv))
    reads = {"check": ("mask.png", "legend.json"), "repair": ("mask.png", "legend.json"),
             "encode": ("idx.png", classes_name) if classes_read else ("idx.png",)}[command]
    inputs = {folder / name: (folder / name).read_bytes() for name in reads}
    code, out, _ = run(argv, capsys, world)
    for p, content in inputs.items():
        assert p.read_bytes() == content, f"mask {command} overwrote its input {p}"
    if "--json" in argv and code in (0, 1, 2) and out.strip():
        assert len([line for line in out.splitlines() if line.strip()]) == 1


@PROPS
@given(data=st.data())
def test_batch_create_never_crashes_nor_leaks_the_key(world, capsys, data):
    name = data.draw(st.one_of(st.text(max_size=40), st.sampled_from(["night drive", "", " ", "x" * 500])),
                     label="name")
    if name.startswith("-"):
        name = " " + name  # an option, not a name (argparse's own rule)
    argv = ["batch", "create", name, *data.draw(common_options(world), label="options")]
    if data.draw(st.booleans(), label="description"):
        argv += ["--description", data.draw(st.text(max_size=40).filter(lambda t: not t.startswith("-")))]
    run(argv, capsys, world)


def test_the_recorder_would_notice_a_leak(world):
    """The check itself works: a request carrying the key is seen."""
    import requests
    requests.get(world["recorder"].base_url + "/probe", headers={"x-api-key": world["sandbox"].api_key}, timeout=5)
    assert any(_holds_key(r, world["sandbox"].api_key) for r in world["recorder"].requests)
    world["recorder"].requests.clear()

