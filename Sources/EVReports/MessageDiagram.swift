import EVSimCore
import EVCheckers
import EVCore
import EVSim

/// messages.svg: a Lamport diagram of a run, as Maelstrom draws one. A lane per node, service and
/// client, time downwards, an arrow per message from its send to its delivery; a message that was
/// never delivered is a dashed line ending in a cross 12 px short of its receiver's lane. Fault spans
/// shade the lanes they hit. Every arrow's <title> gives its ends, times and body. Arrows carry
/// exactly the class mc, ms or me (plus x when never delivered); the legend's samples add `key`.
public enum MessageDiagram {
    /// What the diagram draws (and evsim reports): messages in send order.
    static func selection(_ result: TestResult, options: PictureOptions) -> Pictures.Selection<MessageLog.Record> {
        Pictures.select(result.messages, options: options, cap: options.messageCap) { ($0.message.sentAt, end($0)) }
    }

    /// Arrows drawn and messages in the run (or in the window).
    public static func counts(_ result: TestResult, options: PictureOptions) -> (drawn: Int, candidates: Int) {
        let s = selection(result, options: options)
        return (s.items.count, s.candidates)
    }

    static func end(_ r: MessageLog.Record) -> Micros { r.deliveredAt ?? r.droppedAt ?? r.message.deadline }

    static let laneWidth = 72, gutter = 70, top = 120

