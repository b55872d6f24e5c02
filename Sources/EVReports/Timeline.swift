import EVCheckers
import EVCore
import EVSim

/// timeline.html: Jepsen's timeline of a run, one self-contained page (inline CSS, no script). A
/// column per client process, a box per operation from invocation to completion coloured by its
/// outcome (ok green, info orange, fail red) and labelled with its answer, the invocation on hover; fault spans are bands across
/// the time axis. Time runs down, linearly.
public enum Timeline {
    static func selection(_ result: TestResult, options: PictureOptions) -> Pictures.Selection<Operation> {
        Pictures.select(result.history, options: options, cap: options.operationCap) { ($0.invokedAt, end($0, result)) }
    }

    /// Boxes drawn and operations in the run (or in the window).
    public static func counts(_ result: TestResult, options: PictureOptions) -> (drawn: Int, candidates: Int) {
        let s = selection(result, options: options)
        return (s.items.count, s.candidates)
    }

    static func end(_ op: Operation, _ result: TestResult) -> Micros { op.completedAt ?? max(result.phases.end, op.invokedAt) }

    static let gutter = 70

    public static func html(_ result: TestResult, options: PictureOptions, title: String, replayCommand: String) -> String {
        let selection = selection(result, options: options)
        let ops = selection.items
        let processes = Array(Set(ops.map(\.process))).sorted()
        var column: [Int: Int] = [:]
        for (i, p) in processes.enumerated() { column[p] = i }
        let t0 = ops.map(\.invokedAt).min() ?? 0
        let t1 = max(ops.map { end($0, result) }.max() ?? 0, t0 + 1000)
        // About 24 px between a column's operations on average, within 40 … 10,000 px per second.
        let perColumn = Double(ops.count) / Double(max(1, processes.count))
        let scale = min(10_000, max(40, 24 * perColumn / (Double(t1 - t0) / 1e6)))
        func y(_ t: Micros) -> Int { Int((Double(t - t0) / 1e6 * scale).rounded()) + 8 }
        // Wider columns when there are few, so more of each operation shows.
        let columnWidth = max(84, min(180, 1000 / max(1, processes.count)))
        let width = gutter + processes.count * columnWidth
        let labelWidth = 420
        let height = y(t1) + 8

        var s = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>\(Pictures.escape(title)) timeline</title>\n"
        s += "<style>" + style(columnWidth: columnWidth) + "</style></head><body>\n"
        var heading = "\(title): \(ops.count) of \(selection.candidates) operations"
        if let w = options.window { heading += " overlapping \(Pictures.seconds(w.lowerBound, 3))–\(Pictures.seconds(w.upperBound, 3)) s" }
        heading += ", \(processes.count) processes. Time runs down (seconds on the left); hover a box for its details."
        s += "<p class=\"hd\">\(Pictures.escape(heading))</p>\n"
        if let note = Pictures.cutNote("operations", selection, replayCommand: replayCommand) {
            s += "<p class=\"cut\">\(Pictures.escape(note))</p>\n"
        }
        s += "<p><span class=\"o k\">ok</span> <span class=\"o i\">info (unknown)</span> <span class=\"o f\">fail</span>"
        s += " <span class=\"b bp\">partition</span> <span class=\"b bk\">killed</span> <span class=\"b bz\">paused</span></p>\n"

        // Column heads stay on screen while scrolling.
        s += "<div class=\"hs\" style=\"width:\(width + labelWidth)px\">"
        for p in processes {
            let op = ops.first { $0.process == p }!
            s += "<div class=\"h\" style=\"left:\(gutter + column[p]! * columnWidth)px\" title=\"process \(p): \(op.client) → \(op.node)\">"
            s += "p\(p)<br>\(Pictures.escape(op.node))</div>"
        }
        s += "</div>\n<div id=\"tl\" style=\"width:\(width + labelWidth)px;height:\(height)px\" data-ops=\"\(ops.count)\" "
        s += "data-candidates=\"\(selection.candidates)\" data-total-ops=\"\(result.history.count)\" data-processes=\"\(processes.count)\""
        if let w = options.window { s += " data-window=\"\(PictureOptions.windowArgument(w))\"" }
        s += ">\n"

        for tick in ticks(from: t0, to: t1, scale: scale) {
            s += "<div class=\"r\" style=\"top:\(y(tick))px\">\(Pictures.seconds(tick, 3))</div>\n"
        }
        // Bands across the columns, each labelled in the right margin (labels pushed down so they
        // never overlap).
        var labelBottom = 0
        for span in Pictures.faultSpans(result) where span.from <= t1 && span.to >= t0 {
            let top = y(max(span.from, t0)), bottom = y(min(span.to, t1))
            let cls = span.kind == .startPartition ? "bp" : span.kind == .kill ? "bk" : "bz"
            s += "<div class=\"b \(cls)\" style=\"top:\(top)px;height:\(max(2, bottom - top))px;width:\(width - gutter)px\" "
            s += "title='\(Pictures.escape(span.label, quote: "'"))'></div>"
            let labelTop = max(top, labelBottom)
            labelBottom = labelTop + 14
            s += "<div class=\"bl \(cls)\" style=\"top:\(labelTop)px;left:\(width + 4)px\">\(Pictures.escape(span.label))</div>\n"
        }
        for p in processes {
            s += "<div class=\"c\" style=\"left:\(gutter + column[p]! * columnWidth)px\">\n"
            for op in ops where op.process == p { s += box(op, result: result, y: y) }
            s += "</div>\n"
        }
        return s + "</div>\n</body></html>\n"
    }

