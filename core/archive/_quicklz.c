/*
 * QuickLZ level-1 block decoder (the block format qpress and `--compress`
 * write), written from the format description in shared/FORMATS.md §3.
 *
 * A block is a 3- or 9-byte header followed by groups of one 32-bit control
 * word and up to 31 items.  Each control bit says whether the next item is a
 * literal byte (0) or a match (1).  A match is a 12-bit hash of the 3-byte
 * prefix it repeats plus a length; the decoder keeps the same hash table the
 * encoder kept (position of the last occurrence of each hashed prefix), so
 * the match source is found by lookup rather than by an explicit offset.
 *
 * Every read and write is bounds-checked: a corrupt block raises ValueError,
 * never reads or writes outside its buffers.  The GIL is released while
 * decoding so several blocks can be decoded on different cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define HASH_VALUES 4096
#define CWORD_LEN 4
#define TAIL_LEN 10 /* the last literals the encoder never covers by a match */

static inline uint32_t read_le(const unsigned char *p, int n)
{
    uint32_t value = 0;
    for (int i = n - 1; i >= 0; i--)
        value = (value << 8) | p[i];
    return value;
}

static inline uint32_t prefix_hash(const unsigned char *p)
{
    uint32_t fetch = read_le(p, 3);
    return ((fetch >> 12) ^ fetch) & (HASH_VALUES - 1);
}

/* Hash every position after *hashed up to and including *upto. */
static inline void hash_upto(int64_t *table, int64_t *hashed, int64_t upto, const unsigned char *out)
{
    while (*hashed < upto) {
        (*hashed)++;
        table[prefix_hash(out + *hashed)] = *hashed;
    }
}

/* Decode the compressed body src[0:src_len] into out[0:size]; NULL on success, else a reason. */
static const char *decode_body(const unsigned char *src, size_t src_len, unsigned char *out, size_t size, size_t *used)
{
    int64_t table[HASH_VALUES];
    int64_t hashed = -1;
    size_t s = 0, d = 0;
    uint32_t cword = 1;

    for (int i = 0; i < HASH_VALUES; i++)
        table[i] = -1;

    while (d < size) {
        if (cword == 1) {
            if (s + CWORD_LEN > src_len)
                return "control word past the end of the block";
            cword = read_le(src + s, CWORD_LEN);
            s += CWORD_LEN;
            if (cword == 0)
                return "empty control word";
        }
        if (cword & 1) {
            uint32_t fetch, length;
            int64_t from;
            cword >>= 1;
            if (s + 2 > src_len)
                return "match past the end of the block";
            fetch = read_le(src + s, 2);
            if (fetch & 0xf) {
                length = (fetch & 0xf) + 2;
                s += 2;
            } else {
                if (s + 3 > src_len)
                    return "match length past the end of the block";
                length = src[s + 2];
                s += 3;
            }
            from = table[(fetch >> 4) & 0xfff];
            if (from < 0 || (size_t)from >= d)
                return "match refers to data not yet decoded";
            if (length < 3 || length > size - d)
                return "match runs past the end of the block";
            for (uint32_t k = 0; k < length; k++)
                out[d + k] = out[from + k];
            hash_upto(table, &hashed, (int64_t)d, out);
            d += length;
            hashed = (int64_t)d - 1;
        } else if (d + TAIL_LEN + 1 < size) {
            cword >>= 1;
            if (s >= src_len)
                return "literal past the end of the block";
            out[d++] = src[s++];
            hash_upto(table, &hashed, (int64_t)d - 3, out);
        } else {
            /* The tail: only literals follow, control words are skipped unread. */
            while (d < size) {
                if (cword == 1) {
                    s += CWORD_LEN;
                    cword = 1u << 31;
                }
                if (s >= src_len)
                    return "literal past the end of the block";
                if (cword & 1)
                    return "match inside the literal tail";
                out[d++] = src[s++];
                cword >>= 1;
            }
        }
    }
    *used = s;
    return NULL;
}

