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
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = runOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

// SwiftPM links an executable target's entry point under the name `<product>_main` (it renames
// `main` so tests can link the module); libFuzzer's own `main` is not used, its driver is called.
@_cdecl("evfuzz_main")
public func evfuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzzOneInput)
}
#else
@main
struct EVFuzzReplay {
    static func main() {
        var files = Array(CommandLine.arguments.dropFirst())
        // Every seed after an init: what `--write-seeds DIR` puts in libFuzzer's corpus directory.
        let seeds = (SeedCorpus.clientMessages + SeedCorpus.peerMessages + SeedCorpus.extremeMessages).map {
            Array((SeedCorpus.initLine + "\n" + $0 + "\n").utf8)
        }
        if files.first == "--write-seeds", files.count == 2 {
            for (i, seed) in seeds.enumerated() {
                guard let fp = fopen("\(files[1])/seed-\(i)", "wb") else { fputs("evfuzz: cannot write to \(files[1])\n", stderr); exit(2) }
                _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, fp) }
                fclose(fp)
            }
            print("evfuzz: wrote \(seeds.count) seeds to \(files[1])")
            files = []
            return
        }
        var inputs: [[UInt8]] = files.isEmpty ? seeds : []
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
