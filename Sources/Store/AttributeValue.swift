/// The value of an HDF5 attribute as this module writes and reads it.
///
/// Stored as: `string` a variable-length UTF-8 scalar; `int` a 64-bit integer scalar; `double`
/// a 64-bit float scalar; `ints` and `doubles` one-dimensional arrays of those; `bool` an
/// 8-bit integer scalar 0 or 1 (so any 8-bit integer scalar reads back as `bool`).
public enum AttributeValue: Equatable, Sendable {
    case string(String)
    case int(Int64)
    case double(Double)
    case ints([Int64])
    case doubles([Double])
    case bool(Bool)

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is one.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number, when this is a double or an integer.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    /// The integers, when this is an integer array.
    public var intsValue: [Int64]? {
        if case .ints(let value) = self { return value }
        return nil
    }

    /// The numbers, when this is an array of doubles or integers.
    public var doublesValue: [Double]? {
        switch self {
        case .doubles(let value): value
        case .ints(let value): value.map(Double.init)
        default: nil
        }
    }

    /// The flag, when this is a Bool.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
