/// The text of `report`'s progress line: bytes read of the total, rate, time left.
public enum ReportProgressText {
    public static func line(read: UInt64, total: UInt64, rate: Double, left: Double) -> String {
        "report: \(bytes(Double(read))) of \(bytes(Double(total))) (\(read * 100 / max(1, total)) %), \(bytes(rate))/s, \(Int(left.rounded(.up))) s left"
    }

    /// Decimal units, one decimal: `1.7 GB`.
    public static func bytes(_ b: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = b
        var i = 0
        while v >= 1000 && i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(Int(v)) B" : "\((v * 10).rounded() / 10) \(units[i])"
    }
}
