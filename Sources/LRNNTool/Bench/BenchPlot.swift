import Foundation

/// Draws the scaling sweep as an SVG: tokens/s against T (log–log), one colour per
/// kernel, solid for the chunk path and dashed for the naive recurrence.
package enum BenchPlot {
    /// The SVG document for `points`.
    package static func svg(_ points: [ScalingPoint], title: String = "LinearRNN throughput against sequence length")
        -> String
    {
        let w = 800.0, h = 480.0, left = 80.0, right = 230.0, top = 40.0, bottom = 60.0
        let pw = w - left - right, ph = h - top - bottom
        let valid = points.filter { $0.ns_per_token > 0 }
        guard !valid.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" }
        let xs = valid.map { log10(Double($0.T)) }
        let ys = valid.map { log10(1e9 / $0.ns_per_token) }
        let x0 = floor(xs.min()!), x1 = max(ceil(xs.max()!), x0 + 1)
        let y0 = floor(ys.min()!), y1 = max(ceil(ys.max()!), y0 + 1)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (y - y0) / (y1 - y0) * ph }
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(w / 2 - 60)" y="22" text-anchor="middle" font-size="14">\(title)</text>

            """
        var d = x0
        while d <= x1 + 1e-9 {
            s += "<line x1=\"\(px(d))\" y1=\"\(top)\" x2=\"\(px(d))\" y2=\"\(top + ph)\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(px(d))\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">1e\(Int(d))</text>\n"
            d += 1
        }
        d = y0
        while d <= y1 + 1e-9 {
            s += "<line x1=\"\(left)\" y1=\"\(py(d))\" x2=\"\(left + pw)\" y2=\"\(py(d))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(py(d) + 4)\" text-anchor=\"end\">1e\(Int(d))</text>\n"
            d += 1
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(left + pw / 2)\" y=\"\(h - 15)\" text-anchor=\"middle\">sequence length T (tokens)</text>\n"
        s +=
            "<text x=\"18\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(top + ph / 2))\">tokens/s</text>\n"
        var names: [String] = []
        for p in valid where !names.contains(p.name) { names.append(p.name) }
        var legendY = top + 10
        for (i, name) in names.enumerated() {
            let c = colours[i % colours.count]
            for path in ["chunk", "naive"] {
                let pts = valid.filter { $0.name == name && $0.path == path }.sorted { $0.T < $1.T }
                guard !pts.isEmpty else { continue }
                let dash = path == "naive" ? " stroke-dasharray=\"5,4\"" : ""
                let coords = pts.map {
                    String(format: "%.1f,%.1f", px(log10(Double($0.T))), py(log10(1e9 / $0.ns_per_token)))
                }
                s +=
                    "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\"\(dash) points=\"\(coords.joined(separator: " "))\"/>\n"
                for q in coords {
                    let xy = q.split(separator: ",")
                    s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(c)\"/>"
                }
                s +=
                    "\n<line x1=\"\(left + pw + 12)\" y1=\"\(legendY)\" x2=\"\(left + pw + 36)\" y2=\"\(legendY)\" stroke=\"\(c)\" stroke-width=\"2\"\(dash)/>"
                s += "<text x=\"\(left + pw + 42)\" y=\"\(legendY + 4)\">\(name) (\(path))</text>\n"
                legendY += 18
            }
        }
        return s + "</svg>\n"
    }
}
