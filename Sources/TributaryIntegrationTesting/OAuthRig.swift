import _CryptoExtras
public import Foundation
import TributaryTesting

/// The simulator as an OAuth provider, for the tests of per-customer auth.
public enum OAuthRig {
    /// The OAuth client the simulator knows: id and secret.
    public static let client = (id: "sim-client", secret: "sim-client-secret-value")

    /// A providers directory under `directory` holding the simulator's manifest as `simulator-oauth`,
    /// whose API calls carry access tokens from the simulator's `/oauth/token` (style oauth2, PKCE,
    /// HTTP Basic client authentication).
    public static func providers(_ directory: URL) throws -> String {
        let folder = directory.appendingPathComponent("providers")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var text = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "\nid: simulator\n", with: "\nid: simulator-oauth\n")
        text = text.replacingOccurrences(of: "  auth: {style: bearer}\n", with: """
              auth:
                style: oauth2
                oauth:
                  authorizeURL: /oauth/authorize
                  tokenURL: /oauth/token
                  revokeURL: /oauth/revoke
                  clientAuth: basic
                  pkce: true
                  scopes: [records.read]
                  account: /account_id

            """)
        try text.write(to: folder.appendingPathComponent("simulator-oauth.yaml"), atomically: true, encoding: .utf8)
        // The same API, its tokens bought with the app's client credentials (no customer grant).
        var machine = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
        machine = machine.replacingOccurrences(of: "\nid: simulator\n", with: "\nid: simulator-cc\n")
        machine = machine.replacingOccurrences(of: "  auth: {style: bearer}\n", with: """
              auth:
                style: oauth2-client-credentials
                oauth:
                  tokenURL: /oauth/token
                  clientAuth: body
                  scopes: [records.read]

            """)
        try machine.write(to: folder.appendingPathComponent("simulator-cc.yaml"), atomically: true, encoding: .utf8)
        // The same API as a GitHub App's: the connection's account is its installation id, whose
        // token a JWT signed with the app's key buys.
        var installation = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
        installation = installation.replacingOccurrences(of: "\nid: simulator\n", with: "\nid: simulator-ghapp\n")
        installation = installation.replacingOccurrences(of: "  auth: {style: bearer}\n", with: """
              auth:
                style: github-app
                oauth:
                  tokenURL: /app/installations/{account}/access_tokens

            """)
        try installation.write(to: folder.appendingPathComponent("simulator-ghapp.yaml"), atomically: true, encoding: .utf8)
        // Both kinds of customer, as the shipped manifests of OAuth providers are: a token given by
        // hand, or (a connection of an app given none) OAuth.
        var dual = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
        dual = dual.replacingOccurrences(of: "\nid: simulator\n", with: "\nid: simulator-dual\n")
        dual = dual.replacingOccurrences(of: "  auth: {style: bearer}\n", with: """
              auth:
                style: bearer
                oauth:
                  authorizeURL: /oauth/authorize
                  tokenURL: /oauth/token
                  revokeURL: /oauth/revoke
                  clientAuth: body
                  pkce: true

            """)
        try dual.write(to: folder.appendingPathComponent("simulator-dual.yaml"), atomically: true, encoding: .utf8)
        return folder.path
    }

    /// A new GitHub App key pair (2048-bit RSA): the private key for `apps add`, the public one for the
    /// simulator, both PEM.
    public static func githubAppKey() throws -> (privateKey: String, publicKey: String) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return (key.pemRepresentation, key.publicKey.pemRepresentation)
    }
}
