import EVCore
import EVCheckers
import EVSim
import EVSimCore
import Workloads
import XCTest

/// An initialized simulated cluster for workload tests; fails the calling test if a node does not
/// answer init.
func initializedCluster(nodes: Int, latency: Micros = 0, distribution: LatencyDistribution = .constant,
                        seed: UInt64 = 1, workload: WorkloadKind? = nil,
                        configure: (inout WorkloadConfig) -> Void = { _ in },
                        file: StaticString = #filePath, line: UInt = #line) -> Cluster {
    var config = ClusterConfig(nodeCount: nodes, latency: latency, seed: seed)
    config.distribution = distribution
    config.forcedWorkload = workload
    configure(&config.workloads)
    let cluster = Cluster(config)
    XCTAssertEqual(cluster.initialize(), [], "nodes that did not answer init", file: file, line: line)
    if let workload { // ready once every node's start record names it (with latency, after init_ok)
        let ready = cluster.run(until: { cluster.nodes.allSatisfy { $0.router?.active[workload.implementation] != nil } },
                                limit: .seconds(5))
        XCTAssertTrue(ready, "every node opened \(workload.rawValue)", file: file, line: line)
    }
    return cluster
}

extension WorkloadConfig {
    /// Raft without its coalescing window: a hand-driven node answers within the input that
    /// caused the answer, so tests read its messages at once.
    static var immediateRaft: WorkloadConfig {
        var c = WorkloadConfig()
        c.linKV.service.raft.window = 0
        c.listAppend.service.raft.window = 0
        return c
    }
}
