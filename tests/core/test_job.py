"""The job model: documented payload round trip, validation messages, and property tests."""

from __future__ import annotations

import json
from importlib import resources as ir

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playment_submit.core.errors import ValidationError
from playment_submit.core.job import JobSpec, RasterPrelabel, ReferenceImage, is_local_path, url_problems

WF = "2aae1234-acac-1234-eeff-12a22a237bbc"


def docs_example(name: str = "docs_example.json") -> dict:
    return json.loads((ir.files("playment_submit.resources") / "examples" / name).read_text(encoding="utf-8"))


def paths(problems):
    return [p.path for p in problems]


def test_docs_example_round_trips_exactly():
    payload = docs_example("docs_example_fixed.json")
    spec = JobSpec.from_payload(payload)
    assert spec.to_payload() == payload
    assert spec.validate() == []


def test_docs_example_typo_is_refused_and_quoted():
    problems = JobSpec.from_payload(docs_example()).validate()
    assert len(problems) == 1
    assert "#fdffd34" in problems[0].message
    assert problems[0].path == 'data.maker_response.raster.data.legend["#fdffd34"]'


def test_absent_parts_are_absent_not_null():
    spec = JobSpec(reference_id="a", work_flow_id=WF, image_url="https://x.org/a.png")
    assert spec.to_payload() == {"reference_id": "a", "work_flow_id": WF, "data": {"image_url": "https://x.org/a.png"}}


def test_optional_fields_and_tag_alias():
    payload = {"reference_id": "r", "tag": WF, "batch_id": WF, "priority_weight": 7,
               "data": {"image_url": "s3://bucket-1/k/a.png", "metadata": {"drive": 3}}}
    spec = JobSpec.from_payload(payload)
    assert spec.work_flow_id == WF and spec.priority_weight == 7 and spec.metadata == {"drive": 3}
    assert spec.validate() == []
    assert spec.to_payload()["work_flow_id"] == WF and "tag" not in spec.to_payload()


def test_every_problem_is_reported_at_once():
    spec = JobSpec(reference_id="bad\x07id", work_flow_id="nope", image_url="http://example.com/a.png",
                   references=[ReferenceImage("ftp://x/y.png", "cam"), ReferenceImage("https://x.org/b.png", "CAM "),
                               ReferenceImage("https://x.org/c.png", "")],
                   prelabel=RasterPrelabel("https://x.org/m.jpg", {"#FDFF34": "a", "#fdff34": "b", "#000000": "c",
                                                                   "#12345": "d", "#abcdef": " "}),
                   batch_id="batch-1", priority_weight=11)
    got = spec.validate()
    by_path = {}
    for p in got:
        by_path.setdefault(p.path, []).append(p.message)
    assert "control character" in by_path["reference_id"][0]
    assert "not a UUID" in by_path["work_flow_id"][0]
    assert "not a UUID" in by_path["batch_id"][0]
    assert "out of range" in by_path["priority_weight"][0]
    assert "plain http" in by_path["data.image_url"][0]
    assert "not https://" in by_path["data.reference_data.raster.images[0].image_url"][0]
    assert "already used by camera 1" in by_path["data.reference_data.raster.images[1].label"][0]
    assert "has no label" in by_path["data.reference_data.raster.images[2].label"][0]
    assert "JPG" in by_path["data.maker_response.raster.data.url"][0]
    legend = "data.maker_response.raster.data.legend"
    assert "same colour as \"#FDFF34\"" in by_path[f'{legend}["#fdff34"]'][0]
    assert "unlabelled" in by_path[f'{legend}["#000000"]'][0]
    assert "#12345" in by_path[f'{legend}["#12345"]'][0]
    assert "name for #abcdef is empty" in by_path[f'{legend}["#abcdef"]'][0]
    codes = {p.path: p.code for p in got}
    assert codes["batch_id"] == "GE_0001" and codes["priority_weight"] == "FS_00012"


def test_missing_fields_have_api_codes():
    spec = JobSpec(reference_id="", work_flow_id=None, image_url=None)
    codes = {p.path: p.code for p in spec.validate()}
    assert codes == {"reference_id": "FS_0002", "work_flow_id": "FS_0005", "data.image_url": "FS_0004"}


def test_reference_id_length_limit():
    assert JobSpec("x" * 255, WF, "https://a.b/c.png").validate() == []
    [p] = JobSpec("x" * 256, WF, "https://a.b/c.png").validate()
    assert "256 characters" in p.message


