#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The isolation of a node's `async` code: its jobs run on the loop thread, between events.
///
/// There is no second thread. A task started by an async handler, and every continuation an RPC,
/// KV call or `sleep` resumes, is enqueued on `LoopExecutor`; `MaelstromNode` runs the queue at the
/// end of each event it handles (a message, an RPC reply, a timer). So async code interleaves with
/// handlers exactly as callbacks do, on the real loop and in the simulator alike. The executor is
/// also the task's executor preference, so nonisolated async code the handler calls stays there.
@globalActor
public actor NodeActor {
    public static let shared = NodeActor()
    public nonisolated var unownedExecutor: UnownedSerialExecutor { LoopExecutor.shared.asUnownedSerialExecutor() }
}

/// A serial executor with no thread of its own: jobs wait until the loop thread runs them.
final class LoopExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    static let shared = LoopExecutor()
    private var jobs: [UnownedJob] = []
    private var running = false
    /// The loop thread (the first to enqueue: a handler starting a task). Suspensions that resume
    /// elsewhere (`Task.sleep`, another actor) would run node code off it: they are refused, loudly.
    private var owner: pthread_t?

    func enqueue(_ job: consuming ExecutorJob) {
        let me = pthread_self()
        if owner == nil { owner = me }
        precondition(pthread_equal(owner!, me) != 0,
                     "node code resumed off the loop thread: await only the node's own calls (rpc, KV, sleep)")
        jobs.append(UnownedJob(job))
    }

    /// Runs every queued job, and those they queue. Re-entrant calls return at once.
    func drain() {
        guard !running, !jobs.isEmpty else { return }
        running = true
        defer { running = false }
        var i = 0
        while i < jobs.count {
            let job = jobs[i] // copied: running it may append to `jobs`
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            i += 1
        }
        jobs.removeAll(keepingCapacity: true)
    }
}
