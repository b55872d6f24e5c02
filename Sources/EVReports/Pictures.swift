import EVCore
import EVSim

/// What messages.svg and timeline.html draw, and what both need: the selection (the start of the
/// run up to a cap, or everything overlapping a window of virtual time), the fault spans, lane
/// order, escaping and fixed number formats (the same run must give the same bytes).
public struct PictureOptions: Sendable, Equatable {
    /// Draw only what overlaps this stretch of virtual time (`--diagram-window FROM_S:TO_S`).
    public var window: ClosedRange<Micros>?
    /// Without a window: the first this many messages, and operations. Small enough for committed
    /// results (at most about 280 kB per file, docs/evsim.md); a window draws up to `windowCap`.
    public var messageCap = 1_000
    public var operationCap = 1_000
    /// Maelstrom's own limit for its diagrams.
    public static let windowCap = 10_000

    public init(window: ClosedRange<Micros>? = nil) { self.window = window }

    /// "FROM_S:TO_S" in seconds, e.g. "3.5:7"; nil unless 0 ≤ FROM < TO.
    public static func parseWindow(_ text: String) -> ClosedRange<Micros>? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let from = Double(parts[0]), let to = Double(parts[1]), from >= 0, from < to else { return nil }
        return Micros((from * 1e6).rounded())...Micros((to * 1e6).rounded())
    }

    public static func windowArgument(_ window: ClosedRange<Micros>) -> String {
        Pictures.seconds(window.lowerBound, 3) + ":" + Pictures.seconds(window.upperBound, 3)
    }

    /// Where a failed run is worth looking: around its first operation that did not succeed (1 s
    /// before, 1 s after), else its final phase, else its last 5 s.
    public static func failureWindow(_ result: TestResult) -> ClosedRange<Micros> {
        let end = result.phases.end
        if let op = result.history.first(where: { !($0.outcome?.isOK ?? false) }) {
            let to = op.completedAt.map { $0 + 1_000_000 } ?? op.invokedAt + 6_000_000
            return max(0, op.invokedAt - 1_000_000)...max(min(to, end), op.invokedAt + 1)
        }
        if let final = result.phases.finalStart { return max(0, final - 1_000_000)...max(end, final) }
        return max(0, end - 5_000_000)...max(end, 1)
    }
}

/// Shared helpers of the two pictures.
enum Pictures {
    /// The items drawn: `items` of `candidates` (everything in the window, or the whole run), cut
    /// at `cutAt` (the start of the first item left out) when over the cap.
    struct Selection<T> {
        let items: [T]
        let candidates: Int
        let cutAt: Micros?
    }

    /// `all` in start order; `span` gives an item's start and end.
    static func select<T>(_ all: [T], options: PictureOptions, cap: Int, span: (T) -> (Micros, Micros)) -> Selection<T> {
        var candidates = all
        var limit = cap
        if let window = options.window {
            candidates = all.filter { let (from, to) = span($0); return from <= window.upperBound && to >= window.lowerBound }
            limit = PictureOptions.windowCap
        }
        let items = Array(candidates.prefix(limit))
        return Selection(items: items, candidates: candidates.count,
                         cutAt: candidates.count > limit ? span(candidates[limit]).0 : nil)
    }

    /// The visible note of a cut picture, e.g. "Cut: only the first 1000 of 44016 messages, up to
    /// 1.234 s. Draw any window in full: evsim 6c --seed 1 --diagram-window 1.234:3.234 --out DIR".
    static func cutNote(_ what: String, _ selection: Selection<some Any>, replayCommand: String) -> String? {
        guard let cut = selection.cutAt else { return nil }
        let next = PictureOptions.windowArgument(cut...(cut + 2_000_000))
        return "Cut: only the first \(selection.items.count) of \(selection.candidates) \(what), up to \(seconds(cut, 3)) s. "
            + "Draw any window in full: \(replayCommand) --diagram-window \(next) --out DIR"
    }

    /// A fault in effect: from its opening nemesis action to its closing one (or the end), on the
    /// nodes it hit (a partition: every node it names; one that cut nothing is left out).
    struct FaultSpan {
        let kind: NemesisEvent.Action
        let from: Micros
        let to: Micros
        let nodes: [String]
        let label: String
    }

    static func faultSpans(_ result: TestResult) -> [FaultSpan] {
        let closing: [NemesisEvent.Action: NemesisEvent.Action] = [.startPartition: .stopPartition, .kill: .start, .pause: .resume]
        let nodeIDs = (0..<result.spec.nodeCount).map { "n\($0)" }
        let events = result.nemesisEvents
        return events.indices.compactMap { i in
            let e = events[i]
            guard let close = closing[e.action] else { return nil }
            let to = events[(i + 1)...].first { $0.action == close }?.time ?? max(result.phases.end, e.time)
            var nodes = e.nodes
            if e.action == .startPartition {
                let named = Set(e.detail.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
                nodes = nodeIDs.filter(named.contains)
            }
            guard !nodes.isEmpty else { return nil }
            return FaultSpan(kind: e.action, from: e.time, to: to, nodes: nodes,
                             label: "\(e.summary) (\(seconds(e.time, 3))–\(seconds(to, 3)) s)")
        }
    }

    /// Lanes in a fixed order: nodes n0, n1, …, then the kv services, then the clients, busiest
    /// first (the workers' clients before those that only sent init or setup requests, so the
    /// busy arrows stay short), anything else last.
    static func laneOrder(_ messageCounts: [String: Int]) -> [String] {
        let services = ["lin-kv", "seq-kv", "lww-kv", "lin-tso"]
        func key(_ id: String) -> (Int, Int, Int, String) {
            if let i = services.firstIndex(of: id) { return (1, 0, i, id) }
            if let n = Int(id.dropFirst()) {
                if id.hasPrefix("n") { return (0, 0, n, id) }
                if id.hasPrefix("c") { return (2, -messageCounts[id, default: 0], n, id) }
            }
            return (3, 0, 0, id)
        }
        return messageCounts.keys.sorted { key($0) < key($1) }
    }

    /// Text for XML and HTML content or, given its quote, for an attribute (in single quotes, JSON
    /// in an attribute stays short).
    static func escape(_ text: String, quote: Character? = nil) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quote == "\"": out += "&quot;"
            case "'" where quote == "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Long bodies and values are cut in tooltips, saying how much was left out.
    static let clipLimit = 300

    static func clip(_ text: String) -> String {
        guard text.count > clipLimit else { return text }
        return String(text.prefix(clipLimit)) + "… (\(text.count - clipLimit) more characters)"
    }

    static func seconds(_ time: Micros, _ places: Int) -> String { ResultTables.fixed(Double(time) / 1e6, places) }
}
