import EVFuzz
#if canImport(Glibc)
import Glibc
#endif

// Two builds of one harness (see scripts/fuzz.sh and docs/hardening.md):
// - with -DEVFUZZ_LIBFUZZER and -sanitize=fuzzer,address: libFuzzer's entry point; each input is
//   a few lines fed to a fresh node. A trap or a bad output line aborts, which libFuzzer reports.
// - otherwise: a replay driver, `evfuzz FILE...` (or seeds when no file is given), that runs
//   inputs once and exits non-zero on a violation; it also keeps `swift build` linking.

private func runOne(_ data: UnsafeRawBufferPointer) -> FuzzHarness {
    let h = FuzzHarness()
    h.run(data)
    if let v = h.violations.first {
        fputs("evfuzz: bad output line: \(v)\n", stderr)
        abort()
    }
    return h
}

#if EVFUZZ_LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = runOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main
struct EVFuzzReplay {
    static func main() {
        let files = Array(CommandLine.arguments.dropFirst())
        var inputs: [[UInt8]] = []
        if files.isEmpty {
            // Every seed after an init: the same inputs the corpus directory holds.
            for line in SeedCorpus.clientMessages + SeedCorpus.peerMessages + SeedCorpus.extremeMessages {
                inputs.append(Array((SeedCorpus.initLine + "\n" + line + "\n").utf8))
            }
        }
        for f in files {
            guard let fp = fopen(f, "rb") else { fputs("evfuzz: cannot open \(f)\n", stderr); exit(2) }
            var bytes: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&buf, 1, buf.count, fp)
                if n <= 0 { break }
                bytes += buf[0..<n]
            }
            fclose(fp)
            inputs.append(bytes)
        }
        var written = 0
        for input in inputs { written += input.withUnsafeBytes { runOne($0).linesWritten } }
        print("evfuzz: \(inputs.count) inputs replayed, \(written) output lines checked, no violation")
    }
}
#endif
