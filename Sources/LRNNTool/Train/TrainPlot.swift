import Foundation

/// Line plots as SVG for `lrnn train --out`: the loss against the step and the accuracy against
/// the length.
package enum TrainPlot {
    /// One polyline of a plot.
    package struct Series: Sendable {
        /// The legend text.
        package var name: String
        /// The points (x, y).
        package var points: [(Double, Double)]

        /// Creates a series.
        ///
        /// - Parameters:
        ///   - name: the legend text.
        ///   - points: the points.
        package init(name: String, points: [(Double, Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// An SVG document with linear axes (a log-scaled y axis when `logY`).
    ///
    /// - Parameters:
    ///   - series: the lines (non-finite points, and with `logY` non-positive ones, are left out).
    ///   - title: the title.
    ///   - xLabel: the x axis' label.
    ///   - yLabel: the y axis' label.
    ///   - logY: whether y is drawn on a log10 scale.
    ///   - yRange: fixed y limits (in data units), or nil to fit the data.
    /// - Returns: the document.
    package static func svg(
        _ series: [Series], title: String, xLabel: String, yLabel: String, logY: Bool = false,
        yRange: (Double, Double)? = nil
    ) -> String {
        let w = 720.0, h = 440.0, left = 70.0, right = 170.0, top = 40.0, bottom = 55.0
        let pw = w - left - right, ph = h - top - bottom
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        let clean = series.map { s in
            Series(name: s.name, points: s.points.filter { $0.0.isFinite && $0.1.isFinite && (!logY || $0.1 > 0) })
        }
        let all = clean.flatMap(\.points)
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left + pw / 2)" y="22" text-anchor="middle" font-size="14">\(title)</text>

            """
        guard !all.isEmpty else { return s + "</svg>\n" }
        var x0 = all.map(\.0).min()!, x1 = all.map(\.0).max()!
        if x1 <= x0 { (x0, x1) = (x0 - 1, x1 + 1) }
        var y0 = yRange.map { ty($0.0) } ?? all.map { ty($0.1) }.min()!
        var y1 = yRange.map { ty($0.1) } ?? all.map { ty($0.1) }.max()!
        if y1 <= y0 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (ty(y) - y0) / (y1 - y0) * ph }
        for i in 0...4 {
            let fx = x0 + (x1 - x0) * Double(i) / 4
            let fy = y0 + (y1 - y0) * Double(i) / 4
            let gx = left + pw * Double(i) / 4, gy = top + ph - ph * Double(i) / 4
            s += "<line x1=\"\(gx)\" y1=\"\(top)\" x2=\"\(gx)\" y2=\"\(top + ph)\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(gx)\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(label(fx))</text>\n"
            s += "<line x1=\"\(left)\" y1=\"\(gy)\" x2=\"\(left + pw)\" y2=\"\(gy)\" stroke=\"#ddd\"/>"
            s +=
                "<text x=\"\(left - 6)\" y=\"\(gy + 4)\" text-anchor=\"end\">\(label(logY ? pow(10, fy) : fy))</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(left + pw / 2)\" y=\"\(h - 15)\" text-anchor=\"middle\">\(xLabel)</text>\n"
        s +=
            "<text x=\"18\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(top + ph / 2))\">\(yLabel)</text>\n"
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        for (i, line) in clean.enumerated() where !line.points.isEmpty {
            let c = colours[i % colours.count]
            let coords = line.points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }
            s +=
                "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\"\(coords.joined(separator: " "))\"/>\n"
            if line.points.count <= 64 {
                for q in coords {
                    let xy = q.split(separator: ",")
                    s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(c)\"/>"
                }
            }
            let ly = top + 10 + 18 * Double(i)
            s +=
                "\n<line x1=\"\(left + pw + 12)\" y1=\"\(ly)\" x2=\"\(left + pw + 36)\" y2=\"\(ly)\" stroke=\"\(c)\" stroke-width=\"2\"/>"
            s += "<text x=\"\(left + pw + 42)\" y=\"\(ly + 4)\">\(line.name)</text>\n"
        }
        return s + "</svg>\n"
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1000 || a < 0.01 { return String(format: "%.2g", v) }
        return a >= 10 ? String(format: "%.0f", v) : String(format: "%.2f", v)
    }
}