    public static func svg(_ result: TestResult, options: PictureOptions, title: String, replayCommand: String) -> String {
        let selection = selection(result, options: options)
        let records = selection.items
        var counts: [String: Int] = [:]
        for r in records {
            counts[r.message.src, default: 0] += 1
            counts[r.message.dest, default: 0] += 1
        }
        let lanes = Pictures.laneOrder(counts)
        var laneX: [String: Int] = [:]
        for (i, id) in lanes.enumerated() { laneX[id] = gutter + i * laneWidth + laneWidth / 2 }
        let axis = EventAxis(records.flatMap { r in
            [(r.sendOrder, r.message.sentAt)] + (r.endOrder.map { [($0, end(r))] } ?? [])
        }, top: top)
        let width = max(940, gutter + lanes.count * laneWidth + 10)
        let height = axis.bottom + 30
        let dropped = records.filter { $0.deliveredAt == nil }.count

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
        s += "font-family=\"sans-serif\" font-size=\"11\" data-arrows=\"\(records.count)\" "
        s += "data-messages=\"\(result.messages.count)\" data-candidates=\"\(selection.candidates)\" data-dropped=\"\(dropped)\""
        if let w = options.window { s += " data-window=\"\(PictureOptions.windowArgument(w))\"" }
        s += ">\n<style>" + style + "</style>\n<defs>"
        for (id, colour) in [("c", clientColour), ("s", serverColour), ("e", errorColour)] {
            s += "<marker id=\"h\(id)\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" "
            s += "orient=\"auto\"><path d=\"M0,0L8,4L0,8z\" fill=\"\(colour)\"/></marker>"
        }
        s += "</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"

        // Heading, the cut note, the legend.
        var heading = "\(title): \(records.count) of \(selection.candidates) messages"
        if let w = options.window { heading += " overlapping \(Pictures.seconds(w.lowerBound, 3))–\(Pictures.seconds(w.upperBound, 3)) s" }
        heading += ", \(dropped) never delivered"
        s += text(8, 16, heading, "b")
        s += text(8, 33, "Time runs down (seconds on the left), not to scale: each send and delivery has its own row, "
                  + "idle stretches are shortened. Hover an arrow for its body.", "")
        if let note = Pictures.cutNote("messages", selection, replayCommand: replayCommand) { s += text(8, 50, note, "cut") }
        s += legend(y: 70)

        // Lanes, with their names repeated down the page; then the fault spans over them.
        for id in lanes {
            let x = laneX[id]!
            s += "<line class=\"l\" x1=\"\(x)\" y1=\"\(top - 8)\" x2=\"\(x)\" y2=\"\(axis.bottom + 8)\"/>"
        }
        s += "\n"
        var labelY = top - 14
        while labelY < axis.bottom {
            for id in lanes { s += text(laneX[id]!, labelY, id, "n") }
            labelY += 1200
        }
        s += "\n"
        for span in Pictures.faultSpans(result) where span.from <= axis.lastTime && span.to >= axis.firstTime {
            let y1 = axis.y(time: span.from), y2 = max(axis.y(time: span.to), y1 + 2)
            let w = span.kind == .startPartition ? laneWidth - 16 : laneWidth / 3
            for node in span.nodes {
                guard let x = laneX[node] else { continue }
                s += "<rect class=\"f\(span.kind == .startPartition ? "p" : span.kind == .kill ? "k" : "z")\" x=\"\(x - w / 2)\" "
                s += "y=\"\(y1)\" width=\"\(w)\" height=\"\(y2 - y1)\"><title>\(Pictures.escape(span.label))</title></rect>\n"
            }
        }
        s += axis.labels(x: gutter - 6)

        for r in records {
            let m = r.message
            let x1 = laneX[m.src]!, x2 = laneX[m.dest]!
            let y1 = axis.y(order: r.sendOrder), y2 = r.endOrder.map { axis.y(order: $0) } ?? axis.y(time: m.deadline)
            let body = m.body
            let kind = body?["type"]?.string == "error" ? "me" : SimNetwork.isClient(m.src) || SimNetwork.isClient(m.dest) ? "mc" : "ms"
            var tip = "\(m.src) → \(m.dest) #\(m.id), \(Pictures.seconds(m.sentAt, 6)) s → "
            if let at = r.deliveredAt {
                s += "<line class=\"\(kind)\" x1=\"\(x1)\" y1=\"\(y1)\" x2=\"\(x2)\" y2=\"\(y2)\">"
                tip += "\(Pictures.seconds(at, 6)) s"
            } else {
                // A dashed stub towards where it would have arrived, a cross just short of the
                // receiver's lane (so the receiver is plain, and it never looks delivered).
                let sx = x2 + (x1 < x2 ? -12 : 12)
                let sy = x1 == x2 ? y2 : y1 + Int((Double(y2 - y1) * Double(sx - x1) / Double(x2 - x1)).rounded())
                s += "<path class=\"\(kind) x\" d=\"M\(x1),\(y1)L\(sx),\(sy)m-4,-4l8,8m0,-8l-8,8\">"
                tip += r.droppedAt.map { "dropped by a partition at \(Pictures.seconds($0, 6)) s" }
                    ?? "never delivered (receiver killed, client closed, or the run ended first)"
            }
            tip += "\n" + Pictures.clip(body?.text ?? m.text)
            s += "<title>\(Pictures.escape(tip))</title>" + (r.deliveredAt == nil ? "</path>\n" : "</line>\n")
        }
        if let note = Pictures.cutNote("messages", selection, replayCommand: replayCommand) {
            s += text(8, axis.bottom + 22, note, "cut")
        }
        return s + "</svg>\n"
    }

    static let clientColour = "#1f6fb4", serverColour = "#2e8b57", errorColour = "#d62728"

    static let style = ".mc{stroke:\(clientColour);marker-end:url(#hc)}.ms{stroke:\(serverColour);marker-end:url(#hs)}"
        + ".me{stroke:\(errorColour);stroke-width:1.5;marker-end:url(#he)}"
        + ".x{fill:none;stroke-dasharray:4 2;marker-end:none}.l{stroke:#aaa}.g{stroke:#e4e4e4}"
        + ".fp{fill:#f4cccc;opacity:.7}.fk{fill:#888;opacity:.45}.fz{fill:#f1c232;opacity:.6}"
        + ".n{text-anchor:middle;font-weight:bold;fill:#333}.t{text-anchor:end;fill:#555}.b{font-size:13px}"
        + ".cut{fill:#c00;font-weight:bold}"

