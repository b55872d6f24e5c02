/// A growable byte buffer with a read cursor, used for the output queue and for building lines.
/// A class with a raw allocation rather than `[UInt8]`: appends on the hot path skip Array's
/// uniqueness checks, and consumed bytes are dropped by moving a cursor.
public final class ByteBuffer {
    public private(set) var storage: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int
    /// Index of the first unread byte.
    public private(set) var readIndex = 0
    /// Index one past the last written byte.
    public private(set) var writeIndex = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    @inlinable public var readableBytes: Int { writeIndex - readIndex }
    @inlinable public var isEmpty: Bool { writeIndex == readIndex }

    public var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + readIndex, count: readableBytes)
    }

    @inline(__always) public func reserve(_ extra: Int) {
        if writeIndex + extra > capacity { grow(extra) }
    }

    private func grow(_ extra: Int) {
        // Compact first: the unread bytes move to the front.
        let live = readableBytes
        if readIndex > 0 && live + extra <= capacity {
            storage.update(from: storage + readIndex, count: live)
        } else {
            var newCapacity = capacity * 2
            while newCapacity < live + extra { newCapacity *= 2 }
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            fresh.initialize(from: storage + readIndex, count: live)
            storage.deallocate()
            storage = fresh
            capacity = newCapacity
        }
        readIndex = 0
        writeIndex = live
    }

    @inline(__always) public func append(_ byte: UInt8) {
        if writeIndex == capacity { grow(1) }
        storage[writeIndex] = byte
        writeIndex += 1
    }

    @inline(__always) public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage + writeIndex).initialize(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        writeIndex += bytes.count
    }

    /// Appends into room that `reserve` has already made: no capacity check.
    @inline(__always) func appendReserved(_ byte: UInt8) {
        storage[writeIndex] = byte
        writeIndex += 1
    }

    /// Appends `count` bytes from `bytes` into room that `reserve` has already made.
    @inline(__always) func appendReserved(_ bytes: UnsafePointer<UInt8>, count: Int) {
        (storage + writeIndex).initialize(from: bytes, count: count)
        writeIndex += count
    }

    public func append(_ string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Marks `n` bytes as consumed.
    public func consume(_ n: Int) {
        readIndex += n
        if readIndex == writeIndex { readIndex = 0; writeIndex = 0 }
    }

    public func clear() { readIndex = 0; writeIndex = 0 }

    /// Drops the last `n` written bytes (used to undo a partially written field).
    public func truncate(to count: Int) { writeIndex = readIndex + count }

    public var bytes: [UInt8] { Array(readable) }
    public var string: String { String(decoding: readable, as: UTF8.self) }
}