/* Decode one whole block src[0:len] (header included) into out, which has room for limit bytes. */
static const char *decode_block(const unsigned char *src, size_t len, unsigned char *out, size_t limit, size_t *size)
{
    size_t header, stored_len, used = 0;
    const char *problem;

    if (len < 3)
        return "block shorter than its header";
    header = (src[0] & 2) ? 9 : 3;
    if (len < header)
        return "block shorter than its header";
    stored_len = read_le(src + 1, (int)(header - 1) / 2);
    *size = read_le(src + 1 + (header - 1) / 2, (int)(header - 1) / 2);
    if ((src[0] & 0xf0) != 0x40 || ((src[0] >> 2) & 3) != 1)
        return "not a QuickLZ level-1 block";
    if (stored_len != len)
        return "block length does not match its header";
    if (*size > limit)
        return "block decompresses to more than the chunk size";
    if (!(src[0] & 1)) {
        if (stored_len - header != *size)
            return "stored block length does not match its header";
        memcpy(out, src + header, *size);
        return NULL;
    }
    problem = decode_body(src + header, stored_len - header, out, *size, &used);
    /* The encoder pads blocks shorter than 9 bytes, so only longer ones must end exactly. */
    if (problem == NULL && stored_len > 9 && used != stored_len - header)
        problem = "block is longer than its data";
    return problem;
}

static PyObject *quicklz_decompress(PyObject *self, PyObject *args)
{
    Py_buffer block;
    Py_ssize_t limit;
    size_t size = 0;
    const char *problem;
    PyObject *result;

    if (!PyArg_ParseTuple(args, "y*n:decompress", &block, &limit))
        return NULL;
    if (limit < 0)
        limit = 0;
    result = PyBytes_FromStringAndSize(NULL, limit);
    if (result == NULL) {
        PyBuffer_Release(&block);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    problem = decode_block(block.buf, (size_t)block.len, (unsigned char *)PyBytes_AS_STRING(result), (size_t)limit,
                           &size);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&block);
    if (problem) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    if (_PyBytes_Resize(&result, (Py_ssize_t)size) < 0)
        return NULL;
    return result;
}

/*
 * Adler-32 (RFC 1950) of qpress blocks, vectorisable: 16 lanes each keep a
 * plain sum and a sum of their running sums, combined into (a, b) every 4 KiB,
 * so the compiler can use SIMD adds.  About 3x zlib's speed here.
 */
#define ADLER_MOD 65521u
#define LANES 16
#define BLOCK_VECTORS 256 /* 4 KiB per reduction: lane sums stay far below 2^32 */

static uint32_t adler32_lanes(const unsigned char *p, size_t n)
{
    uint64_t a = 1, b = 0;
    while (n >= LANES) {
        size_t vectors = n / LANES < BLOCK_VECTORS ? n / LANES : BLOCK_VECTORS;
        uint32_t sum[LANES] = {0}, weighted[LANES] = {0};
        uint64_t total = 0, tail = 0;
        for (size_t k = 0; k < vectors; k++, p += LANES)
            for (int j = 0; j < LANES; j++) {
                weighted[j] += sum[j];
                sum[j] += p[j];
            }
        for (int j = 0; j < LANES; j++) {
            total += sum[j];
            tail += (uint64_t)LANES * (weighted[j] + sum[j]) - (uint64_t)j * sum[j];
        }
        b = (b + vectors * LANES * a + tail) % ADLER_MOD;
        a = (a + total) % ADLER_MOD;
        n -= vectors * LANES;
    }
    while (n--) {
        a += *p++;
        b += a;
    }
    return (uint32_t)((b % ADLER_MOD) << 16 | (a % ADLER_MOD));
}

/* qpress framing around each block: "NEWBNEWB", a u64 offset, the adler32 of the block. */
#define BLOCK_TAG "NEWBNEWB"
#define END_TAG "ENDSENDS"
#define BLOCK_HEAD 20
#define BLOCK_SLACK (400 + 9) /* QuickLZ's worst-case growth of an incompressible block */

enum { DECODED, NEED_MORE, AT_TRAILER, BAD_FRAME, BAD_BLOCK, BAD_CHECKSUM };

/*
 * Decode framed blocks from src[*at:len] into out[0:limit] until the trailer, an
 * incomplete block, or a block that would not fit.  *at ends after the last
 * block decoded (or at the faulty one); *problem says what is wrong.
 */
