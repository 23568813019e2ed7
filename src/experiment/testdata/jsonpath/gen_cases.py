#!/usr/bin/env python3
"""Generates cases.json: JSONPath expressions evaluated on documents by
jsonpath2 (the package chaostoolkit-lib's jsonpath tolerance uses), for
jsonpath_test.cc to check faultline's JsonPath against.

Run with the interpreter that has jsonpath2 installed:
    /tmp/ctk/bin/python gen_cases.py > cases.json

Each case: {"path", "doc" (a name in "documents"), and one of
"matches" (the values, in order), "error": "parse" (Path.parse_str raised)
or "error": "eval" (matching raised)}.
"""
import json
import signal
import sys

from jsonpath2.path import Path

DOCUMENTS = {
    "store": {
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees",
                 "title": "Sayings of the Century", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh",
                 "title": "Sword of Honour", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville",
                 "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien",
                 "title": "The Lord of the Rings", "isbn": "0-395-19395-8",
                 "price": 22.99},
            ],
            "bicycle": {"color": "red", "price": 19.95},
        },
        "expensive": 10,
    },
    "mixed": {
        "a": [{"x": 1}, {"x": 2}, {"x": "s"}, {"x": 1.0}, {"x": True},
              {"x": None}, {"y": 3}, {"x": [1, 2]}, {"x": {"k": 1}}],
        "n": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        "s": "h\u00e9llo w\u00f6rld",
        "e": "",
        "t": True, "f": False, "z": None, "zero": 0, "fl": 2.5,
        "and": 1, "not": 2, "or_x": 3, "a b": 4, "a\\\"b": 5, "_u": 6,
        "empty": {}, "none": [],
        "idx": 2, "key": "fl", "neg": -1, "bool": True,
    },
    "array": [10, "ten", 10.0, [1, 2, 3], {"a": 1}, None, True, False, -3],
    "status": {"status": 200, "headers": {"content-type": "application/json"},
               "body": {"items": [{"id": 1, "ok": True, "tags": ["a", "b"]},
                                  {"id": 2, "ok": False, "tags": []},
                                  {"id": 3, "ok": True, "tags": ["b"]}],
                        "total": 3, "next": None}},
    "deep": {"a": {"b": {"c": {"d": [{"e": 1}, {"e": {"f": 2}}]}}, "e": 0},
             "e": [{"e": "x"}]},
    "scalar": "just a string",
    "number": 42,
}

