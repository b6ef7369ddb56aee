#ifndef PPD_INT8_H
#define PPD_INT8_H

#include <stddef.h>
#include <stdint.h>

/// Matrix products with int8 activations, used when a model is loaded with
/// `MatrixArithmetic.int8`. Two kernels compute the same numbers: AVX-512 VNNI (`vpdpbusd`) and
/// AVX2 (`vpmaddubsw` + `vpmaddwd`); a portable scalar reference states the arithmetic.
///
/// Weights are repacked once: every element becomes an unsigned byte u with value
/// `scale * u - min`, where `scale` and `min` belong to one sub-block of `block` elements (32, or
/// 16 for Q6_K). Four rows and four sub-blocks form one "chunk" whose bytes interleave so that
/// each 32-bit lane of a dot product sums 4 products of one (row, sub-block) pair: after block/4
/// steps, lane 4r+b holds the exact integer dot product of sub-block b of row r with the
/// activations. Activations are quantized per 32 elements (scale = max|x| / 127, round to
/// nearest even) and laid out to match (each 16-byte pattern repeated for the 4 rows).
///
/// Per (row, sub-block, input), in this order: f = float(isum) * dA; acc = fma(f, scale, acc);
/// offsets = fma(min, dA * sum of the quantized activations, offsets); finally d = acc - offsets
/// per sub-block lane and y = (d0 + d1) + (d2 + d3) per row and chunk order. Integer sums are
/// exact on both kernels (AVX2 takes the signed form of Q8_0's bytes so that no 16-bit pair sum
/// saturates) and each output element's float operations are the same sequence whatever the
/// kernel, batch size, tile or thread split, so results are bitwise the same everywhere.

/// The kernels, best last.
typedef enum { PPD_I8_NONE = 0, PPD_I8_AVX2 = 1, PPD_I8_AVX512_VNNI = 2 } ppd_i8_kernel;

/// Whether this CPU runs `kernel` (AVX2 and FMA; AVX-512 F/BW/VL and VNNI).
int ppd_i8_supported(ppd_i8_kernel kernel);

/// Sub-block size of the repacked form of GGML type `type` (32; 16 for Q6_K), or 0 when the
/// type is not supported (the matrix then stays on the float kernels).
int ppd_i8_block(uint32_t type);

/// Bytes of the repacked weights of a rows x columns matrix (scales and mins: rows * columns /
/// block floats each). `rows` must be a multiple of 4 and `columns` of 4 * block.
size_t ppd_i8_weight_bytes(int rows, int columns);

/// For types whose offset is a fixed multiple of the scale (Q8_0: 128, Q4_0: 8, Q5_0: 16, Q6_K:
/// 32; exact in float, a power of two), that multiple: their matrices keep no offset table
/// (`mins` NULL below), which saves 4 bytes per sub-block streamed at every decode step. 0 for
/// types with their own offsets (Q4_K).
float ppd_i8_min_factor(uint32_t type);

/// Repacks `rows` rows of GGML-encoded data (`row_bytes` bytes each). `mins` may be NULL when
/// `ppd_i8_min_factor(type)` is not 0. Returns 0, or -1 for an unsupported type or shape.
int ppd_i8_pack(uint32_t type, const void *data, size_t row_bytes, int rows, int columns,
                uint8_t *weights, float *scales, float *mins);

/// The decoded value of element `column` of row `row` of a repacked matrix of GGML type `type`
/// (scale * u - min; min = ppd_i8_min_factor(type) * scale when `mins` is NULL): a check of the
/// repacking against the float decoder.
float ppd_i8_weight(uint32_t type, const uint8_t *weights, const float *scales, const float *mins, int columns,
                    int block, int row, int column);

/// Bytes of the quantized, laid-out activations of one input row of `columns` elements.
size_t ppd_i8_input_bytes(int columns, int block);

/// Quantizes `count` input rows (`columns` floats each, row-major) into `packed`
/// (`count * ppd_i8_input_bytes(columns, block)` bytes, 64-byte aligned) with `kernel`'s
/// instructions; every kernel writes the same bytes.
void ppd_i8_quantize(ppd_i8_kernel kernel, const float *x, int count, int columns, int block, uint8_t *packed);

/// y[j * output_stride + (r - row_start)] = dot(W[r], x[j]) for rows row_start..<row_end
/// (multiples of 4) and `count` packed inputs, on `kernel` (a supported one). `type` is the
/// GGML type the weights were repacked from; `mins` NULL means min = ppd_i8_min_factor(type) *
/// scale (the same value the table would hold, bit for bit). With a `row_map` (packed row r holds
/// the matrix's row row_map[r], as after `ppd_i8_copy_row` reorderings) the result of packed row
/// r goes to y[j * output_stride + row_map[r]] instead: y is then the start of each output row.
void ppd_i8_multiply(ppd_i8_kernel kernel, uint32_t type, const uint8_t *weights, const float *scales,
                     const float *mins, int columns, int block, const uint8_t *packed, int count, float *y,
                     long output_stride, int row_start, int row_end, const int32_t *row_map);

/// The same products computed one element at a time in portable C: the statement of the
/// arithmetic that every kernel must match bit for bit.
void ppd_i8_multiply_reference(uint32_t type, const uint8_t *weights, const float *scales, const float *mins,
                               int columns, int block, const uint8_t *packed, int count, float *y, long output_stride,
                               int row_start, int row_end, const int32_t *row_map);

/// Copies packed row `from` of one repacked matrix (weights, scales, mins: NULL when the type has
/// no offset table) to packed row `to` of another of the same type and shape (or the same one,
/// for other rows): the 16 bytes per chunk step and 4 scales (and offsets) per chunk that are
/// row `from`'s lanes.
void ppd_i8_copy_row(const uint8_t *weights, const float *scales, const float *mins, int from, uint8_t *to_weights,
                     float *to_scales, float *to_mins, int to, int columns, int block);

#endif
