/// The secrets every test and benchmark uses, in one place.
public enum TestSecrets {
    /// A fixed 32-byte master key (base64): stores made by one test can be opened by another process.
    public static let masterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
}
