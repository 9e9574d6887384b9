import Foundation

extension PTDReport {
    /// A log-log SVG plot of `|G(iω)|` for HiPPO-LegS, S4D-LegS and the chosen PTD (first output
    /// vector), hand-written: axes with decade ticks, three polylines and a legend.
    package func svg() -> String {
        let (w, h) = (720.0, 460.0)
        let (left, right, top, bottom) = (70.0, 20.0, 30.0, 50.0)
        let omega = curves.omega
        let series: [(String, String, [Double])] = [
            ("HiPPO-LegS", "#222222", curves.hippo), ("S4D-LegS", "#d62728", curves.s4dLegS),
            ("PTD (\(method.rawValue))", "#1f77b4", curves.ptd),
        ]
        let positive = series.flatMap { $0.2 }.filter { $0 > 0 && $0.isFinite }
        let xmin = log10(omega.first ?? 1e-2)
        let xmax = log10(omega.last ?? 1e5)
        var ymin = floor(log10(positive.min() ?? 1e-3))
        var ymax = ceil(log10(positive.max() ?? 1))
        if ymax <= ymin { ymax = ymin + 1 }
        ymin = Swift.max(ymin, ymax - 12)
        func px(_ x: Double) -> Double { left + (log10(x) - xmin) / (xmax - xmin) * (w - left - right) }
        func py(_ y: Double) -> Double {
            let ly = Swift.min(Swift.max(log10(Swift.max(y, 1e-300)), ymin), ymax)
            return top + (ymax - ly) / (ymax - ymin) * (h - top - bottom)
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" "
        s += "font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s +=
            "<text x=\"\(w / 2)\" y=\"18\" text-anchor=\"middle\">|G(iω)| of HiPPO-LegS, S4D-LegS and PTD, N = \(n)</text>\n"
        s += String(
            format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            left, top, w - left - right, h - top - bottom)
        for d in Int(ceil(xmin))...Int(floor(xmax)) {
            let x = px(pow(10, Double(d)))
            s += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, top, x,
                h - bottom)
            s += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">1e%d</text>\n", x, h - bottom + 16, d)
        }
        for d in Int(ymin)...Int(ymax) {
            let y = py(pow(10, Double(d)))
            s += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y, w - right,
                y)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", left - 6, y + 4, d)
        }
        s += "<text x=\"\(w / 2)\" y=\"\(h - 12)\" text-anchor=\"middle\">ω</text>\n"
        s +=
            "<text x=\"16\" y=\"\(h / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(h / 2))\">|G(iω)|</text>\n"
        for (i, (name, color, ys)) in series.enumerated() {
            let pts = zip(omega, ys).map { String(format: "%.1f,%.1f", px($0), py($1)) }.joined(separator: " ")
            let dash = i == 2 ? " stroke-dasharray=\"6 3\"" : ""
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\"\(dash) points=\"\(pts)\"/>\n"
            let ly = top + 16 + Double(i) * 16
            s += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2\"%@/>\n",
                w - right - 170, ly - 4, w - right - 145, ly - 4, color, dash)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", w - right - 140, ly, name)
        }
        s += "</svg>\n"
        return s
    }
}
