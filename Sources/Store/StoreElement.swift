import CHDF5

/// The numeric element types of HDF5 datasets this module writes and reads.
public enum StoreElementType: String, Sendable, CaseIterable {
    case float32, float64, int32, int64, uint8

    /// The type in memory (native byte order).
    var memoryType: hid_t {
        switch self {
        case .float32: ppd_h5t_native_float()
        case .float64: ppd_h5t_native_double()
        case .int32: ppd_h5t_native_int32()
        case .int64: ppd_h5t_native_int64()
        case .uint8: ppd_h5t_native_uint8()
        }
    }

    /// The type in the file: little-endian, whatever machine writes it.
    var fileType: hid_t {
        switch self {
        case .float32: ppd_h5t_ieee_f32le()
        case .float64: ppd_h5t_ieee_f64le()
        case .int32: ppd_h5t_std_i32le()
        case .int64: ppd_h5t_std_i64le()
        case .uint8: ppd_h5t_std_u8le()
        }
    }
}

/// A Swift number type that can be a dataset element: Float, Double, Int32, Int64, UInt8.
/// Reading converts from the dataset's stored type with HDF5's conversions (an Int32 dataset
/// can be read as [Double]; out-of-range values are clipped by HDF5).
public protocol StoreElement {
    /// The HDF5 type used for this Swift type.
    static var storeType: StoreElementType { get }
    /// The zero value, to fill buffers before reading.
    static var zero: Self { get }
}

extension Float: StoreElement {
    public static var storeType: StoreElementType { .float32 }
}

extension Double: StoreElement {
    public static var storeType: StoreElementType { .float64 }
}

extension Int32: StoreElement {
    public static var storeType: StoreElementType { .int32 }
}

extension Int64: StoreElement {
    public static var storeType: StoreElementType { .int64 }
}

extension UInt8: StoreElement {
    public static var storeType: StoreElementType { .uint8 }
}
