import EVCheckers
import EVCore
import EVSimCore
import Logging
import Workloads

/// A cluster of evnode nodes: the core's `ClusterSettings` plus what the nodes run (evnode's
/// `Router` with these workload tunables, or a test's own handler).
@dynamicMemberLookup
public struct ClusterConfig {
    public var settings: ClusterSettings
    public var workloads = WorkloadConfig()
    public var forcedWorkload: WorkloadKind?
    /// Replaces evnode's router on every node, e.g. with a deliberately broken handler that a
    /// checker must catch. nil runs the real workloads.
    public var handlerFactory: ((_ nodeID: String) -> MessageHandler)?

    public init(nodeCount: Int = 1, latency: Micros = 0, seed: UInt64 = 1) {
        settings = ClusterSettings(nodeCount: nodeCount, latency: latency, seed: seed)
    }

    /// `config.distribution`, `config.seed`, …: the settings' fields directly.
    public subscript<T>(dynamicMember path: WritableKeyPath<ClusterSettings, T>) -> T {
        get { settings[keyPath: path] }
        set { settings[keyPath: path] = newValue }
    }

    /// The handler of one node.
    public func makeHandler(_ nodeID: String) -> MessageHandler {
        handlerFactory?(nodeID) ?? Router(forced: forcedWorkload, config: workloads)
    }
}

public extension Cluster {
    /// A cluster of evnode nodes (or of `config.handlerFactory`'s handlers).
    convenience init(_ config: ClusterConfig) {
        self.init(config.settings, makeHandler: config.makeHandler)
    }
}

public extension SimNode {
    /// evnode's router on this node, nil when a test replaced the handler.
    var router: Router? { handler as? Router }
}

extension NetStats {
    /// The counts the :net checker reads.
    var messageCounts: MessageCounts {
        MessageCounts(clientSends: clientSends, clientReceives: clientReceives,
                      serverSends: serverSends, serverReceives: serverReceives)
    }
}
