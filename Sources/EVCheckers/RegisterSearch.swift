/// What an operation does to, or expects of, a compare-and-set register.
enum RegisterOp<Value: Hashable>: Hashable {
    case read(Value)
    case write(Value)
    case cas(from: Value, to: Value)

    func map<T: Hashable>(_ f: (Value) -> T) -> RegisterOp<T> {
        switch self {
        case .read(let v): return .read(f(v))
        case .write(let v): return .write(f(v))
        case .cas(let from, let to): return .cas(from: f(from), to: f(to))
        }
    }
}

extension RegisterOp where Value == Int {
    /// The register's value after this op took effect on `state`, or nil if it cannot take effect
    /// there (a read of another value, a cas from another value). Values are interned; 0 = absent.
    func apply(to state: Int) -> Int? {
        switch self {
        case .read(let v): return v == state ? state : nil
        case .write(let v): return v
        case .cas(let from, let to): return from == state ? to : nil
        }
    }

    var isWrite: Bool { if case .write = self { return true }; return false }
}

/// One operation on one key, as the search sees it.
struct RegisterCall {
    /// Position in the checked history (for reports).
    let historyIndex: Int
    let op: RegisterOp<Int>
    /// Order keys: an :ok call's completion precedes another's invocation iff complete < invoke.
    let invoke: Int64
    /// nil for :info: it may take effect at any point after its invocation, or never.
    let complete: Int64?
}

/// Wing & Gong's search for a linearization of one key's calls, with Lowe's memoisation: a
/// configuration (ok calls linearized, :info calls used, register value) is explored at most once,
/// and not at all when an explored one differs only by fewer :info calls used (see Memo).
///
/// Just-in-time linearization: the next call to linearize is one invoked before the earliest
/// completion among the ok calls not yet linearized (that call's deadline). :info calls have no
/// completion, so they never set a deadline and may also stay unlinearized for good. Two
/// reductions keep :info calls from multiplying the configurations:
/// - :info calls with the same effect are interchangeable once both are invoked, so only the
///   earliest-invoked unused one of each effect is tried (the used ones of an effect are a prefix);
/// - an :info call only matters when something observes its effect, so it is tried only when it
///   changes the value, and only just before an ok read or cas (directly or through further :info
///   calls); before an ok write or the end it would be overwritten or unseen, so dropping it loses
///   nothing.
struct RegisterSearch {
    enum Verdict {
        case linearizable
        case notLinearizable(Stuck)
        /// The state budget ran out first.
        case gaveUp
    }

    /// Where the search got furthest: the configuration with the most ok calls linearized.
    struct Stuck {
        /// How many ok calls were linearized there.
        let linearizedCount: Int
        /// The call whose completion no extension of that prefix could get past (index into calls).
        let blocked: Int
        /// Calls concurrent with it: the ok calls whose intervals overlap its own, and the :info
        /// calls it could have followed (per effect, the first one unused there); by invocation.
        let concurrent: [Int]
        /// Register values (interned) of every explored configuration where `blocked` was the
        /// next deadline: the values it could have taken effect on.
        let states: [Int]
    }

    let calls: [RegisterCall]
    /// Indices into calls of the ok calls, by invocation.
    private let ok: [Int]
    /// Positions in `ok`, by completion.
    private let byCompletion: [Int]
    /// Indices into calls of the :info calls, grouped by effect, each group by invocation.
    private let infoGroups: [[Int]]

    init(calls: [RegisterCall]) {
        self.calls = calls
        ok = calls.indices.filter { calls[$0].complete != nil }.sorted { calls[$0].invoke < calls[$1].invoke }
        byCompletion = ok.indices.sorted { [ok] in calls[ok[$0]].complete! < calls[ok[$1]].complete! }
        var groupOf: [RegisterOp<Int>: Int] = [:]
        var groups: [[Int]] = []
        for i in calls.indices.sorted(by: { calls[$0].invoke < calls[$1].invoke }) where calls[i].complete == nil {
            if case .read = calls[i].op { preconditionFailure("a read without an :ok has no effect; drop it") }
            let g = groupOf[calls[i].op] ?? { groups.append([]); groupOf[calls[i].op] = groups.count - 1; return groups.count - 1 }()
            groups[g].append(i)
        }
        infoGroups = groups
    }

    /// A point of the search.
    private struct Config {
        /// Bit p: ok[p] is linearized.
        var done: [UInt64]
        /// Per :info group, how many of its calls (earliest first) have taken effect.
        var used: [Int]
        var state = 0
        /// The last step was an :info call: only another one or an ok read/cas may follow.
        var afterInfo = false
        var doneCount = 0
        /// Lowest position in `ok` not linearized.
        var firstOpen = 0
        /// Lowest position in `byCompletion` not linearized.
        var nextDeadline = 0

        func isDone(_ p: Int) -> Bool { done[p / 64] & (1 << UInt64(p % 64)) != 0 }

