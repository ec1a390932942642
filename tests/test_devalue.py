import math
from datetime import UTC, datetime

import pytest

from qaexport.sources.devalue import UNDEF, DevalueError, RegExp, unflatten
from tests.payloads import Typed, flatten


def test_plain_values_and_shared_references():
    payload = [{"a": 1, "b": 1, "c": 2}, "shared", [1, 3]]
    payload.append(True)
    out = unflatten(payload)
    assert out == {"a": "shared", "b": "shared", "c": ["shared", True]}


def test_negative_sentinels():
    out = unflatten([{"u": -1, "nan": -3, "inf": -4, "ninf": -5, "nzero": -6}])
    assert out["u"] is UNDEF
    assert math.isnan(out["nan"])
    assert out["inf"] == math.inf and out["ninf"] == -math.inf
    assert out["nzero"] == 0 and math.copysign(1, out["nzero"]) == -1


def test_holes_in_arrays():
    assert unflatten([[1, -2, 1], "x"]) == ["x", UNDEF, "x"]


def test_standalone_sentinel_payload():
    assert unflatten(-1) is UNDEF


def test_typed_entries():
    value = {
        "date": Typed("Date", ("2026-06-20T10:00:00.000Z",), raw=True),
        "set": Typed("Set", ("a", "b")),
        "map": Typed("Map", ("k", 1, "j", 2)),
        "big": Typed("BigInt", ("12345678901234567890",), raw=True),
        "re": Typed("RegExp", ("^a+$", "gi"), raw=True),
        "url": Typed("URL", ("https://example.com/x",), raw=True),
        "nullproto": Typed("null", ("x", 0)),
        "boxed": Typed("Object", ("boxed",), raw=True),
        "buf": Typed("ArrayBuffer", ("AQID",), raw=True),
    }
    payload = flatten(value)
    # null-prototype objects store keys raw and values as references
    for i, entry in enumerate(payload):
        if isinstance(entry, list) and entry and entry[0] == "null":
            payload[i] = ["null", "x", entry[2]]
    out = unflatten(payload)
    assert out["date"] == datetime(2026, 6, 20, 10, tzinfo=UTC)
    assert out["set"] == ["a", "b"]
    assert out["map"] == {"k": 1, "j": 2}
    assert out["big"] == 12345678901234567890
    assert out["re"] == RegExp("^a+$", "gi")
    assert out["url"] == "https://example.com/x"
    assert out["nullproto"] == {"x": 0}
    assert out["boxed"] == "boxed"
    assert out["buf"] == b"\x01\x02\x03"


def test_nuxt_wrappers():
    value = {
        "shallow": Typed("ShallowReactive", ({"a": 1},)),
        "reactive": Typed("Reactive", ([1, 2],)),
        "ref": Typed("Ref", ("v",)),
        "sref": Typed("ShallowRef", (3,)),
        "empty": Typed("EmptyRef", ("_",)),
        "empty_shallow": Typed("EmptyShallowRef", ("0n",)),
        "error": Typed("NuxtError", ({"statusCode": 404, "message": "gone"},)),
    }
    out = unflatten(flatten(value))
    assert out["shallow"] == {"a": 1}
    assert out["reactive"] == [1, 2]
    assert out["ref"] == "v" and out["sref"] == 3
    assert out["empty"] is UNDEF and out["empty_shallow"] == 0
    assert out["error"] == {"statusCode": 404, "message": "gone"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([{"a": 5}], "out of range"),
        ([{"a": 0}], "cycle"),
        ([[1], [0]], "cycle"),
        ([{"a": -9}], "negative"),
        ([["Frobnicate", 1]], "unknown type"),
        ([["Map", 1]], "odd number"),
        ([{"a": "x"}], "not an integer"),
        ([["BigInt", "12x"]], "BigInt"),
        ([["Date", "yesterday"]], "Date"),
        ([], "not a devalue array"),
        ({"a": 1}, "not a devalue array"),
        (7, "bare number"),
    ],
)
def test_malformed_payloads_raise_devalue_error(payload, message):
    with pytest.raises(DevalueError, match=message):
        unflatten(payload)


def test_deep_reference_chain_is_refused_not_recursed():
    payload = [[i + 1] for i in range(100_000)] + ["end"]
    with pytest.raises(DevalueError, match="nesting deeper"):
        unflatten(payload)
