#ifndef PPD_INT8_H
#define PPD_INT8_H

#include <stddef.h>
#include <stdint.h>

/// Matrix products with int8 activations, used when a model is loaded with
/// `MatrixArithmetic.int8`. Two kernels compute the same numbers: AVX-512 VNNI (`vpdpbusd`) and
/// AVX2 (`vpmaddubsw` + `vpmaddwd`); a portable scalar reference states the arithmetic.
///
/// Weights are repacked once: every element becomes an unsigned integer u (4, 5, 6 or 8 bits, as
/// many as its GGUF encoding has; widened to a byte in registers) with value `scale * u - min`, where `scale` and `min` belong to one sub-block of `block` elements (32, or
/// 16 for Q6_K). Four rows and four sub-blocks form one "chunk" whose bytes interleave so that
/// each 32-bit lane of a dot product sums 4 products of one (row, sub-block) pair: after block/4
/// steps, lane 4r+b holds the exact integer dot product of sub-block b of row r with the
/// activations. Activations are quantized per 32 elements (scale = max|x| / 127, round to
/// nearest even) and laid out to match (each 16-byte pattern repeated for the 4 rows).
///
/// Per (row, sub-block, input), in this order: f = float(isum) * dA; acc = fma(f, scale, acc);
/// for a type with an offset table (Q4_K), offsets = fma(min, dA * sum of the quantized
/// activations, offsets); finally d = acc - offsets (offsets 0 without a table) per sub-block
/// lane and y = (d0 + d1) + (d2 + d3) per row and chunk order. Integer sums are
/// exact on both kernels (AVX2 takes the signed form of Q8_0's bytes so that no 16-bit pair sum
/// saturates; for the types whose offset is a power-of-two multiple of the scale, see
/// `ppd_i8_min_factor`, isum already has factor * sum(q) taken off, exactly, so the offset costs
/// no float step) and each output element's float operations are the same sequence whatever the
/// kernel, batch size, tile or thread split, so results are bitwise the same everywhere.

/// Packed tiles. The bytes of one chunk of 4 rows (block/4 steps of 64 bytes as the kernels use
/// them, byte i of step k is u_k[i]) are stored in `2 * block * bits` bytes: with 8 bits, the steps as they are; with
/// fewer, first block/8 vectors of 64 bytes holding two steps each (byte i of vector p is
/// (u_2p[i] & 15) | (u_2p+1[i] & 15) << 4), then for each bit above the fourth (bit 4, then bit
/// 5) block/4 words of 64 bits, one per step (bit i of word k is that bit of u_k[i]). Row r of
/// the chunk owns bytes and bits 16r...16r+15 of every step. Widening to bytes is exact, so the
/// packing changes no integer sum.

/// The kernels, best last.
typedef enum { PPD_I8_NONE = 0, PPD_I8_AVX2 = 1, PPD_I8_AVX512_VNNI = 2 } ppd_i8_kernel;

/// Whether this CPU runs `kernel` (AVX2, FMA and F16C; AVX-512 F/BW/VL and VNNI).
int ppd_i8_supported(ppd_i8_kernel kernel);

/// Sub-block size of the repacked form of GGML type `type` (32; 16 for Q6_K), or 0 when the
/// type is not supported (the matrix then stays on the float kernels).
int ppd_i8_block(uint32_t type);

/// Bits each repacked weight keeps: 4 (Q4_0, Q4_K), 5 (Q5_0), 6 (Q6_K) or 8 (Q8_0); 0 for an
/// unsupported type. Fewer than 8 are stored packed (see "Packed tiles" above) and widened to
/// bytes in registers, so a product streams as many weight bits as the GGUF file holds.
int ppd_i8_bits(uint32_t type);

/// Whether the scales of type `type` are stored as IEEE half floats: for Q8_0, Q4_0 and Q5_0 the
/// scale of a sub-block is its block's half-precision `d`, so the half is exact and converting it
/// back gives the same float bit for bit. Q4_K and Q6_K keep float scales (d times a 6- or 8-bit
/// integer need not fit a half).
int ppd_i8_half_scales(uint32_t type);

