import TributaryCore

/// Server-rendered HTML, written by hand: every value from outside (event bodies, headers, ids,
/// reasons) goes through ``escape(_:)``; nothing else is ever interpolated into markup.
enum HTML {
    /// `text` safe inside an element or a double-quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters (but tab and newline) would garble a page; they are shown as U+FFFD.
                if character.value < 0x20, character != "\n", character != "\t" { out += "\u{FFFD}" } else { out.unicodeScalars.append(character) }
            }
        }
        return out
    }

    /// A query-string or path component, percent-encoded.
    static func component(_ text: String) -> String {
        PercentEncoding.encode(text)
    }

    static func time(_ micros: Int64?) -> String {
        guard let micros else { return "-" }
        let text = Timestamp.rfc3339(microseconds: micros)
        // To the second, as `status` shows times.
        if let dot = text.firstIndex(of: ".") { return String(text[..<dot]) + "Z" }
        return text
    }

    /// A table: `headers` and rows of already-escaped cells.
    static func table(_ headers: [String], _ rows: [[String]], empty: String = "none") -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\">\(escape(empty))</p>" }
        var out = "<div class=\"scroll\"><table><thead><tr>"
        for header in headers { out += "<th>\(escape(header))</th>" }
        out += "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    static func link(_ href: String, _ text: String) -> String {
        "<a href=\"\(escape(href))\">\(escape(text))</a>"
    }

    /// A page in the dashboard's layout; `body` is markup.
    static func page(title: String, body: String, nav: Bool = true, flash: String? = nil) -> String {
        let links = [("/ui", "Overview"), ("/ui/events", "Events"), ("/ui/problems", "Dead & quarantined"), ("/ui/records", "Mirror"), ("/ui/deliveries", "Deliveries")]
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Tributary</title>
            <style>\(style)</style></head>
            <body>
            \(nav ? "<header><strong>Tributary</strong><nav>" + links.map { link($0.0, $0.1) }.joined(separator: " ") + "</nav><form method=\"post\" action=\"/ui/logout\" class=\"inline\">{{csrf}}<button>Log out</button></form></header>" : "")
            <main><h1>\(escape(title))</h1>
            \(flash.map { "<p class=\"flash\">\(escape($0))</p>" } ?? "")
            \(body)
            </main></body></html>
            """
    }

    static let style = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1f23;background:#fafbfc}
        header{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;padding:.6em 1em;background:#24292e;color:#fff}
        header a{color:#c8e1ff;margin-right:.8em}header nav{flex:1}
        main{padding:1em;max-width:1200px}
        h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
        .scroll{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;font-size:.9em;min-width:100%}
        th,td{border-bottom:1px solid #e1e4e8;padding:.3em .5em;text-align:left;vertical-align:top;white-space:nowrap}
        td.wrap{white-space:normal;word-break:break-word}
        pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap;word-break:break-all;max-width:100%}
        .bad{color:#b31d28;font-weight:600}.ok{color:#22863a}.muted{color:#6a737d}
        .flash{background:#fff5b1;padding:.5em}
        form.inline{display:inline}button{font:inherit;padding:.2em .7em}
        form.filters{display:flex;flex-wrap:wrap;gap:.4em;margin-bottom:.8em}
        input,select{font:inherit;max-width:100%}
        """
}
