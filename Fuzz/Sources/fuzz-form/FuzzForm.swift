import FuzzSupport
import TributaryProviders
import TributaryUpstream

/// The form decoder and query-parameter reader: never trap, and decoding what the upstream client
/// percent-encodes gives back the text it encoded.
@main
enum FuzzForm {
    static func main() {
        Fuzz.run { bytes in
            let pairs = FormCoding.pairs(bytes)
            for (name, value) in pairs {
                for text in [name, value] {
                    let encoded = UpstreamClient.encode(text)
                    let decoded = FormCoding.percentDecode(Substring(encoded), plusIsSpace: false)
                    precondition(decoded == text, "encode then decode changed \(text.debugDescription) into \(decoded.debugDescription)")
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = FormCoding.percentDecode(Substring(text), plusIsSpace: false)
            let request = WebhookRequest(
                method: "POST", url: "https://hooks.example.test/webhooks/twilio/c1?" + text,
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: bytes
            )
            for name in ["bodySHA256", "challenge", "validationToken", pairs.first?.name ?? ""] {
                _ = request.queryParameter(name)
            }
            _ = EventExtractor.document(request)
        }
    }
}
