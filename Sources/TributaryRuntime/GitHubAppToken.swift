import _CryptoExtras
import Foundation
import TributaryCore
import TributaryProviders
import TributaryUpstream

/// GitHub App installation tokens: a JWT the app signs with its private key (RS256) buys a token for
/// one installation, valid an hour.
///
/// GitHub's rules, from "Generating a JSON Web Token (JWT) for a GitHub App": `iat` 60 s in the past
/// (clock drift), `exp` at most 10 minutes ahead, `iss` the app's id (or client id). The token is then
/// `POST /app/installations/{installation_id}/access_tokens`, answered 201 with `token` and `expires_at`.
enum GitHubAppToken {
    /// The private key of an app, read from its PEM (PKCS#1 `RSA PRIVATE KEY`, as GitHub hands it out,
    /// or PKCS#8); `nil` with the reason when it is not a usable RSA key.
    static func key(_ pem: String) -> Result<_RSA.Signing.PrivateKey, KeyProblem> {
        do {
            return .success(try _RSA.Signing.PrivateKey(pemRepresentation: pem))
        } catch {
            return .failure(KeyProblem(description: "it is not an RSA private key of 2048 bits or more in PEM form"))
        }
    }

    struct KeyProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// The app's JWT, valid from a minute ago for nine minutes.
    static func jwt(issuer: String, key: _RSA.Signing.PrivateKey, now: Int64) throws -> String {
        let seconds = now / 1_000_000
        let header = #"{"alg":"RS256","typ":"JWT"}"#
        let claims = #"{"iat":\#(seconds - 60),"exp":\#(seconds + 540),"iss":\#(JSONValue.string(issuer).jsonText)}"#
        let input = OAuthFlow.base64URL(Array(header.utf8)) + "." + OAuthFlow.base64URL(Array(claims.utf8))
        let signature = try key.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + OAuthFlow.base64URL(Array(signature.rawRepresentation))
    }

    /// Buys an installation token for `installation` with the app's key; never quotes a token.
    static func request(
        app: ProviderApp, installation: String, oauth: ProviderManifest.API.Auth.OAuth, api: ProviderManifest.API, baseURL: String,
        transport: any UpstreamTransport, now: @Sendable () -> Int64
    ) async throws -> TokenEndpoint.Outcome {
        guard let pem = app.privateKey, let issuer = app.appID ?? app.clientID else {
            return .failed("app \(app.id) has no app_id and private_key (apps rotate-secret \(app.id) --credentials @FILE)")
        }
        let key: _RSA.Signing.PrivateKey
        switch Self.key(pem) {
        case .success(let read): key = read
        case .failure(let problem): return .failed("app \(app.id)'s private_key cannot sign: \(problem)")
        }
        guard !installation.isEmpty, installation.allSatisfy(\.isNumber) else {
            return .failed("the connection's account \"\(installation.prefix(64))\" is not an installation id (digits)")
        }
        let jwt = try jwt(issuer: issuer, key: key, now: now())
        let url = TokenEndpoint.resolve(oauth.tokenURL.replacingOccurrences(of: "{account}", with: installation), baseURL: baseURL)
        var headers: [(name: String, value: String)] = (api.headers ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        headers += [("Accept", "application/vnd.github+json"), ("Authorization", "Bearer " + jwt)]
        let sentAt = now()
        let response: UpstreamResponse
        do {
            response = try await transport.send(UpstreamRequest(method: "POST", url: url, headers: headers, body: []))
        } catch let refusal as UpstreamError where refusal.refused {
            throw refusal
        } catch {
            return .failed("installation token endpoint \(OutboundGuard.redacted(url)): \(UpstreamClient.cause(of: error))")
        }
        return read(response, installation: installation, sentAt: sentAt)
    }

    /// Reads GitHub's answer: 201 `{"token", "expires_at"}`; a refusal names GitHub's `message`.
    static func read(_ response: UpstreamResponse, installation: String, sentAt: Int64) -> TokenEndpoint.Outcome {
        let json = JSONValue(parsing: response.body)
        guard (200..<300).contains(response.status) else {
            let message = json?["message"]?.stringValue.map { " (\(String($0.prefix(80))))" } ?? ""
            return switch response.status {
            case 401: .failed("GitHub refused the app's JWT with 401\(message): check the app's app_id and private_key")
            case 403: .failed("GitHub answered 403\(message): installation \(installation) may be suspended")
            case 404: .failed("GitHub answered 404\(message): installation \(installation) does not exist or the app was uninstalled")
            default: .failed("installation token endpoint answered HTTP \(response.status)\(message)")
            }
        }
        guard case .object? = json else {
            return .failed("installation token endpoint answered \(response.status) with a body that is not JSON (\(response.header("Content-Type") ?? "no content type"))")
        }
        guard case .string(let token)? = json?["token"], !token.isEmpty else {
            return .failed("installation token endpoint answered \(response.status) without a token")
        }
        // An hour by GitHub's rule when the answer names no expiry it can be read by.
        let expiresAt = json?["expires_at"]?.stringValue.flatMap { Timestamp.microseconds(rfc3339: $0) } ?? sentAt + 3_600_000_000
        return .granted(TokenGrant(accessToken: token, refreshToken: nil, expiresAt: expiresAt, scope: nil))
    }
}
