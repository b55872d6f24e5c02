import EVCore

/// The message types of one replicator: `<prefix>_data` and `<prefix>_ack` (e.g. `bc_data`).
public struct ReplicationChannel: Sendable {
    public let dataType: String
    public let ackType: String
    public init(prefix: String) {
        dataType = prefix + "_data"
        ackType = prefix + "_ack"
    }
}

/// Timing and bounds of a replicator. Flush intervals are per link (`Replicator.open`).
public struct ReplicationConfig: Sendable {
    /// A received batch that no outgoing data message has acknowledged after this long gets a
    /// standalone ack. Longer means fewer messages but longer-lived in-flight records.
    public var ackDelay: Micros = .ms(1500)
    /// Data unacknowledged this long is resent from the acknowledged point (go-back-N); while a
    /// link is in that state it sends only such resends, one per timeout. Must exceed
    /// ackDelay + round trip + the peer's flush interval, or healthy links resend for nothing.
    public var retransmitTimeout: Micros = .ms(3000)
    /// Backoff: while a link's resends go unanswered, the wait before the next one doubles, up to
    /// this many retransmit timeouts. Any message from the peer (it is reachable again) resets it
    /// and sends the resend at once, so a heal is not met with a long wait.
    public var maxBackoff = 4
    /// Most entries in one data message: a long backlog (after a partition, or for a restarted
    /// peer) goes out as a window per message rather than as one huge line.
    public var maxEntriesPerMessage = 10_000
    /// Flow control: at most this many windows unacknowledged on a link; more waits for acks. A
    /// receiver acks at once whenever a window's worth has arrived since its last ack.
    public var maxWindowsInFlight = 2
    /// Cap on entries held from batches that arrived ahead of a gap (reordered or after a loss);
    /// beyond it such batches are dropped and come again with the next resend.
    public var maxBufferedEntries = 10_000
    /// While the node's output is congested (stdout not read), flushes are retried this often
    /// instead of adding to the queue.
    public var congestionRetry: Micros = .ms(50)

    public init() {}

    /// The timing a workload tunes (see each field above).
    public init(ackDelay: Micros, retransmitTimeout: Micros, maxEntriesPerMessage: Int = 10_000, maxBackoff: Int = 4) {
        self.ackDelay = ackDelay
        self.retransmitTimeout = retransmitTimeout
        self.maxEntriesPerMessage = maxEntriesPerMessage
        self.maxBackoff = maxBackoff
    }
}
