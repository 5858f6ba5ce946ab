import FuzzSupport
@testable import TributaryProviders

/// Every provider's verifier, handshakes and event extraction on one fuzzed delivery: first as sent
/// (nearly always refused), then signed correctly, which must verify, so extraction runs on it.
@main
enum FuzzVerify {
    static func main() {
        let providers = Fuzz.providers.filter { $0.verifier != nil }
        Fuzz.run { bytes in
            let input = FuzzRequest(bytes)
            for provider in providers {
                check(provider, input)
            }
        }
    }

    static func check(_ provider: Provider, _ input: FuzzRequest) {
        let verifier = provider.verifier!
        let handshake = provider.manifest.webhooks?.handshake?.kind
        if let handshake {
            _ = HandshakeResponder.beforeVerification(handshake, request: input.request, awaitingSecret: true)
            _ = HandshakeResponder.beforeVerification(handshake, request: input.request, awaitingSecret: false)
        }
        if case .success(let verified) = verifier.verify(input.request, secrets: input.secrets, now: Fuzz.now) {
            afterVerification(provider, input.request, secret: input.secrets[verified.secretIndex])
        }
        _ = verifier.verify(input.request, secrets: input.secrets, now: Fuzz.now, tolerance: Int.max)
        guard let (signed, secret, now) = Signer.sign(input.request, with: verifier) else {
            afterVerification(provider, input.request, secret: input.secrets[0])
            return
        }
        switch verifier.verify(signed, secrets: ["not-the-secret", secret], now: now) {
        case .success(let verified):
            precondition(verified.secretIndex == 1, "\(provider.id): a correctly signed delivery matched secret \(verified.secretIndex)")
        case .failure(let failure):
            preconditionFailure("\(provider.id): a correctly signed delivery was refused: \(failure)")
        }
        afterVerification(provider, signed, secret: secret)
    }

    /// What intake does with a verified delivery: signed handshakes, then the event and record state.
    static func afterVerification(_ provider: Provider, _ request: WebhookRequest, secret: String) {
        if let handshake = provider.manifest.webhooks?.handshake?.kind {
            _ = HandshakeResponder.afterVerification(handshake, request: request, secret: secret)
        }
        guard let extractor = provider.extractor else { return }
        if case .success(let event) = extractor.extract(request) {
            _ = extractor.recordState(type: event.type, body: request.body)
        }
    }
}
