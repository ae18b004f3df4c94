import Foundation

/// An SVG scatter of quality against bits per weight, one labelled point a variant, that any browser shows.
public enum QualityChart {
    public static func svg(_ report: AblationReport) -> String {
        let w = 900.0, h = 560.0, left = 80.0, right = 220.0, top = 40.0, bottom = 60.0
        // Level-only variants answer another question (which level matters); the chart compares whole models.
        // The design's point is drawn last and larger, so the ablations around it do not hide it.
        let pts = report.rows.filter { $0.group != "level-only" }.sorted { ($0.group == "design" ? 1 : 0) < ($1.group == "design" ? 1 : 0) }
        let xs = pts.map(\.bitsPerWeight), ys = pts.map(\.quality.quality)
        let x0 = floor((xs.min() ?? 0) - 0.5), x1 = ceil((xs.max() ?? 16) + 0.5)
        let y0 = max(0, (ys.min() ?? 0) - 0.02), y1 = min(1.0, (ys.max() ?? 1) + 0.01)
        func px(_ x: Double) -> Double { left + (x - x0) / max(x1 - x0, 1e-9) * (w - left - right) }
        func py(_ y: Double) -> Double { h - bottom - (y - y0) / max(y1 - y0, 1e-9) * (h - top - bottom) }
        let colors = ["design": "#d62728", "ablation": "#ff7f0e", "pattern": "#9467bd", "baseline": "#1f77b4", "auto": "#2ca02c", "level-only": "#8c564b"]
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(left)\" y=\"24\" font-size=\"15\">\(escape(report.model)): \(escape(report.qualityMeasure)) against bits per weight (counted from bytes)</text>\n"
        s += line(px(x0), py(y0), px(x1), py(y0)) + line(px(x0), py(y0), px(x0), py(y1))
        for k in 0...5 {
            let xv = x0 + (x1 - x0) * Double(k) / 5, yv = y0 + (y1 - y0) * Double(k) / 5
            s += "<text x=\"\(fmt(px(xv)))\" y=\"\(fmt(h - bottom + 18))\" text-anchor=\"middle\">\(String(format: "%.1f", xv))</text>\n"
            s += "<text x=\"\(fmt(left - 8))\" y=\"\(fmt(py(yv) + 4))\" text-anchor=\"end\">\(String(format: "%.3f", yv))</text>\n"
            s += "<line x1=\"\(fmt(px(x0)))\" y1=\"\(fmt(py(yv)))\" x2=\"\(fmt(px(x1)))\" y2=\"\(fmt(py(yv)))\" stroke=\"#eee\"/>\n"
        }
        s += "<text x=\"\(fmt((left + w - right) / 2))\" y=\"\(fmt(h - 16))\" text-anchor=\"middle\">bits per weight (all parameters)</text>\n"
        s += "<text x=\"18\" y=\"\(fmt((top + h - bottom) / 2))\" transform=\"rotate(-90 18 \(fmt((top + h - bottom) / 2)))\" text-anchor=\"middle\">\(escape(report.qualityMeasure))</text>\n"
        for p in pts {
            let c = colors[p.group] ?? "#333"
            s += "<circle cx=\"\(fmt(px(p.bitsPerWeight)))\" cy=\"\(fmt(py(p.quality.quality)))\" r=\"\(p.group == "design" ? 8 : 5)\" fill=\"\(c)\"><title>\(escape(p.name)): \(String(format: "%.3f bpw, %.5f", p.bitsPerWeight, p.quality.quality))</title></circle>\n"
            s += "<text x=\"\(fmt(px(p.bitsPerWeight) + 7))\" y=\"\(fmt(py(p.quality.quality) - 6))\" font-size=\"10\" fill=\"\(c)\">\(escape(p.name))</text>\n"
        }
        var ly = top + 10
        for (g, c) in colors.sorted(by: { $0.key < $1.key }) where pts.contains(where: { $0.group == g }) {
            s += "<circle cx=\"\(fmt(w - right + 30))\" cy=\"\(fmt(ly))\" r=\"5\" fill=\"\(c)\"/><text x=\"\(fmt(w - right + 42))\" y=\"\(fmt(ly + 4))\">\(g)</text>\n"
            ly += 20
        }
        return s + "</svg>\n"
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
    static func line(_ a: Double, _ b: Double, _ c: Double, _ d: Double) -> String {
        "<line x1=\"\(fmt(a))\" y1=\"\(fmt(b))\" x2=\"\(fmt(c))\" y2=\"\(fmt(d))\" stroke=\"black\"/>\n"
    }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