static int decode_run(const unsigned char *src, size_t len, size_t *at, size_t chunk, unsigned char *out,
                      size_t limit, size_t *produced, const char **problem)
{
    while (1) {
        size_t head = *at + BLOCK_HEAD, size, block_len, decoded = 0;
        if (len - *at < 8)
            return NEED_MORE;
        if (memcmp(src + *at, END_TAG, 8) == 0)
            return AT_TRAILER;
        if (memcmp(src + *at, BLOCK_TAG, 8) != 0) {
            *problem = "bad qpress block tag";
            return BAD_FRAME;
        }
        if (len < head + 3 || ((src[head] & 2) && len < head + 9))
            return NEED_MORE;
        block_len = (src[head] & 2) ? read_le(src + head + 1, 4) : src[head + 1];
        if (block_len < 3 || block_len > chunk + BLOCK_SLACK) {
            *problem = "absurd qpress block length";
            return BAD_FRAME;
        }
        if (len - head < block_len)
            return NEED_MORE;
        if (adler32_lanes(src + head, block_len) != read_le(src + *at + 16, 4)) {
            *problem = "qpress block checksum mismatch";
            return BAD_CHECKSUM;
        }
        size = (src[head] & 2) ? read_le(src + head + 5, 4) : src[head + 2];
        if (size <= chunk && limit - *produced < size)
            return DECODED;
        *problem = decode_block(src + head, block_len, out + *produced, chunk, &decoded);
        if (*problem)
            return BAD_BLOCK;
        *produced += decoded;
        *at = head + block_len;
    }
}

static PyObject *quicklz_decode_blocks(PyObject *self, PyObject *args)
{
    Py_buffer data;
    Py_ssize_t start, chunk, limit;
    size_t at, produced = 0;
    const char *problem = NULL;
    int state;
    PyObject *out;

    if (!PyArg_ParseTuple(args, "y*nnn:decode_blocks", &data, &start, &chunk, &limit))
        return NULL;
    if (start < 0 || start > data.len || chunk <= 0 || limit < 0) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "bad arguments");
        return NULL;
    }
    out = PyBytes_FromStringAndSize(NULL, limit);
    if (out == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    at = (size_t)start;
    Py_BEGIN_ALLOW_THREADS
    state = decode_run(data.buf, (size_t)data.len, &at, (size_t)chunk, (unsigned char *)PyBytes_AS_STRING(out),
                       (size_t)limit, &produced, &problem);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (_PyBytes_Resize(&out, (Py_ssize_t)produced) < 0)
        return NULL;
    return Py_BuildValue("Nnis", out, (Py_ssize_t)at, state, problem);
}

static PyMethodDef methods[] = {
    {"decompress", quicklz_decompress, METH_VARARGS,
     "decompress(block, limit) -> bytes: decode one QuickLZ level-1 block of at most limit bytes; "
     "ValueError names the problem if the block is corrupt."},
    {"decode_blocks", quicklz_decode_blocks, METH_VARARGS,
     "decode_blocks(data, start, chunk_size, limit) -> (plain, end, state, problem): decode qpress-framed blocks "
     "from data[start:] while they are complete and fit in limit bytes; state is DECODED, NEED_MORE, AT_TRAILER, "
     "BAD_FRAME, BAD_BLOCK or BAD_CHECKSUM, and end is where decoding stopped."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_quicklz", "QuickLZ level-1 block decoder.", -1, methods};

PyMODINIT_FUNC PyInit__quicklz(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "DECODED", DECODED) < 0 || PyModule_AddIntConstant(m, "NEED_MORE", NEED_MORE) < 0 ||
        PyModule_AddIntConstant(m, "AT_TRAILER", AT_TRAILER) < 0 ||
        PyModule_AddIntConstant(m, "BAD_FRAME", BAD_FRAME) < 0 || PyModule_AddIntConstant(m, "BAD_BLOCK", BAD_BLOCK) < 0 ||
        PyModule_AddIntConstant(m, "BAD_CHECKSUM", BAD_CHECKSUM) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