VALID = [
    "$", "$.store", "$.store.book", "$.store.book[0]", "$.store.book[-1]",
    "$.store.book[-4]", "$.store.book[-5]", "$.store.book[4]", "$.store.book[0].author",
    "$.store.book[*].author", "$..author", "$.store.*", "$.store..price", "$..book[2]",
    "$..book[-1:]", "$..book[0,1]", "$..book[:2]", "$..book[1:3]", "$..book[::2]",
    "$..book[::-1]", "$..book[3:0:-1]", "$..book[2:-10:-1]", "$..book[-2:]", "$..book[-10:2]",
    "$..book[1:-1]", "$..book[:-3]", "$..book[5:]", "$..book[0:100:3]", "$..book[:]",
    "$..book[::]", "$..book[1::]", "$..book[:2:]", "$..book[::-2]", "$..book[-1::-1]",
    "$..book[10:0:-3]",
    "$..book[*][?(@.isbn)]", "$..book[*][?(@.price < 10)]", "$..book[*][?(@.price <= 8.99)]",
    "$..book[*][?(@.price > $.expensive)]", "$..book[*][?(@.price >= 22.99)]",
    '$..book[*][?(@.category = "fiction")]', '$..book[*][?(@.category != "fiction")]',
    '$..book[*][?(@.category = "fiction" and @.price < 10)]',
    '$..book[*][?(@.price < 9 or @.price > 20)]',
    '$..book[*][?(not @.isbn)]', '$..book[*][?(not (@.price < 10))]',
    '$..book[*][?(@.price < 9 or @.price > 20 and @.isbn)]',
    '$..book[*][?(@.isbn and @.price < 9 or @.price > 20)]',
    '$..book[*][?((@.price < 9 or @.price > 20) and @.isbn)]',
    '$..book[*][?(@.price < 9 or (@.price > 20 and @.category = "reference"))]',
    "$..book[?(@.price)]", "$.store.book[?(@[0])]", "$..[?(@.price > 15)]",
    "$..*", "$..[*]", "$.*", "$[*]", "$.*.*", "$..[0]", "$..[-1]", "$..[0,1]",
    "$..price.length()", "$..book.length()", "$.store.book[0].title.length()",
    "$.store.keys()", "$.store.values()", "$.store.bicycle.entries()", "$.store.book.keys()",
    "$..book[0].title.charAt(0)", "$..book[0].title.charAt(-1)", "$..book[0].title.charAt(100)",
    "$..book[0].title.substring(4)", "$..book[0].title.substring(4, 8)",
    "$..book[0].title.substring(-7, -3)", "$..book[0].title.substring(8, 4)",
    "$..book[0].title[length()]", "$.store[keys()]", "$..title[charAt(1)]",
    "$.a", "$.a[*].x", "$.a[*][?(@.x = 1)]", "$.a[*][?(@.x != 1)]", "$.a[*][?(@.x = true)]",
    "$.a[*][?(@.x = 1.0)]", "$.a[*][?(@.x = null)]", "$.a[*][?(@.x = \"s\")]",
    "$.a[*][?(@.x = [1, 2])]", "$.a[*][?(@.x = {\"k\": 1})]", "$.a[*][?(@.x = {\"k\": 1.0})]",
    "$.a[*][?(@.x < 2)]", "$.a[*][?(@.x > 0)]", "$.a[*][?(@.x >= 1)]", "$.a[*][?(@.x <= \"t\")]",
    "$.a[*][?(@.x)]", "$.a[*][?(@.y)]", "$.a[*][?(@.x[*] = 2)]", "$.a[*][?(@.x.k = 1)]",
    "$.a[*][?(1 = @.x)]", "$.a[*][?(@.x = @.x)]", "$.a[*][?(@.x != @.x)]",
    "$[?(@.a[*].x = 2)]", "$[?(@.a[*].x = @.n[*])]", "$[?(@.n[*] = 5)]", "$[?(@.n[*] = @.n[5])]",
    "$[?(@.n[*] != 0)]", "$[?(@.n[*] > 8)]", "$[?(@.n[5] = @.n[*])]",
    "$[?(1)]", "$[?(0)]", "$[?(\"\")]", "$[?(\"x\")]", "$[?([])]", "$[?([0])]", "$[?({})]",
    "$[?(null)]", "$[?(true)]", "$[?(false)]", "$[?(0.0)]", "$[?(-0)]",
    "$.n[$.idx]", "$.n[@.idx]", "$[$.key]", "$.n[$.bool]", "$.n[$.neg]", "$.n[$.s]",
    "$.n[$.n[3]]", "$.n[$.n[*]]", "$[$..key]",
    "$.s", "$.s.length()", "$.s.charAt(1)", "$.s.charAt(true)", "$.s.charAt(1.0)",
    "$.s.charAt(-2)", "$.s.substring(2)", "$.s.substring(-5)", "$.s.substring(1, -1)",
    "$.s.substring(1, 2, 3)", "$.s.charAt()", "$.s.length(1)", "$.s.charAt($.idx)",
    "$.s.charAt(@.x)", "$.s.substring($.n[*])", "$.s.substring($.n[1], $.n[2,3])",
    "$.e.length()", "$.empty.length()", "$.empty.keys()", "$.none.length()", "$.none.entries()",
    "$.n.values()", "$.n.entries()", "$.a[0].entries()", "$.s[0]", "$.s[*]", "$.s.x",
    "$.s..*", "$.n[0].x", "$.n.x", "$.zero.length()", "$.t.keys()",
    '$["a b"]', '$["and"]', '$["a\\\\\\"b"]', '$["a\\"b"]', "$._u", "$.or_x", "$.notx",
    '$["s","e"]', '$["n"][0,"x",1]', '$[ "n" ] [ 0 ]', "$ . n [ 1 : 3 ]",
    "$.n[0,0,0]", "$.n[-1,-2]", "$.n[9,10]", "$.n[1:3,5]", "$.n[*,0]",
    "$.n[?(@[0] = 0)]", "$.n[*][?(@ > 5)]", "$.n[*][?(@ = $.idx)]", "$.n[*][?(@ < $.n[3])]",
    "$..[?(@ = 1)]", "$..[?(@.e)]", "$..e", "$..e.f", "$..d[*].e", "$..d..f", "$..['e']",
    "$..*[?(@.e = 1)]", "$.a..b", "$..c.d[1].e.f",
    "$[0]", "$[-1]", "$[3][1]", "$[4].a", "$[*][?(@ = 10)]", "$[?(@[0] = 10)]",
    "$[*][?(@ = 10.0)]", "$[*][?(@ = true)]", "$[*][?(@ = 1)]", "$[*][?(@ = \"ten\")]",
    "$[*][?(@ < 0)]", "$[*][?(@ = false)]", "$[*][?(@ = 0)]", "$[*][?(not @)]",
    "$[*][?(@.a)]", "$[*].length()",
    "$.status", "$.body.items[*][?(@.ok = true)].id", "$.body.items[*].tags[*]",
    "$.body.items[?(@[*].ok = false)]", "$.body.items[*][?(@.tags[*] = \"b\")].id",
    "$.body.next", "$.body[?(@.next = null)].total", "$.body.items.length()",
    "$.body.items[*].tags.length()", "$.headers[\"content-type\"]",
    "$.body.items[*][?(@.id > 1 and @.ok)]", "$.body.items[*][?(@.id = 1 or @.id = 3)].id",
    "$.body.items[*][?(not not @.ok)]", "$.body..id", "$..tags[0]",
    "$.body.items[*][?(@.tags = [\"a\", \"b\"])]", "$.body.items[*][?(@.tags = [])]",
    "$[?(@.status = 200)].status", "$[?(@.status >= 200 and @.status < 300)]",
    "$.n[0:10:100]", "$.n[-100:100]", "$.n[-1:-100:-1]", "$.n[100:-100:-1]",
    "$.n[3:3]", "$.n[4:2]", "$.n[-3:-1]", "$.n[::3]", "$.n[::-3]", "$.n[1::-1]",
]