    static func text(_ x: Int, _ y: Int, _ content: String, _ cls: String) -> String {
        "<text class=\"\(cls)\" x=\"\(x)\" y=\"\(y)\">\(Pictures.escape(content))</text>"
    }

    static func legend(y: Int) -> String {
        var s = ""
        var x = 8
        for (cls, label) in [("mc", "client ↔ node"), ("ms", "node ↔ node or kv service"), ("me", "error reply")] {
            s += "<line class=\"\(cls) key\" x1=\"\(x)\" y1=\"\(y)\" x2=\"\(x + 30)\" y2=\"\(y)\"/>" + text(x + 36, y + 4, label, "")
            x += 52 + label.count * 6
        }
        s += "<path class=\"ms x key\" d=\"M\(x),\(y)L\(x + 24),\(y)m-4,-4l8,8m0,-8l-8,8\"/>" + text(x + 34, y + 4, "never delivered", "")
        x += 140
        for (cls, label) in [("fp", "partition"), ("fk", "killed"), ("fz", "paused")] {
            s += "<rect class=\"\(cls)\" x=\"\(x)\" y=\"\(y - 6)\" width=\"14\" height=\"12\"/>" + text(x + 18, y + 4, label, "")
            x += 30 + label.count * 7
        }
        return s + "\n"
    }
}

/// y of each network event (a send, a delivery, a drop) of a Lamport diagram, in the order the
/// events ran: events of one virtual instant `tieGap` px apart (a zero-latency request and its
/// reply stay apart), distinct instants at least `minGap` and otherwise `pixelsPerMS` per ms
/// apart, an idle stretch capped at `maxGap`. The axis labels give the real times.
struct EventAxis {
    static let tieGap = 3, minGap = 6, maxGap = 60
    static let pixelsPerMS = 0.5
    private let orders: [Int]
    private let times: [Micros]
    private let ys: [Int]
    let bottom: Int

    /// `events` in any order.
    init(_ events: [(order: Int, time: Micros)], top: Int) {
        let sorted = events.sorted { $0.order < $1.order }
        orders = sorted.map(\.order)
        times = sorted.map(\.time)
        var y = top
        var ys: [Int] = []
        for (i, t) in times.enumerated() {
            if i > 0 {
                let dt = t - times[i - 1]
                let linear = Int((Double(dt) / 1000 * Self.pixelsPerMS).rounded())
                y += dt == 0 ? Self.tieGap : min(Self.maxGap, max(Self.minGap, linear))
            }
            ys.append(y)
        }
        self.ys = ys
        bottom = y
    }

    var firstTime: Micros { times.first ?? 0 }
    var lastTime: Micros { times.last ?? 0 }

    func y(order: Int) -> Int { ys[firstIndex { orders[$0] >= order }] }

    /// A moment's y: that of the first event at or after it (the bottom after the last).
    func y(time: Micros) -> Int { ys.isEmpty || time > lastTime ? bottom : ys[firstIndex { times[$0] >= time }] }

    /// Binary search over indices for the first where `atOrAfter` holds (the last if none).
    private func firstIndex(_ atOrAfter: (Int) -> Bool) -> Int {
        var lo = 0, hi = max(0, ys.count - 1)
        while lo < hi {
            let mid = (lo + hi) / 2
            if atOrAfter(mid) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Time labels down the left edge, at least 50 px apart, with a faint rule across.
    func labels(x: Int) -> String {
        var s = ""
        var last = Int.min
        for (i, y) in ys.enumerated() where y >= last + 50 && (i == 0 || times[i] != times[i - 1]) {
            last = y
            s += "<line class=\"g\" x1=\"\(x + 2)\" y1=\"\(y)\" x2=\"100%\" y2=\"\(y)\"/>"
            s += MessageDiagram.text(x, y + 4, Pictures.seconds(times[i], 3), "t") + "\n"
        }
        return s
    }
}
