import Foundation
import TributaryCore
/// Fills a connection's `{account}` into a manifest's URL templates, checked for the place it goes.
///
/// Why: the account is operator input pasted into a URL. In a host (`https://{account}.zendesk.com`,
/// Shopify's `https://{account}/`) an account like `evil.com#` or `user@evil.com` would move the
/// whole base URL, with the API token, to another host; in a path (`/repos/{account}/issues`) a
/// `../` or `?` would reach another endpoint. A host gets a DNS name or nothing; a path gets each
/// `/`-separated segment percent-encoded, and no `.`/`..` segment.
public enum URLTemplate {
    /// The base URL with `{account}` filled in, or why the account cannot go there.
    public static func fillBaseURL(_ template: String, account: String) -> Result<String, ManifestError> {
        guard let range = template.range(of: "{account}") else { return .success(template) }
        let schemeEnd = template.range(of: "://")?.upperBound ?? template.startIndex
        let hostEnd = template[schemeEnd...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? template.endIndex
        if range.lowerBound >= schemeEnd && range.upperBound <= hostEnd {
            guard isHostName(account) else {
                return .failure(ManifestError(path: "/api/baseURL", reason: "account \"\(account)\" is not a host name (letters, digits, '-' and '.'), as {account} in the host needs"))
            }
            return .success(template.replacingOccurrences(of: "{account}", with: account.lowercased()))
        }
        return fillPath(template, account: account).mapError { _ in
            ManifestError(path: "/api/baseURL", reason: "account \"\(account)\" cannot be a path of the base URL")
        }
    }

    /// A path template with `{account}` filled in as percent-encoded segments.
    public static func fillPath(_ template: String, account: String) -> Result<String, ManifestError> {
        guard template.contains("{account}") else { return .success(template) }
        let segments = account.split(separator: "/", omittingEmptySubsequences: false)
        guard !account.isEmpty, segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            return .failure(ManifestError(path: "/poll/resources/path", reason: "account \"\(account)\" is not a path of non-empty segments without '.' or '..'"))
        }
        let encoded = segments.map { PercentEncoding.encode(String($0)) }.joined(separator: "/")
        return .success(template.replacingOccurrences(of: "{account}", with: encoded))
    }

    /// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1–63 bytes each.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
            return bytes.allSatisfy { b in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-")
            }
        }
    }
}