INVALID = [
    "", " ", "a", "$.", "$..", "$...a", "$['a']", "$.and", "$.or", "$.not", "$.true",
    "$.null", "$.false", "$[1.5]", "$[1e0]", "$[-]", "$[]", "$[", "$[0", "$[0,]",
    "$.a]", "$.1", "$.a-b", "$.caf\u00e9", "$[\"a]", "$[\"\\x\"]", "$[\"\\u12\"]",
    "$[?(@.x = 1]", "$[?@.x]", "$[?()]", "$[?(@.x = )]", "$[?(@.x == 1)]",
    "$[?(@.x = 1 and)]", "$[?(and)]", "$.foo()", "$[foo()]", "$[length]", "$.length(",
    "$.length(1,)", "$[01]", "$[1:2:3:4]", "$[:1.5]", "$[::1e2]", "$ $", "$@", "@.a",
    "$[?(@.x = 'a')]", "$.a.", "$[*", "$.*.", "$[?(@.x = {1: 2})]", "$[?(@.x = [1,])]",
    "$[?(@.x = tru)]", "$[?(@.x ! 1)]", "$[?(@.x <> 1)]", "$[?(not)]", "$[?((@.x)]",
    "$#", "$.a b", "$[1 2]", "$[\"a\" \"b\"]", "$..\"a\"", "$.\"a\"", "$[?(@.x = -)]",
    "$[?(@.x = 1.)]", "$[?(@.x = .5)]", "$[?(@.x = 1e)]", "$[?(@.x = 01)]", "$[\"\t\"]",
    "$[0][", "$.a[?(@.b = 1)", "$..*..", "$[?(@ = $..)]", "$.charAt(x)",
]

EVAL_ERRORS = ["$.n[::0]", "$[*][::0]", "$.n[?(@[::0])]", "$[?(@.n[::0] or 1)]",
               "$[?(1 or @.n[::0])]", "$.s[::0]", "$.n[1:2:0]"]


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


def evaluate(path, doc):
    try:
        p = Path.parse_str(path)
    except Exception:  # ValueError, and ANTLR's own errors
        return {"error": "parse"}
    signal.alarm(2)
    try:
        return {"matches": [m.current_value for m in p.match(doc)]}
    except Timeout:
        return None
    except Exception:
        return {"error": "eval"}
    finally:
        signal.alarm(0)


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    import io, contextlib
    cases = []
    plan = [(p, d) for p in VALID for d in ("store", "mixed", "array", "status", "deep")]
    plan += [(p, d) for p in VALID[:12] for d in ("scalar", "number")]
    plan += [(p, "mixed") for p in INVALID + EVAL_ERRORS]
    for path, doc in plan:
        with contextlib.redirect_stderr(io.StringIO()):
            result = evaluate(path, DOCUMENTS[doc])
        if result is None:
            continue
        # Keep the file small: a path that matches nothing is kept for the
        # documents written for filters and one case in three of the others.
        if result.get("matches") == [] and doc not in ("mixed", "array") and len(cases) % 3:
            continue
        cases.append(dict(path=path, doc=doc, **result))
    json.dump({"documents": DOCUMENTS, "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
