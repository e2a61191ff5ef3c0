/// The `n` best of a stream without sorting it all: kept sorted while `n` is small (the usual
/// top 10); a large `n` collects everything and sorts once at the end.
struct TopN<Element> {
    let n: Int
    let before: (Element, Element) -> Bool
    private var kept: [Element] = []
    private var sorted: Bool { n <= 64 }

    init(_ n: Int, by before: @escaping (Element, Element) -> Bool) {
        self.n = max(0, n)
        self.before = before
    }

    mutating func offer(_ e: Element) {
        guard n > 0 else { return }
        guard sorted else { return kept.append(e) }
        if kept.count == n {
            guard before(e, kept[n - 1]) else { return }
            kept.removeLast()
        }
        var i = kept.count
        while i > 0 && before(e, kept[i - 1]) { i -= 1 }
        kept.insert(e, at: i)
    }

    /// Best first, at most `n`.
    var elements: [Element] { sorted ? kept : Array(kept.sorted(by: before).prefix(n)) }
}