        /// Everything but `used` that decides what can still happen.
        var key: [UInt64] { done + [UInt64(state) << 1 | (afterInfo ? 1 : 0)] }
    }

    /// The configurations explored so far. One that differs from an explored one only by having
    /// used more :info calls (of each effect at least as many) can do nothing the explored one
    /// could not, so it is skipped: Lowe's memoisation, with subsumption.
    private struct Memo {
        private var explored: [[UInt64]: [[Int]]] = [:]
        private(set) var count = 0

        /// Records `c` unless an explored configuration subsumes it; returns whether it did.
        mutating func insert(_ c: Config) -> Bool {
            let key = c.key
            if let list = explored[key], list.contains(where: { Self.atMost($0, c.used) }) { return false }
            explored[key, default: []].removeAll { Self.atMost(c.used, $0) }
            explored[key, default: []].append(c.used)
            count += 1
            return true
        }

        private static func atMost(_ a: [Int], _ b: [Int]) -> Bool {
            for g in a.indices where a[g] > b[g] { return false }
            return true
        }
    }

    private enum Move {
        case ok(Int)
        case info(Int)
    }

    /// The calls that may be linearized next at `c`: positions in `ok` and :info groups. nil when
    /// every ok call is linearized.
    private func window(_ c: Config) -> (deadline: Int, ok: [Int], info: [Int])? {
        guard c.nextDeadline < byCompletion.count else { return nil }
        let deadline = ok[byCompletion[c.nextDeadline]]
        let by = calls[deadline].complete!
        var okMoves: [Int] = []
        var p = c.firstOpen
        while p < ok.count, calls[ok[p]].invoke < by {
            if !c.isDone(p) { okMoves.append(p) }
            p += 1
        }
        let infoMoves = infoGroups.indices.filter { g in
            c.used[g] < infoGroups[g].count && calls[infoGroups[g][c.used[g]]].invoke < by
        }
        return (deadline, okMoves, infoMoves)
    }

    private func moves(_ c: Config) -> [Move] {
        guard let w = window(c) else { return [] }
        var result: [Move] = []
        for p in w.ok {
            let op = calls[ok[p]].op
            if !(c.afterInfo && op.isWrite), op.apply(to: c.state) != nil { result.append(.ok(p)) }
        }
        for g in w.info {
            if let s = calls[infoGroups[g][c.used[g]]].op.apply(to: c.state), s != c.state { result.append(.info(g)) }
        }
        return result
    }

    private func step(_ c: Config, _ move: Move) -> Config {
        var n = c
        switch move {
        case .ok(let p):
            n.state = calls[ok[p]].op.apply(to: c.state)!
            n.done[p / 64] |= 1 << UInt64(p % 64)
            n.doneCount += 1
            n.afterInfo = false
            while n.firstOpen < ok.count, n.isDone(n.firstOpen) { n.firstOpen += 1 }
            while n.nextDeadline < byCompletion.count, n.isDone(byCompletion[n.nextDeadline]) { n.nextDeadline += 1 }
        case .info(let g):
            n.state = calls[infoGroups[g][c.used[g]]].op.apply(to: c.state)!
            n.used[g] += 1
            n.afterInfo = true
        }
        return n
    }

    /// Depth-first search; gives up once more than `maxStates` configurations were explored.
    func run(maxStates: Int) -> (verdict: Verdict, explored: Int) {
        let root = Config(done: [UInt64](repeating: 0, count: (ok.count + 63) / 64),
                          used: [Int](repeating: 0, count: infoGroups.count))
        if ok.isEmpty { return (.linearizable, 1) }
        var memo = Memo()
        _ = memo.insert(root)
        var deepest = root
        var statesByDeadline: [Int: Set<Int>] = [:]
        var stack: [(config: Config, moves: [Move], next: Int)] = []
        func visit(_ c: Config) {
            statesByDeadline[ok[byCompletion[c.nextDeadline]], default: []].insert(c.state)
            if c.doneCount > deepest.doneCount { deepest = c }
            stack.append((c, moves(c), 0))
        }

        visit(root)
        while let top = stack.last {
            guard top.next < top.moves.count else { stack.removeLast(); continue }
            stack[stack.count - 1].next += 1
            let child = step(top.config, top.moves[top.next])
            guard memo.insert(child) else { continue }
            if memo.count > maxStates { return (.gaveUp, memo.count) }
            if child.doneCount == ok.count { return (.linearizable, memo.count) }
            visit(child)
        }

        let w = window(deepest)!
        let b = calls[w.deadline]
        let overlapping = ok.filter { $0 != w.deadline && calls[$0].invoke < b.complete! && b.invoke < calls[$0].complete! }
        let concurrent = (overlapping + w.info.map { infoGroups[$0][deepest.used[$0]] }).sorted { calls[$0].invoke < calls[$1].invoke }
        let stuck = Stuck(linearizedCount: deepest.doneCount, blocked: w.deadline, concurrent: concurrent,
                          states: statesByDeadline[w.deadline]!.sorted())
        return (.notLinearizable(stuck), memo.count)
    }
}
