#include <hdf5.h>

/* HDF5 names its predefined types, property lists and flags with macros that expand to global
 * variables behind a call to H5open(); Swift cannot import those. These functions return them. */

/* Default property list, whole-dataspace selection, default error stack. */
static inline hid_t ppd_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t ppd_h5s_all(void) { return H5S_ALL; }
static inline hid_t ppd_h5e_default(void) { return H5E_DEFAULT; }

/* Property list classes. */
static inline hid_t ppd_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t ppd_h5p_link_create(void) { return H5P_LINK_CREATE; }

/* File access flags. */
static inline unsigned ppd_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ppd_h5f_acc_excl(void) { return H5F_ACC_EXCL; }

/* Memory (native) types. */
static inline hid_t ppd_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t ppd_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ppd_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t ppd_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t ppd_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t ppd_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }

/* File types: little-endian standard types, the same on every machine. */
static inline hid_t ppd_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t ppd_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t ppd_h5t_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t ppd_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t ppd_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t ppd_h5t_std_u8le(void) { return H5T_STD_U8LE; }

/* C strings; the size that marks a variable-length string type. */
static inline hid_t ppd_h5t_c_s1(void) { return H5T_C_S1; }
static inline size_t ppd_h5t_variable(void) { return H5T_VARIABLE; }

/* Turns off HDF5's printing of its error stack to stderr for the calling thread (this build of
 * the library is thread-safe, and keeps that setting per thread). Errors are still returned. */
static inline herr_t ppd_h5e_silence(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* Frees the memory HDF5 allocated for variable-length data read into `buffer` (H5Treclaim from
 * 1.12 on, H5Dvlen_reclaim before). */
static inline herr_t ppd_h5_reclaim(hid_t type, hid_t space, void *buffer) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buffer);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buffer);
#endif
}
