/// The one error type of the store: a code callers switch on, and a sentence for people.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The database cannot commit (disk full, I/O error, locked): intake answers 503.
        public static let unavailable = Code(name: "unavailable")
        /// Intake holds as many waiting appends as it may (``StoreOptions/maxWaitingEvents``,
        /// ``StoreOptions/maxWaitingBytes``): refused at once, intake answers 503.
        public static let overloaded = Code(name: "overloaded")
        /// A setting is wrong: the process must not start.
        public static let configuration = Code(name: "configuration")
        public static let notFound = Code(name: "not-found")
        public static let conflict = Code(name: "conflict")
        public static let invalid = Code(name: "invalid")
        public static let `internal` = Code(name: "internal")
        /// Another process holds the lease now: the run must stop without writing.
        public static let leaseLost = Code(name: "lease-lost")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
