import EVCore

/// What a loaded host does to a Maelstrom run that the bare simulator does not: node processes
/// start in parallel, so `init` reaches each at a different time; a process that answered
/// `init_ok` may then not be scheduled for a while; the kv services (a JVM thread) take time to
/// answer. Each is a `Spread`, drawn from the seed (docs/evsim.md, "Start skew").
public struct StartSkew: Sendable, Equatable {
    /// Usually uniform in `usual`; with probability `slowChance`, uniform in `slow` instead.
    public struct Spread: Sendable, Equatable {
        public var usual: ClosedRange<Micros>
        public var slow: ClosedRange<Micros>
        public var slowChance: Double

        public init(usual: ClosedRange<Micros>, slow: ClosedRange<Micros>, slowChance: Double) {
            self.usual = usual
            self.slow = slow
            self.slowChance = slowChance
        }

        /// Always 0, and draws nothing.
        public static let zero = Spread(usual: 0...0, slow: 0...0, slowChance: 0)

        public var isZero: Bool { usual == 0...0 && (slowChance == 0 || slow == 0...0) }

        /// One draw (two random numbers, or none when the spread is zero).
        public func draw(_ rng: inout SimRandom) -> Micros {
            if isZero { return 0 }
            let range = rng.unit() < slowChance ? slow : usual
            return Micros(rng.int(Int(range.lowerBound)...Int(range.upperBound)))
        }
    }

    /// When each node's `init` is sent, after the harness starts (`Cluster.initialize`).
    public var initArrival: Spread
    /// How long a process is not scheduled right after it handled its `init` (and answered it):
    /// its timers and inbound messages wait. At the start and after every restart.
    public var postInitStall: Spread
    /// Added to each kv service reply (lin-kv, seq-kv, lww-kv, lin-tso), on top of network latency.
    public var serviceDelay: Spread

    public init(initArrival: Spread, postInitStall: Spread, serviceDelay: Spread) {
        self.initArrival = initArrival
        self.postInitStall = postInitStall
        self.serviceDelay = serviceDelay
    }

    /// The old instant start: every `init` at once, no stall, services answer in zero time.
    public static let off = StartSkew(initArrival: .zero, postInitStall: .zero, serviceDelay: .zero)

    /// A loaded machine running Maelstrom: mostly a few ms apart, one node in eight much later;
    /// service replies mostly under a millisecond, one in 64 between 5 and 50 ms.
    public static let maelstrom = StartSkew(
        initArrival: Spread(usual: Micros.ms(0)...Micros.ms(5), slow: Micros.ms(20)...Micros.ms(150), slowChance: 1.0 / 8),
        postInitStall: Spread(usual: Micros.ms(0)...Micros.ms(5), slow: Micros.ms(20)...Micros.ms(150), slowChance: 1.0 / 8),
        serviceDelay: Spread(usual: 50...Micros.ms(1), slow: Micros.ms(5)...Micros.ms(50), slowChance: 1.0 / 64))

    public var isOff: Bool { initArrival.isZero && postInitStall.isZero && serviceDelay.isZero }
}