@pytest.mark.parametrize("url,ok", [
    ("https://cdn.example.com/a.png", True), ("s3://my-bucket/frames/a.png", True), ("gs://my_bucket/a.png", True),
    ("http://127.0.0.1:8765/files/a.png", True), ("http://localhost/a.png", True), ("http://[::1]:80/a.png", True),
    ("http://10.0.0.1/a.png", False), ("s3://Bad_Bucket/a.png", False), ("s3://bucket", False),
    ("https:///nohost.png", False), ("ftp://x.org/a.png", False), ("https://x.org/a b.png", False),
])
def test_url_rules(url, ok):
    assert (url_problems(url, "p", "image") == []) is ok


def test_local_paths_need_storage():
    spec = JobSpec("r", WF, "frames/001.png", prelabel=RasterPrelabel("/tmp/m.png", {"#ff0000": "car"}))
    [a, _] = spec.validate()
    assert "local file" in a.message and "--upload-to" in a.message
    assert spec.validate(allow_local_paths=True) == []
    assert spec.local_paths() == ["frames/001.png", "/tmp/m.png"]
    assert is_local_path("C:\\data\\a.png") and is_local_path("file:///a.png") and not is_local_path("s3://b/k")


@pytest.mark.parametrize("payload,fragment", [
    ([], "must be a JSON object"),
    ({"reference_id": "a", "work_flow_id": WF}, "no \"data\" object"),
    ({"reference_id": "a", "work_flow_id": WF, "data": {"image_url": "https://a.b/c"}, "colour": 1}, "unknown field"),
    ({"reference_id": "a", "work_flow_id": WF, "data": {"image_url": "https://a.b/c", "reference_data": [1]}},
     "expected {\"raster\""),
    ({"reference_id": "a", "work_flow_id": WF, "data": {"image_url": "https://a.b/c",
      "maker_response": {"raster": {"data": {"legend": [], "url": "https://a.b/m.png"}}}}}, "legend must be an object"),
])
def test_from_payload_structural_problems(payload, fragment):
    with pytest.raises(ValidationError) as info:
        JobSpec.from_payload(payload)
    assert fragment in str(info.value)


# ------------------------------------------------------------------ properties
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)
hex_keys = st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)
urls = st.sampled_from(["https://cdn.example.com/a.png", "s3://bucket-a/x/y.png", "gs://bkt/z.png",
                        "http://127.0.0.1:9/files/a.png"])
specs = st.builds(
    JobSpec,
    reference_id=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s.isprintable()),
    work_flow_id=st.uuids().map(str),
    image_url=urls,
    references=st.lists(st.builds(ReferenceImage, image_url=urls, label=st.text(min_size=1, max_size=10)), max_size=3),
    prelabel=st.none() | st.builds(RasterPrelabel, url=urls,
                                   legend=st.dictionaries(hex_keys.map(str.lower), st.text(min_size=1, max_size=8),
                                                          min_size=1, max_size=4)),
    batch_id=st.none() | st.uuids().map(str),
    priority_weight=st.none() | st.integers(1, 10),
    metadata=st.none() | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_round_trip(spec):
    payload = spec.to_payload()
    again = JobSpec.from_payload(json.loads(json.dumps(payload)))
    assert again.to_payload() == payload
    assert again.validate() == spec.validate()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["reference_id", "work_flow_id", "tag", "batch_id", "priority_weight", "data",
                                        "extra"]), json_values | st.fixed_dictionaries(
    {"image_url": json_values}, optional={"reference_data": json_values, "maker_response": json_values,
                                          "metadata": json_values})))
def test_arbitrary_payloads_never_crash(payload):
    try:
        spec = JobSpec.from_payload(payload)
    except ValidationError as e:
        assert e.problems and all(p.message for p in e.problems)
        return
    problems = spec.validate()
    assert all(p.path and p.message and p.severity in ("error", "warning") for p in problems)
    json.dumps(spec.to_payload())  # whatever was read can be written back as JSON


def test_the_fast_path_for_plain_https_urls_says_what_the_full_check_says():
    """url_problems decides plain https URLs with one regex (bulk checks three a row); the full check (taken for
    masks) must agree on every URL, odd ones included."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from playment_submit.core.job import url_problems

    pieces = st.sampled_from(["https://", "HTTPS://", "http://", "s3://", "https:/", "", "cdn.example.com",
                              "127.0.0.1", ":8080", ":99999", "/a/b.png", "?x=1&y=2", "#frag", " ", "\t", "\x00",
                              "\u00a0", "é", "-", ".", "//", "a", "%20", "\\", "\u202e"])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(pieces, min_size=1, max_size=6).map("".join))
    def agree(url):
        if url.lower().endswith((".jpg", ".jpeg", ".webp", ".gif", ".bmp")):
            return
        fast = [p.message for p in url_problems(url, "data.image_url", "primary image")]
        full = [p.message for p in url_problems(url, "data.image_url", "primary image", mask=True)]
        assert fast == [m.replace("pre-label mask", "primary image") for m in full] or fast == full, (url, fast, full)

    agree()
