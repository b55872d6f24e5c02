import EVCore
import XCTest

final class CodecTests: XCTestCase {
    private func write(_ body: (inout JSONWriter) -> Void) -> String {
        let out = ByteBuffer()
        var w = JSONWriter(out)
        w.object(body)
        return out.string
    }

    func testWriterProducesCompactJSON() {
        let text = write { w in
            w.field("type", "x")
            w.field("n", -1234567890123)
            w.field("zero", 0)
            w.field("ok", true)
            w.fieldNull("nothing")
            w.field("ints", ints: [1, 2, 3])
            w.arrayField("mixed") { a in a.element(1); a.element("two"); a.objectElement { o in o.field("k", 3) } }
            w.objectField("nested") { o in o.field("a", "b") }
        }
        XCTAssertEqual(text, #"{"type":"x","n":-1234567890123,"zero":0,"ok":true,"nothing":null,"ints":[1,2,3],"mixed":[1,"two",{"k":3}],"nested":{"a":"b"}}"#)
    }

    func testIntegerExtremes() {
        XCTAssertEqual(write { $0.field("a", Int.max); $0.field("b", Int.min) },
                       #"{"a":9223372036854775807,"b":-9223372036854775808}"#)
    }

    func testStringEscapingRoundTrips() {
        let nasty = "quote\" backslash\\ newline\n tab\t bell\u{07} é 日本 🎉"
        let text = write { $0.field("s", nasty) }
        XCTAssertEqual(JSONValue(parsing: text)?["s"], .string(nasty))
        XCTAssertFalse(text.contains("\n"), "a written line must never contain a raw newline")
    }

    func testJanssonValuesAreWrittenUnchanged() {
        let source = #"{"echo":{"a":[1,2.5,"x\"y",null,true,{"deep":[]}],"b":-7}}"#
        let doc = JSONDocument(parsing: source)!
        let text = write { $0.field("echo", doc.root["echo"]) }
        XCTAssertEqual(JSONValue(parsing: text)?["echo"], JSONValue(parsing: source)?["echo"])
    }

    func testReadingViews() {
        let doc = JSONDocument(parsing: #"{"i":5,"f":5.0,"s":"hé","b":false,"a":[1,2,3],"o":{"x":1,"y":2},"bad":[1,"2"]}"#)!
        let r = doc.root
        XCTAssertEqual(r["i"].int, 5)
        XCTAssertNil(r["f"].int, "5.0 is a real, not an integer")
        XCTAssertEqual(r["f"].double, 5.0)
        XCTAssertEqual(r["s"].string, "hé")
        XCTAssertEqual(r["b"].bool, false)
        XCTAssertEqual(r["a"].ints, [1, 2, 3])
        XCTAssertNil(r["bad"].ints)
        XCTAssertEqual(r["a"].count, 3)
        var keys: [String] = []
        r["o"].forEachMember { k, _ in keys.append(k) }
        XCTAssertEqual(Set(keys), ["x", "y"])
        XCTAssertFalse(r["missing"].exists)
        XCTAssertFalse(r["i"]["nested"].exists, "subscripting a non-object gives nothing, not a crash")
        XCTAssertFalse(r["a"][7].exists)
    }

    func testParserRejectsBadUTF8AndBadJSON() {
        var error = ""
        let bad: [UInt8] = Array(#"{"s":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        XCTAssertNil(bad.withUnsafeBytes { JSONDocument(parsing: $0, error: &error) })
        XCTAssertFalse(error.isEmpty)
        XCTAssertNil(JSONDocument(parsing: "{\"a\":"))
    }

    func testJSONValueEqualityIgnoresMemberOrder() {
        XCTAssertEqual(JSONValue(parsing: #"{"a":1,"b":[1,{"c":null}]}"#), JSONValue(parsing: #"{"b":[1,{"c":null}],"a":1}"#))
        XCTAssertNotEqual(JSONValue.int(5), JSONValue.string("5"))
    }
}
