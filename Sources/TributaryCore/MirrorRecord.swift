/// One record of the mirror, as `records list/get` and the API show it.
public struct MirrorRecord: Sendable, Equatable {
    public var connection: String
    public var tenant: String
    public var provider: String
    public var recordType: String
    public var recordId: String
    public var version: Int64?
    public var deleted: Bool
    public var data: [UInt8]?
    public var updatedAt: Int64
    public var sourceSeq: Int64
    /// Which record under this id the mirror holds (a creation time, in µs), when the manifest says
    /// (`incarnation`): it changes when the provider reused the id of a deleted record for a new one.
    public var incarnation: Int64?

    public init(
        connection: String, tenant: String, provider: String, recordType: String, recordId: String,
        version: Int64? = nil, deleted: Bool, data: [UInt8]? = nil, updatedAt: Int64, sourceSeq: Int64, incarnation: Int64? = nil
    ) {
        self.incarnation = incarnation
        self.connection = connection
        self.tenant = tenant
        self.provider = provider
        self.recordType = recordType
        self.recordId = recordId
        self.version = version
        self.deleted = deleted
        self.data = data
        self.updatedAt = updatedAt
        self.sourceSeq = sourceSeq
    }
}