/// Bytes of the repacked weights of a rows x columns matrix of type `type`: rows * columns *
/// bits / 8. `rows` must be a multiple of 4 and `columns` of 4 * block. Scales: rows * columns /
/// block halves or floats (`ppd_i8_half_scales`); offsets, when the type has a table: as many
/// floats.
size_t ppd_i8_weight_bytes(uint32_t type, int rows, int columns);

/// For types whose offset is a fixed multiple of the scale (Q8_0: 128, Q4_0: 8, Q5_0: 16, Q6_K:
/// 32; exact in float, a power of two), that multiple: their matrices keep no offset table
/// (`mins` NULL below), which saves 4 bytes per sub-block streamed at every decode step. 0 for
/// types with their own offsets (Q4_K).
float ppd_i8_min_factor(uint32_t type);

/// One repacked matrix as the kernels read it.
typedef struct {
    uint32_t type;          ///< the GGML type the weights were repacked from
    int columns;            ///< elements per row
    int block;              ///< `ppd_i8_block(type)`
    const uint8_t *weights; ///< `ppd_i8_weight_bytes(type, rows, columns)` bytes of tiles
    const void *scales;     ///< one per sub-block: uint16_t halves or floats (`ppd_i8_half_scales`)
    const float *mins;      ///< one offset per sub-block (Q4_K); unused for types with a min factor
} ppd_i8_matrix;

/// Repacks `rows` rows of GGML-encoded data (`row_bytes` bytes each) into `m`'s weights, scales
/// and offsets (written through `m`'s pointers, which must point to writable memory of the sizes
/// above). `m->mins` may be NULL when `ppd_i8_min_factor(type)` is not 0. Returns 0, or -1 for an
/// unsupported type or shape.
int ppd_i8_pack(const ppd_i8_matrix *m, const void *data, size_t row_bytes, int rows);

/// The decoded value of element `column` of packed row `row` (scale * u - min): a check of the
/// repacking against the float decoder.
float ppd_i8_weight(const ppd_i8_matrix *m, int row, int column);

/// Bytes of the quantized, laid-out activations of one input row of `columns` elements.
size_t ppd_i8_input_bytes(int columns, int block);

/// Quantizes `count` input rows (`columns` floats each, row-major) into `packed`
/// (`count * ppd_i8_input_bytes(columns, block)` bytes, 64-byte aligned) with `kernel`'s
/// instructions; every kernel writes the same bytes.
void ppd_i8_quantize(ppd_i8_kernel kernel, const float *x, int count, int columns, int block, uint8_t *packed);

/// y[j * output_stride + (r - row_start)] = dot(W[r], x[j]) for rows row_start..<row_end
/// (multiples of 4) and `count` packed inputs, on `kernel` (a supported one). With a `row_map`
/// (packed row r holds the matrix's row row_map[r], as after `ppd_i8_copy_row` reorderings) the
/// result of packed row r goes to y[j * output_stride + row_map[r]] instead: y is then the start
/// of each output row.
void ppd_i8_multiply(ppd_i8_kernel kernel, const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y,
                     long output_stride, int row_start, int row_end, const int32_t *row_map);

/// The same products computed one element at a time in portable C: the statement of the
/// arithmetic that every kernel must match bit for bit.
void ppd_i8_multiply_reference(const ppd_i8_matrix *m, const uint8_t *packed, int count, float *y, long output_stride,
                               int row_start, int row_end, const int32_t *row_map);

/// Copies packed row `from` of `source` to packed row `to` of `target` (the same type and shape,
/// or the same matrix for another row; `target`'s memory is written): the row's bits of every
/// tile step and its scales (and offsets) per chunk.
void ppd_i8_copy_row(const ppd_i8_matrix *source, int from, const ppd_i8_matrix *target, int to);

#endif
