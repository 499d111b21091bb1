/// `text` made safe to echo in an error message: control and format characters (newlines, escape sequences,
/// byte-order marks, direction overrides) are written as `\n`, `\t`, `\r` or `\u{1B}`, and anything longer than
/// `limit` characters is cut with "…". Use it for every value that came from a user or a file.
public func quotedForMessage(_ text: String, limit: Int = 80) -> String {
    var out = "", count = 0
    for scalar in text.unicodeScalars {
        if count == limit { return out + "…" }
        count += 1
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}
