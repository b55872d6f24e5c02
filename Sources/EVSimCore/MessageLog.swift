import EVCore

/// Every message of a run with what became of it, for message diagrams: sent, then delivered (when
/// the receiver's delivery thread handed it over, which can be after its deadline when it waited
/// behind another message), dropped by a partition, or neither (its receiver was killed, or the run
/// ended first). `SimNetwork` fills it in only while one is attached; recording only reads the clock
/// and appends, so an attached log never changes a run.
public final class MessageLog {
    public struct Record: Sendable {
        public let message: SimMessage
        public fileprivate(set) var deliveredAt: Micros?
        /// When the receiver's thread took it off the queue and a partition discarded it.
        public fileprivate(set) var droppedAt: Micros?
        /// Positions of the send and of the delivery or drop among all recorded events: the order
        /// in which they ran, which also orders events of the same virtual instant.
        public let sendOrder: Int
        public fileprivate(set) var endOrder: Int?

        public init(message: SimMessage, sendOrder: Int, deliveredAt: Micros? = nil, droppedAt: Micros? = nil, endOrder: Int? = nil) {
            self.message = message
            self.sendOrder = sendOrder
            self.deliveredAt = deliveredAt
            self.droppedAt = droppedAt
            self.endOrder = endOrder
        }
    }

    /// In send order.
    public private(set) var records: [Record] = []
    private var events = 0

    public init() {}

    func sent(_ message: SimMessage) {
        records.append(Record(message: message, sendOrder: events))
        events += 1
    }

    func delivered(_ message: SimMessage, at time: Micros) {
        guard let i = index(message) else { return }
        records[i].deliveredAt = time
        records[i].endOrder = events
        events += 1
    }

    func dropped(_ message: SimMessage, at time: Micros) {
        guard let i = index(message) else { return }
        records[i].droppedAt = time
        records[i].endOrder = events
        events += 1
    }

    /// Message ids are consecutive, so a record is found by offset (nil if sent before attaching).
    private func index(_ message: SimMessage) -> Int? {
        guard let first = records.first?.message.id else { return nil }
        let i = message.id - first
        return records.indices.contains(i) ? i : nil
    }
}
