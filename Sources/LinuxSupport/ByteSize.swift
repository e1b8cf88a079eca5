/// Sizes as docker writes them (`--memory`, `--shm-size`, `tmpfs-size`, runc's `update`): a byte
/// count, or a number (decimals allowed: `1.5g`) with a unit b, k, m, g, t or p in powers of 1024,
/// optionally followed by `b` or `ib` (`512mb`, `2GiB`), any case. The one parser of sizes in the
/// project: every value is overflow-checked, so an absurd size is refused, never a crash.
public enum ByteSize {
    /// Bytes, or nil when `text` is no size or does not fit in an Int64.
    public static func parse(_ text: String) -> Int64? {
        var body = Substring(text.lowercased())
        if body.hasSuffix("ib") {
            body = body.dropLast(2)
        } else if body.hasSuffix("b") && body.count > 1 && !(body.dropLast().last?.isNumber ?? true) {
            body = body.dropLast()
        }
        var shift = 0
        if let unit = body.last, let power = ["b": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50][String(unit)] {
            shift = power
            body = body.dropLast()
        }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty || parts.count == 2 else { return nil }
        let factor = Int64(1) << Int64(shift)
        guard let units = whole.isEmpty ? 0 : Int64(whole) else { return nil }
        let (scaled, overflow) = units.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        guard parts.count == 2 else { return scaled }
        // The fraction, digit by digit in exact integer arithmetic (at most 18 digits count).
        let fraction = parts[1].prefix(18)
        guard !fraction.isEmpty, let numerator = Int64(fraction) else { return nil }
        var denominator: Int64 = 1
        for _ in fraction { denominator *= 10 }
        let (part, partOverflow) = numerator.multipliedReportingOverflow(by: factor)
        let fractionBytes = partOverflow ? Int64((Double(numerator) / Double(denominator)) * Double(factor)) : part / denominator
        let (total, totalOverflow) = scaled.addingReportingOverflow(fractionBytes)
        return totalOverflow ? nil : total
    }
}
