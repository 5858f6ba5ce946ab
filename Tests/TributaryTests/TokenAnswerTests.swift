import Foundation
import Testing
import TributaryCore
import TributaryProviders
@testable import TributaryRuntime
import TributaryUpstream

/// What a token endpoint may answer, hostile or odd, read into renew, back off, or authorize again;
/// never a token quoted, never a crash.
@Suite("Token endpoint answers")
struct TokenAnswerTests {
    enum Expected: Equatable {
        case granted(expiresIn: Int64?, refresh: Bool)
        case refused(String)
        case failed(String)
    }

    static let hubspot = ProviderManifest.Deleted(pointer: "/status", equals: ["BAD_REFRESH_TOKEN"])

    static let rows: [(name: String, status: Int, type: String, body: String, grantRefused: ProviderManifest.Deleted?, expected: Expected)] = [
        ("RFC 6749 answer", 200, "application/json", #"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1"}"#, nil, .granted(expiresIn: 3600, refresh: true)),
        ("no refresh token (not rotated)", 200, "application/json", #"{"access_token":"at-1","expires_in":"1800"}"#, nil, .granted(expiresIn: 1800, refresh: false)),
        ("no expiry", 200, "application/json", #"{"access_token":"at-1"}"#, nil, .granted(expiresIn: nil, refresh: false)),
        ("expiry absurdly far", 200, "application/json", #"{"access_token":"at-1","expires_in":99999999999999999999}"#, nil, .granted(expiresIn: nil, refresh: false)),
        ("negative expiry", 200, "application/json", #"{"access_token":"at-1","expires_in":-5}"#, nil, .granted(expiresIn: nil, refresh: false)),
        ("fractional expiry", 200, "application/json", #"{"access_token":"at-1","expires_in":3599.5}"#, nil, .granted(expiresIn: 3599, refresh: false)),
        ("empty access token", 200, "application/json", #"{"access_token":"","expires_in":60}"#, nil, .failed("without an access_token")),
        ("access token not a string", 200, "application/json", #"{"access_token":12345}"#, nil, .failed("without an access_token")),
        ("a JSON array", 200, "application/json", #"[{"access_token":"at-1"}]"#, nil, .failed("not JSON")),
        ("an HTML page", 200, "text/html", "<html><body>Sign in</body></html>", nil, .failed("not JSON (text/html")),
        ("not UTF-8", 200, "application/json", "\u{FFFF}\u{0}", nil, .failed("not JSON")),
        ("server error", 500, "application/json", #"{"error":"server_error"}"#, nil, .failed("HTTP 500 (server_error)")),
        ("rate limited", 429, "text/plain", "slow down", nil, .failed("HTTP 429")),
        ("invalid_grant", 400, "application/json", #"{"error":"invalid_grant","error_description":"revoked"}"#, nil, .refused("400 (invalid_grant)")),
        ("invalid_grant as 401", 401, "application/json", #"{"error":"invalid_grant"}"#, nil, .refused("401 (invalid_grant)")),
        ("invalid_client is the operator's", 401, "application/json", #"{"error":"invalid_client"}"#, nil, .failed("refused the app's client credentials")),
        ("HubSpot's refusal, named by the manifest", 400, "application/json", #"{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token"}"#, hubspot, .refused("400 (BAD_REFRESH_TOKEN)")),
        ("HubSpot's refusal, not named", 400, "application/json", #"{"status":"BAD_REFRESH_TOKEN"}"#, nil, .failed("HTTP 400")),
        ("the manifest's value on a 500", 500, "application/json", #"{"status":"BAD_REFRESH_TOKEN"}"#, hubspot, .failed("HTTP 500")),
        ("a huge error code", 400, "application/json", #"{"error":""# + String(repeating: "x", count: 10_000) + #""}"#, nil, .failed("HTTP 400 (" + String(repeating: "x", count: 64) + ")")),
    ]

    @Test("each answer is granted, refused (authorize again) or failed (back off), saying why", arguments: rows.indices)
    func answer(_ index: Int) {
        let row = Self.rows[index]
        let response = UpstreamResponse(status: row.status, headers: [("Content-Type", row.type)], body: Array(row.body.utf8))
        let outcome = TokenEndpoint.read(response, sentAt: 1_000_000_000, grantRefused: row.grantRefused)
        switch (outcome, row.expected) {
        case (.granted(let grant), .granted(let expiresIn, let refresh)):
            #expect(grant.accessToken == "at-1", "\(row.name)")
            #expect(grant.expiresAt == expiresIn.map { 1_000_000_000 + $0 * 1_000_000 }, "\(row.name): \(String(describing: grant.expiresAt))")
            #expect((grant.refreshToken != nil) == refresh, "\(row.name)")
        case (.refused(let reason), .refused(let says)), (.failed(let reason), .failed(let says)):
            #expect(reason.contains(says), "\(row.name): \(reason)")
            #expect(reason.count < 300 && !reason.contains("at-1"), "\(row.name): \(reason)")
        default:
            Issue.record("\(row.name): \(outcome), expected \(row.expected)")
        }
    }

    static let installationRows: [(name: String, status: Int, type: String, body: String, expected: Expected)] = [
        ("GitHub's 201", 201, "application/json", #"{"token":"at-1","expires_at":"2026-12-07T15:00:00Z","permissions":{"issues":"read"}}"#, .granted(expiresIn: nil, refresh: false)),
        ("no expiry readable: an hour", 201, "application/json", #"{"token":"at-1","expires_at":"soon"}"#, .granted(expiresIn: 3600, refresh: false)),
        ("a year 99999 expiry: an hour", 201, "application/json", #"{"token":"at-1","expires_at":"99999-01-01T00:00:00Z"}"#, .granted(expiresIn: 3600, refresh: false)),
        ("no token", 201, "application/json", #"{"expires_at":"2026-12-07T15:00:00Z"}"#, .failed("without a token")),
        ("token not a string", 201, "application/json", #"{"token":["at-1"]}"#, .failed("without a token")),
        ("an HTML page", 200, "text/html", "<html>Unicorn!</html>", .failed("not JSON (text/html)")),
        ("a bad JWT", 401, "application/json", #"{"message":"A JSON web token could not be decoded"}"#, .failed("401 (A JSON web token could not be decoded): check the app's app_id and private_key")),
        ("suspended", 403, "application/json", #"{"message":"This installation has been suspended"}"#, .failed("installation 42 may be suspended")),
        ("uninstalled", 404, "application/json", #"{"message":"Not Found"}"#, .failed("installation 42 does not exist")),
        ("a long message", 500, "application/json", #"{"message":""# + String(repeating: "m", count: 5000) + #""}"#, .failed("HTTP 500 (" + String(repeating: "m", count: 80) + ")")),
    ]

    @Test("each GitHub App installation-token answer is a token or a failure saying why", arguments: installationRows.indices)
    func installationAnswer(_ index: Int) {
        let row = Self.installationRows[index]
        let response = UpstreamResponse(status: row.status, headers: [("Content-Type", row.type)], body: Array(row.body.utf8))
        let sentAt: Int64 = 1_000_000_000
        switch (GitHubAppToken.read(response, installation: "42", sentAt: sentAt), row.expected) {
        case (.granted(let grant), .granted(let expiresIn, _)):
            #expect(grant.accessToken == "at-1" && grant.refreshToken == nil, "\(row.name)")
            if let expiresIn {
                #expect(grant.expiresAt == sentAt + expiresIn * 1_000_000, "\(row.name)")
            } else {
                #expect(grant.expiresAt == Timestamp.microseconds(rfc3339: "2026-12-07T15:00:00Z"), "\(row.name)")
            }
        case (.failed(let reason), .failed(let says)):
            #expect(reason.contains(says) && reason.count < 300 && !reason.contains("at-1"), "\(row.name): \(reason)")
        case (let outcome, _):
            Issue.record("\(row.name): \(outcome), expected \(row.expected)")
        }
    }
}
