/// The elements of a GGUF metadata array, kept by type: strings, 32-bit floats and 32-bit
/// integers (a vocabulary's tokens, scores and token types: hundreds of thousands of entries) as
/// arrays of their own type, other element types as `GGUFValue`s. Elements read back as
/// `GGUFValue`s; `strings`, `floats` and `int32s` give the typed arrays without conversion.
public struct GGUFArray: RandomAccessCollection, Sendable, Equatable {
    enum Storage: Sendable, Equatable {
        case strings([String]), floats([Float]), int32s([Int32]), values([GGUFValue])
    }

    let storage: Storage

    init(storage: Storage) { self.storage = storage }

    /// The elements `values`, stored compactly when they are all strings, all float32 or all int32.
    public init(_ values: [GGUFValue]) {
        if let strings = Self.same(values, { if case .string(let s) = $0 { s } else { nil } }) {
            storage = .strings(strings)
        } else if let floats = Self.same(values, { if case .float32(let x) = $0 { x } else { nil } }) {
            storage = .floats(floats)
        } else if let ints = Self.same(values, { if case .int32(let x) = $0 { x } else { nil } }) {
            storage = .int32s(ints)
        } else {
            storage = .values(values)
        }
    }

    /// Strings stored compactly.
    public init(strings: [String]) { storage = .strings(strings) }

    /// Every element converted by `convert`, or nil when one does not convert (or there are none).
    private static func same<T>(_ values: [GGUFValue], _ convert: (GGUFValue) -> T?) -> [T]? {
        guard !values.isEmpty else { return nil }
        var result: [T] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let element = convert(value) else { return nil }
            result.append(element)
        }
        return result
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .strings(let a): return a.count
        case .floats(let a): return a.count
        case .int32s(let a): return a.count
        case .values(let a): return a.count
        }
    }

    public subscript(position: Int) -> GGUFValue {
        switch storage {
        case .strings(let a): return .string(a[position])
        case .floats(let a): return .float32(a[position])
        case .int32s(let a): return .int32(a[position])
        case .values(let a): return a[position]
        }
    }

    /// The elements, when they are strings.
    public var strings: [String]? { if case .strings(let a) = storage { a } else { nil } }
    /// The elements, when they are 32-bit floats.
    public var floats: [Float]? { if case .floats(let a) = storage { a } else { nil } }
    /// The elements, when they are 32-bit integers.
    public var int32s: [Int32]? { if case .int32s(let a) = storage { a } else { nil } }

    /// Equal when the elements are equal, however they are stored.
    public static func == (lhs: GGUFArray, rhs: GGUFArray) -> Bool {
        lhs.storage == rhs.storage || (lhs.count == rhs.count && lhs.elementsEqual(rhs))
    }
}

extension GGUFArray: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: GGUFValue...) { self.init(elements) }
}
