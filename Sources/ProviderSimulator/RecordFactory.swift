import TributaryCore

/// Small, plausible field values for generated records, drawn from the mutation generator.
///
/// Values only need to look like a CRM's and change in the ways a real one's do (a plan
/// upgraded, a ticket solved); what matters for the engine is that every change is a new
/// version and that the draws replay for a seed.
enum RecordFactory {
    static let firstNames = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Donald", "Frances", "John"]
    static let lastNames = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds", "Perlman", "Knuth", "Allen", "Backus"]
    static let plans = ["free", "starter", "pro", "enterprise"]
    static let countries = ["FR", "DE", "GB", "US", "JP", "BR", "IN", "NL"]
    static let subjects = [
        "Cannot export invoices", "Password reset email never arrives", "Webhook deliveries delayed",
        "Wrong currency on receipt", "API returns 500 on bulk import", "Need more seats", "Sync stuck since yesterday",
    ]
    static let statuses = ["open", "pending", "on_hold", "solved", "closed"]
    static let priorities = ["low", "normal", "high", "urgent"]

    /// Fields for a new record. `customerID` is a live customer a ticket may refer to.
    static func newData(type: String, number: Int, customerID: String?, random: inout SplitMix64) -> JSONValue {
        switch type {
        case "customer":
            let first = pick(firstNames, &random)
            let last = pick(lastNames, &random)
            return .object([
                ("name", .string("\(first) \(last)")),
                ("email", .string("\(first.lowercased()).\(last.lowercased()).\(number)@example.com")),
                ("plan", .string(pick(plans, &random))),
                ("balance", .number(String(random.next(below: 500_000)))),
                ("currency", .string("eur")),
                ("country", .string(pick(countries, &random))),
            ])
        case "ticket":
            return .object([
                ("subject", .string(pick(subjects, &random))),
                ("status", .string("open")),
                ("priority", .string(pick(priorities, &random))),
                ("customer_id", customerID.map(JSONValue.string) ?? .null),
                ("comments", .number("0")),
            ])
        default:
            return .object([
                ("name", .string("\(type) \(number)")),
                ("value", .number(String(random.next(below: 10_000)))),
            ])
        }
    }

    /// The fields after one plausible edit.
    static func updatedData(type: String, data: JSONValue, random: inout SplitMix64) -> JSONValue {
        switch type {
        case "customer":
            switch random.next(below: 3) {
            case 0: return data.setting("plan", .string(pick(plans, &random)))
            case 1: return data.setting("balance", .number(String(random.next(below: 500_000))))
            default: return data.setting("country", .string(pick(countries, &random)))
            }
        case "ticket":
            switch random.next(below: 3) {
            case 0: return data.setting("status", .string(pick(statuses, &random)))
            case 1: return data.setting("priority", .string(pick(priorities, &random)))
            default: return data.setting("comments", .number(String((data["comments"]?.int64Value ?? 0) + 1)))
            }
        default:
            return data.setting("value", .number(String(random.next(below: 10_000))))
        }
    }

    static func pick(_ values: [String], _ random: inout SplitMix64) -> String {
        values[random.next(below: values.count)]
    }
}

extension JSONValue {
    /// The object with member `key` replaced (or appended), order otherwise kept.
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }
}