    private static func box(_ op: Operation, result: TestResult, y: (Micros) -> Int) -> String {
        let top = y(op.invokedAt), height = max(11, y(end(op, result)) - top)
        let (cls, outcome): (String, String)
        switch op.outcome {
        case .ok(let v)?: (cls, outcome) = ("k", "ok " + v.text)
        case .fail(let why)?: (cls, outcome) = ("f", "fail: " + why)
        case .info(let why)?: (cls, outcome) = ("i", "info: " + why)
        case nil: (cls, outcome) = ("i", "never completed")
        }
        let value = op.value.isNull ? "" : " " + op.value.text
        var tip = "\(op.client) → \(op.node), \(Pictures.seconds(op.invokedAt, 6)) s → "
        tip += op.completedAt.map { "\(Pictures.seconds($0, 6)) s" } ?? "no completion"
        tip += (op.isFinal ? ", final phase\n" : "\n") + Pictures.clip(op.f + value) + "\n" + Pictures.clip(outcome)
        var label = ""
        if height >= 11 {
            let short = answer(op)
            label = Pictures.escape(short.count > 40 ? String(short.prefix(40)) + "…" : short)
        }
        return "<div class=\"o \(cls)\" style=\"top:\(top)px;height:\(height)px\" title='\(Pictures.escape(tip, quote: "'"))'>\(label)</div>\n"
    }

    /// A box's label: the completed operation, as Jepsen's timeline shows it (`read 1 → 3`,
    /// `cas 1 2→4 fail 22`, `txn [r 1 3] [w 2 5]`, `add 3 ?` for an unknown outcome); the
    /// invocation alone is in the hover text.
    static func answer(_ op: Operation) -> String {
        let invoked = op.f + (op.value.isNull ? "" : " " + compact(op.value))
        switch op.outcome {
        case .ok(let v)?:
            guard case .array(let a) = op.value, case .array(let b) = v, a.count == b.count else {
                return v == op.value ? invoked : invoked + " → " + v.text
            }
            // A read of one key (`[k, null]`): what it returned.
            if a.count == 2, a[1].isNull, a[0] == b[0] { return invoked + " → " + b[1].text }
            // A transaction: the completed micro-ops, reads filled in.
            return op.f + " " + compact(v)
        case .fail(let why)?: return invoked + " fail" + (errorCode(why).map { " \($0)" } ?? "")
        case .info?, nil: return invoked + " ?"
        }
    }

    /// `[k, null]` as `k`, `[k, [a, b]]` (a cas) as `k a→b`, `[k, v]` as `k v`, micro-ops as
    /// `[r 1 3] [w 2 5]`; anything else as JSON.
    private static func compact(_ value: JSONValue) -> String {
        guard case .array(let parts) = value else { return value.text }
        if !parts.isEmpty, parts.allSatisfy({ $0.array?.count == 3 && $0[0]?.string != nil }) {
            return parts.map { op in "[" + op.array!.enumerated().map { $0.offset == 0 ? $0.element.string! : $0.element.text }.joined(separator: " ") + "]" }
                .joined(separator: " ")
        }
        guard parts.count == 2 else { return value.text }
        switch parts[1] {
        case .null: return parts[0].text
        case .array(let fromTo) where fromTo.count == 2: return "\(parts[0].text) \(fromTo[0].text)→\(fromTo[1].text)"
        default: return "\(parts[0].text) \(parts[1].text)"
        }
    }

    /// The code of an outcome written as "error 22: …" (`classify`).
    private static func errorCode(_ why: String) -> Int? {
        guard why.hasPrefix("error ") else { return nil }
        return Int(why.dropFirst(6).prefix { $0.isNumber })
    }

    /// Tick times: the smallest round step that puts ticks at least 80 px apart.
    private static func ticks(from t0: Micros, to t1: Micros, scale: Double) -> [Micros] {
        let steps: [Micros] = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
                               1_000_000, 2_000_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000]
        let step = steps.first { Double($0) / 1e6 * scale >= 80 } ?? steps[steps.count - 1]
        return Array(stride(from: (t0 + step - 1) / step * step, through: t1, by: Int(step)))
    }

    static func style(columnWidth: Int) -> String {
        "body{font:12px sans-serif;margin:8px;color:#222;background:#fff}p{margin:4px 0}"
        + ".hd{font-size:14px}.cut{color:#c00;font-weight:bold}"
        + "#tl{position:relative}.c{position:absolute;top:0;width:\(columnWidth - 4)px}"
        + ".o{position:absolute;left:0;right:0;box-sizing:border-box;border:1px solid #0004;border-radius:2px;"
        + "font-size:10px;line-height:11px;overflow:hidden;white-space:nowrap;padding:0 2px}"
        + "p .o{position:static;padding:1px 6px}.k{background:#9bdc9b}.i{background:#ffc46b}.f{background:#f28b8b}"
        + ".hs{position:sticky;top:0;height:30px;background:#fff;z-index:3;border-bottom:1px solid #ccc}"
        + ".h{position:absolute;top:2px;width:\(columnWidth - 4)px;text-align:center;font-weight:bold;font-size:11px}"
        + ".r{position:absolute;left:0;right:0;border-top:1px solid #e4e4e4;font-size:10px;color:#555}"
        + ".b{position:absolute;left:\(gutter - 4)px}.bl{position:absolute;font-size:10px;white-space:nowrap;padding:0 3px}"
        + "p .b{position:static;padding:1px 6px;font-size:10px}.bp{background:#e0000026}.bk{background:#0000002e}.bz{background:#f1c23266}"
    }
}
