/*
 * lumiboard's native ingest core: scan TFRecord-framed Event protos and pull
 * scalar points out into columns, without building a Python object per point.
 *
 * Python's side (lumiboard/reader/scan.py) documents the contract; this file
 * implements it. In short, scan(buffer, base_offset, tag_kinds, verify_crc)
 * walks whole records from the start of `buffer` and returns
 *
 *   (consumed, tags, tag_ids, steps, wall_times, values, others, damages, stopped)
 *
 * - consumed: bytes of `buffer` fully processed (a truncated record at the end
 *   is left for the next call: the file is still growing);
 * - tags: list of tag names; tag_ids: int32 indexes into it, one per point;
 * - steps (int64), wall_times (float64), values (float64): the points;
 * - others: int64 pairs (absolute offset, length) of payloads Python decodes
 *   itself (everything that is not purely scalar values);
 * - damages: list of (absolute offset, reason) of records skipped for a bad
 *   data checksum (a header whose length checksum is bad stops the scan, as
 *   a truncated record does: the caller resyncs);
 * - stopped: True when the scan stopped right after a SessionLog event, so
 *   Python can apply purge semantics before reading further.
 *
 * A record is handled entirely here or entirely in Python: if any value in an
 * event is not a scalar this code understands, the whole event goes to
 * `others`. tag_kinds maps tag -> 1 (scalar) or 2 (not scalar); this code
 * reads it and adds to it when a value's metadata names its plugin.
 *
 * The GIL is released while scanning (only the rare per-tag dictionary
 * lookups take it back), so runs can be scanned in parallel threads.
 * Why hand-parse protobuf: decoding 10 million tiny Event messages through any
 * general protobuf runtime costs a Python object per event; here a scalar point
 * costs ~40 ns.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ---- CRC-32C (Castagnoli) ------------------------------------------------ */

static uint32_t crc_table[8][256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        crc_table[0][i] = crc;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
    }
}

static uint32_t crc32c_soft(const uint8_t *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = crc_table[7][word & 0xFF] ^ crc_table[6][(word >> 8) & 0xFF] ^
              crc_table[5][(word >> 16) & 0xFF] ^ crc_table[4][(word >> 24) & 0xFF] ^
              crc_table[3][(word >> 32) & 0xFF] ^ crc_table[2][(word >> 40) & 0xFF] ^
              crc_table[1][(word >> 48) & 0xFF] ^ crc_table[0][word >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

/* Hardware CRC-32C, chosen at compile time by the target's and compiler's
 * predefined macros, then at run time by what the CPU reports:
 * - x86-64 with gcc, clang or MSVC: SSE4.2's crc32 instruction, when cpuid
 *   reports SSE4.2 (every x86-64 CPU since 2008-2011 does);
 * - AArch64 whose target has the ARMv8 CRC32 instructions
 *   (__ARM_FEATURE_CRC32: Apple silicon, -march=armv8.1-a and later): always;
 *   AArch64 Linux with gcc otherwise: when the kernel's HWCAP reports them;
 * - anything else, or built with -DLUMIBOARD_NO_HW_CRC: crc32c_soft above.
 * crc_path() tells Python which one runs; a test holds every path to
 * google_crc32c's answers. */
#if !defined(LUMIBOARD_NO_HW_CRC) && (defined(__x86_64__) || defined(_M_X64)) && \
    (defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER))
#include <nmmintrin.h>
#if defined(_MSC_VER)
#include <intrin.h> /* __cpuid; clang-cl too (its cpuid.h clashes with intrin.h) */
#else
#include <cpuid.h>
#endif
#if defined(__GNUC__) || defined(__clang__)
#define HW_CRC_TARGET __attribute__((target("sse4.2")))
#else
#define HW_CRC_TARGET /* MSVC emits SSE4.2 intrinsics without being asked */
#endif
#define HW_CRC_NAME "sse4.2"
#define CRC_U64(crc, word) ((uint32_t)_mm_crc32_u64((crc), (word)))
#define CRC_U8(crc, byte) ((uint32_t)_mm_crc32_u8((crc), (byte)))
static int hw_crc_detect(void) {
#if defined(_MSC_VER)
    int info[4];
    __cpuid(info, 1);
    return (info[2] >> 20) & 1;
#else
    unsigned int eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && ((ecx >> 20) & 1);
#endif
}
#define HAVE_HW_CRC 1
#elif !defined(LUMIBOARD_NO_HW_CRC) && defined(__aarch64__) && \
    (defined(__ARM_FEATURE_CRC32) || (defined(__linux__) && defined(__GNUC__) && !defined(__clang__)))
#include <arm_acle.h>
#if defined(__ARM_FEATURE_CRC32)
#define HW_CRC_TARGET
static int hw_crc_detect(void) { return 1; }
#else
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7) /* linux/arch/arm64/include/uapi/asm/hwcap.h */
#endif
/* gcc's arm_acle.h declares the CRC intrinsics for any target; a function
 * using them needs the feature itself. */
#define HW_CRC_TARGET __attribute__((target("+crc")))
static int hw_crc_detect(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#endif
#define HW_CRC_NAME "armv8-crc"
#define CRC_U64(crc, word) __crc32cd((crc), (word))
#define CRC_U8(crc, byte) __crc32cb((crc), (byte))
#define HAVE_HW_CRC 1
#else
#define HAVE_HW_CRC 0
#endif

#if HAVE_HW_CRC
HW_CRC_TARGET static uint32_t crc32c_hw(const uint8_t *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = CRC_U64(crc, word);
        p += 8;
        n -= 8;
    }
    while (n--) crc = CRC_U8(crc, *p++);
    return ~crc;
}
static int have_hw_crc = 0;
static void crc_detect(void) { have_hw_crc = hw_crc_detect(); }
static uint32_t crc32c(const uint8_t *p, size_t n) {
    return have_hw_crc ? crc32c_hw(p, n) : crc32c_soft(p, n);
}
static const char *crc_path_name(void) { return have_hw_crc ? HW_CRC_NAME : "table"; }
#else
static void crc_detect(void) {}
static uint32_t crc32c(const uint8_t *p, size_t n) { return crc32c_soft(p, n); }
static const char *crc_path_name(void) { return "table"; }
#endif

/* TensorFlow's mask (tensorflow/core/lib/hash/crc32c.h). */
static uint32_t mask_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

static uint32_t masked_crc(const uint8_t *p, size_t n) { return mask_crc(crc32c(p, n)); }

static uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* the format is little-endian, as are the machines we build for */
    return v;
}

static uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- growable output columns ------------------------------------------- */

typedef struct {
    char *data;
    size_t len; /* bytes used */
    size_t cap;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *grown = PyMem_RawRealloc(b->data, cap);
    if (!grown) return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int buf_push(Buf *b, const void *item, size_t size) {
    if (buf_reserve(b, size) < 0) return -1;
    memcpy(b->data + b->len, item, size);
    b->len += size;
    return 0;
}

static void buf_free(Buf *b) { PyMem_RawFree(b->data); }

static PyObject *buf_bytes(Buf *b) { return PyBytes_FromStringAndSize(b->data ? b->data : "", b->len); }

/* ---- protobuf wire reading ------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Reader;

static int read_varint(Reader *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t byte = *r->p++;
        v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Skip one field's payload of wire type `wt`. */
static int skip_field(Reader *r, int wt) {
    uint64_t n;
    switch (wt) {
        case 0: return read_varint(r, &n);
        case 1: if (r->end - r->p < 8) return -1; r->p += 8; return 0;
        case 5: if (r->end - r->p < 4) return -1; r->p += 4; return 0;
        case 2:
            if (read_varint(r, &n) < 0 || (uint64_t)(r->end - r->p) < n) return -1;
            r->p += n;
            return 0;
        default: return -1;
    }
}

/* Read a length-delimited field's bounds. */
static int read_len(Reader *r, Reader *sub) {
    uint64_t n;
    if (read_varint(r, &n) < 0 || (uint64_t)(r->end - r->p) < n) return -1;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

/* ---- tags ------------------------------------------------------------------ */

enum { KIND_UNKNOWN = 0, KIND_SCALAR = 1, KIND_OTHER = 2 };

typedef struct {
    const uint8_t *name; /* points into the input buffer */
    size_t len;
    uint64_t hash;
    int32_t id;  /* index into the output tag list, -1 until a point uses it */
    int kind;
    int looked_up; /* kind read from Python's dict */
} TagSlot;

typedef struct {
    TagSlot *slots;
    size_t cap; /* power of two */
    size_t used;
} TagTable;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static TagSlot *tag_find(TagTable *t, const uint8_t *name, size_t len, uint64_t h) {
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        TagSlot *s = &t->slots[i];
        if (!s->name) return s;
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0) return s;
    }
}

static int tag_grow(TagTable *t) {
    size_t cap = t->cap * 2;
    TagSlot *slots = PyMem_RawCalloc(cap, sizeof(TagSlot));
    if (!slots) return -1;
    TagTable bigger = {slots, cap, t->used};
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].name) *tag_find(&bigger, t->slots[i].name, t->slots[i].len, t->slots[i].hash) = t->slots[i];
    }
    PyMem_RawFree(t->slots);
    *t = bigger;
    return 0;
}

typedef struct {
    TagTable table;
    PyObject *kinds;  /* dict tag -> int, shared with Python */
    PyObject *tags;   /* output list of tag names */
    int error;        /* a Python error is set */
} Tags;

/* The slot of a tag, created (with its kind looked up in Python's dict) on
 * first sight. Takes the GIL for that lookup only. */
static TagSlot *tag_slot(Tags *tags, const uint8_t *name, size_t len) {
    uint64_t h = hash_bytes(name, len);
    TagSlot *s = tag_find(&tags->table, name, len, h);
    if (s->name) return s;
    if ((tags->table.used + 1) * 2 > tags->table.cap) {
        if (tag_grow(&tags->table) < 0) return NULL;
        s = tag_find(&tags->table, name, len, h);
    }
    s->name = name;
    s->len = len;
    s->hash = h;
    s->id = -1;
    s->kind = KIND_UNKNOWN;
    tags->table.used++;
    return s;
}

static int lookup_kind(Tags *tags, TagSlot *s) {
    PyObject *key = PyUnicode_DecodeUTF8((const char *)s->name, s->len, NULL);
    if (!key) {
        /* A tag that is not UTF-8 makes the Event unparsable by protobuf (and
         * TensorBoard): its records go to Python, which counts them as damage,
         * instead of being read here under a name with U+FFFD in it. */
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) return -1;
        PyErr_Clear();
        s->kind = KIND_OTHER;
        return 0;
    }
    PyObject *kind = PyDict_GetItemWithError(tags->kinds, key);
    Py_DECREF(key);
    if (!kind) return PyErr_Occurred() ? -1 : 0;
    long k = PyLong_AsLong(kind);
    if (k == -1 && PyErr_Occurred()) return -1;
    s->kind = (int)k;
    return 0;
}

static int32_t tag_id(Tags *tags, TagSlot *s) {
    if (s->id >= 0) return s->id;
    PyObject *key = PyUnicode_DecodeUTF8((const char *)s->name, s->len, "replace");
    if (!key || PyList_Append(tags->tags, key) < 0) {
        Py_XDECREF(key);
        return -1;
    }
    Py_DECREF(key);
    s->id = (int32_t)(PyList_GET_SIZE(tags->tags) - 1);
    return s->id;
}

/* ---- event decoding ---------------------------------------------------- */

typedef struct {
    const uint8_t *tag;
    size_t tag_len;
    double value;
    int has_metadata; /* Python reads a tag's metadata before this code handles it */
    int has_value; /* 1 when a scalar value was read */
    int is_tensor; /* the value came from a tensor (needs metadata or a known tag) */
    int other;     /* 1 when the value is not a plain scalar */
} ValueInfo;

/* A TensorProto read as protobuf reads it (scan_python's _scalar_of is the
 * reference). A message field written more than once is one message to
 * protobuf, its parts merged as if their bytes were one, so the state is
 * kept across parts. */
typedef struct {
    uint64_t dtype, floats, doubles; /* floats, doubles: float_val, double_val counts */
    double float_value, double_value; /* the last of each */
    const uint8_t *content; /* tensor_content: the last one wins, as for any bytes field */
    size_t content_len;
} TensorState;

/* Read one part; 1 when it shows the tensor is no scalar: a dim of the shape
 * other than 1 (their product would let [-5, 3] pass). -1 when malformed. */
static int read_tensor_part(Reader r, TensorState *t) {
    uint64_t key;
    while (r.p < r.end) {
        if (read_varint(&r, &key) < 0) return -1;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        if (field == 1 && wt == 0) {
            if (read_varint(&r, &t->dtype) < 0) return -1;
        } else if (field == 2 && wt == 2) { /* TensorShapeProto */
            Reader shape;
            if (read_len(&r, &shape) < 0) return -1;
            while (shape.p < shape.end) {
                uint64_t k2;
                if (read_varint(&shape, &k2) < 0) return -1;
                if (k2 == ((2 << 3) | 2)) {
                    Reader dim;
                    if (read_len(&shape, &dim) < 0) return -1;
                    uint64_t size = 0, k3;
                    while (dim.p < dim.end) {
                        if (read_varint(&dim, &k3) < 0) return -1;
                        if (k3 == ((1 << 3) | 0)) {
                            if (read_varint(&dim, &size) < 0) return -1;
                        } else if (skip_field(&dim, (int)(k3 & 7)) < 0) return -1;
                    }
                    if (size != 1) return 1;
                } else if (skip_field(&shape, (int)(k2 & 7)) < 0) return -1;
            }
        } else if (field == 4 && wt == 2) {
            Reader c;
            if (read_len(&r, &c) < 0) return -1;
            t->content = c.p;
            t->content_len = (size_t)(c.end - c.p);
        } else if (field == 5 && wt == 2) { /* packed float_val */
            Reader c;
            if (read_len(&r, &c) < 0) return -1;
            size_t n = (size_t)(c.end - c.p);
            if (n % 4) return -1;
            t->floats += n / 4;
            if (n >= 4) { float f; memcpy(&f, c.end - 4, 4); t->float_value = f; }
        } else if (field == 5 && wt == 5) { /* unpacked float_val */
            float f;
            if (r.end - r.p < 4) return -1;
            memcpy(&f, r.p, 4);
            r.p += 4;
            t->float_value = f;
            t->floats++;
        } else if (field == 6 && wt == 2) { /* packed double_val */
            Reader c;
            if (read_len(&r, &c) < 0) return -1;
            size_t n = (size_t)(c.end - c.p);
            if (n % 8) return -1;
            t->doubles += n / 8;
            if (n >= 8) memcpy(&t->double_value, c.end - 8, 8);
        } else if (field == 6 && wt == 1) {
            if (r.end - r.p < 8) return -1;
            memcpy(&t->double_value, r.p, 8);
            r.p += 8;
            t->doubles++;
        } else if (skip_field(&r, wt) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The one float or double element of a tensor read whole, else 1: the
 * values are the dtype's own field's; an empty tensor_content is none. */
static int scalar_of_tensor(const TensorState *t, double *out) {
    if (t->dtype == 1) { /* DT_FLOAT */
        if (t->content_len) {
            if (t->content_len != 4) return 1;
            float f;
            memcpy(&f, t->content, 4);
            *out = f;
        } else if (t->floats != 1) {
            return 1;
        } else {
            *out = t->float_value;
        }
        return 0;
    }
    if (t->dtype == 2) { /* DT_DOUBLE */
        if (t->content_len) {
            if (t->content_len != 8) return 1;
            memcpy(out, t->content, 8);
        } else if (t->doubles != 1) {
            return 1;
        } else {
            *out = t->double_value;
        }
        return 0;
    }
    return 1; /* other dtypes: Python converts them */
}

static int parse_value(Reader r, ValueInfo *v) {
    uint64_t key;
    TensorState tensor;
    int tensor_parts = 0, tensor_rc = 0;
    memset(v, 0, sizeof(*v));
    while (r.p < r.end) {
        if (read_varint(&r, &key) < 0) return -1;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        if (field == 1 && wt == 2) {
            Reader t;
            if (read_len(&r, &t) < 0) return -1;
            v->tag = t.p;
            v->tag_len = (size_t)(t.end - t.p);
        } else if (field == 2 && wt == 5) { /* simple_value */
            float f;
            if (r.end - r.p < 4) return -1;
            memcpy(&f, r.p, 4);
            r.p += 4;
            v->value = f;
            v->has_value = 1;
        } else if (field == 9 && wt == 2) {
            v->has_metadata = 1;
            if (skip_field(&r, wt) < 0) return -1;
        } else if (field == 8 && wt == 2) {
            Reader t;
            if (read_len(&r, &t) < 0) return -1;
            if (!tensor_parts++) memset(&tensor, 0, sizeof tensor);
            if (!tensor_rc) tensor_rc = read_tensor_part(t, &tensor);
            if (tensor_rc < 0) return -1;
        } else if (field >= 3 && field <= 6) { /* histo, image, audio, old histogram */
            v->other = 1;
            if (skip_field(&r, wt) < 0) return -1;
        } else if (skip_field(&r, wt) < 0) {
            return -1;
        }
    }
    if (tensor_parts) {
        if (v->has_value) { v->other = 1; return 0; }
        if (tensor_rc || scalar_of_tensor(&tensor, &v->value)) v->other = 1; else v->has_value = 1;
        v->is_tensor = 1;
    }
    if (!v->has_value) v->other = 1;
    return 0;
}

/* ---- the scan ------------------------------------------------------------- */

typedef struct {
    Buf tag_ids, steps, walls, values, others;
    Tags tags;
} Output;

#define MAX_VALUES 64 /* events with more values go to Python */

/* The `index`th summary field of an event: protobuf merges them all, so
 * their values are read in turn (walked again: a rare case). */
static Reader nth_summary(const uint8_t *p, size_t n, int index) {
    Reader r = {p, p + n}, found = {p, p};
    uint64_t key;
    while (r.p < r.end && read_varint(&r, &key) == 0) {
        if (key == ((5 << 3) | 2)) {
            if (read_len(&r, &found) < 0 || !index--) break;
        } else if (skip_field(&r, (int)(key & 7)) < 0) {
            break;
        }
    }
    return found;
}

/* Decide, for one event payload, whether it is all scalars; if so, append
 * its points. Returns 0 handled, 1 for Python, 2 for Python and stop (a
 * SessionLog), -1 on a Python error. */
static int scan_event(Output *out, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    uint64_t key, step = 0;
    double wall = 0;
    Reader summary = {NULL, NULL};
    int n_summaries = 0;
    while (r.p < r.end) {
        if (read_varint(&r, &key) < 0) return 1;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        if (field == 1 && wt == 1) {
            if (r.end - r.p < 8) return 1;
            memcpy(&wall, r.p, 8);
            r.p += 8;
        } else if (field == 2 && wt == 0) {
            if (read_varint(&r, &step) < 0) return 1;
        } else if (field == 5 && wt == 2) {
            Reader part;
            if (read_len(&r, &part) < 0) return 1;
            if (!n_summaries++) summary = part;
        } else if (field == 7) {
            return 2;
        } else if (field >= 3 && field <= 9) {
            return 1; /* file_version, graph_def, log_message, run metadata, meta graph */
        } else if (skip_field(&r, wt) < 0) {
            return 1;
        }
    }
    if (!n_summaries) return 1;
    ValueInfo values[MAX_VALUES];
    TagSlot *slots[MAX_VALUES];
    int count = 0;
    for (int part = 0; part < n_summaries; part++) {
        if (part) summary = nth_summary(p, n, part);
        while (summary.p < summary.end) {
            if (read_varint(&summary, &key) < 0) return 1;
            if (key != ((1 << 3) | 2)) {
                if (skip_field(&summary, (int)(key & 7)) < 0) return 1;
                continue;
            }
            Reader vr;
            if (read_len(&summary, &vr) < 0 || count == MAX_VALUES) return 1;
            ValueInfo *v = &values[count];
            if (parse_value(vr, v) < 0 || v->other || !v->tag) return 1;
            TagSlot *s = tag_slot(&out->tags, v->tag, v->tag_len);
            if (!s) return -1;
            if (!s->looked_up) {
                PyGILState_STATE gil = PyGILState_Ensure();
                int rc = lookup_kind(&out->tags, s);
                PyGILState_Release(gil);
                if (rc < 0) return -1;
                s->looked_up = 1;
            }
            slots[count++] = s;
        }
    }
    if (count == 0) return 1;
    /* Handled here: a tag Python has seen as a scalar, or a metadata-free
     * simple_value of a tag not known as something else. A value with
     * metadata for a tag Python has not seen goes to Python first, so it
     * learns the tag's plugin, display name and description. */
    for (int i = 0; i < count; i++) {
        int kind = slots[i]->kind;
        if (kind == KIND_SCALAR) continue;
        if (kind == KIND_UNKNOWN && !values[i].is_tensor && !values[i].has_metadata) continue;
        return 1;
    }
    for (int i = 0; i < count; i++) {
        int32_t id = slots[i]->id;
        if (id < 0) {
            PyGILState_STATE gil = PyGILState_Ensure();
            id = tag_id(&out->tags, slots[i]);
            PyGILState_Release(gil);
            if (id < 0) return -1;
        }
        int64_t s64 = (int64_t)step;
        if (buf_push(&out->tag_ids, &id, 4) < 0 || buf_push(&out->steps, &s64, 8) < 0 ||
            buf_push(&out->walls, &wall, 8) < 0 || buf_push(&out->values, &values[i].value, 8) < 0) {
            PyGILState_STATE gil = PyGILState_Ensure();
            PyErr_NoMemory();
            PyGILState_Release(gil);
            return -1;
        }
    }
    return 0;
}

enum { DAMAGE_DATA_CRC = 2 };

typedef struct {
    int64_t offset;
    int64_t code;
} DamageRecord;

static PyObject *scan(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"buffer", "base_offset", "tag_kinds", "verify_crc", NULL};
    Py_buffer view;
    long long base = 0;
    PyObject *kinds;
    int verify = 1;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*LO!|p", keywords, &view, &base, &PyDict_Type,
                                     &kinds, &verify))
        return NULL;
    Output out;
    memset(&out, 0, sizeof(out));
    Buf damages = {0};
    out.tags.kinds = kinds;
    out.tags.tags = PyList_New(0);
    out.tags.table.cap = 64;
    out.tags.table.slots = PyMem_RawCalloc(out.tags.table.cap, sizeof(TagSlot));
    PyObject *result = NULL;
    if (!out.tags.tags || !out.tags.table.slots) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *buf = view.buf;
    size_t n = (size_t)view.len, pos = 0;
    int stopped = 0, failed = 0;

    Py_BEGIN_ALLOW_THREADS
    while (pos + 12 <= n) {
        uint64_t length = load_u64(buf + pos);
        /* A bad length checksum: neither the length nor the next record's
         * place can be trusted. Stop there; lumiboard/reader/tail.py resyncs
         * (finds the next whole frame) and counts the skip, once, across
         * reloads. No damage here: the same bytes are seen again next pass. */
        if (verify && masked_crc(buf + pos, 8) != load_u32(buf + pos + 8)) break;
        /* Truncated (a growing file: wait), or longer than this buffer: the
         * caller decides (reads it whole, or skips it by its size policy).
         * Compared without adding to `length`, which may be up to 2^64 - 1. */
        if (length > n - pos - 12 || n - pos - 12 - length < 4) break;
        const uint8_t *data = buf + pos + 12;
        size_t total = 12 + (size_t)length + 4;
        if (verify && masked_crc(data, (size_t)length) != load_u32(data + length)) {
            DamageRecord d = {(int64_t)(base + pos), DAMAGE_DATA_CRC};
            if (buf_push(&damages, &d, sizeof d) < 0) { failed = 2; break; }
            pos += total;
            continue;
        }
        int rc = scan_event(&out, data, (size_t)length);
        if (rc < 0) { failed = 1; break; }
        if (rc > 0) {
            int64_t pair[2] = {(int64_t)(base + pos + 12), (int64_t)length};
            if (buf_push(&out.others, pair, sizeof pair) < 0) { failed = 2; break; }
        }
        pos += total;
        if (rc == 2) { stopped = 1; break; }
    }
    Py_END_ALLOW_THREADS

    if (failed == 2) PyErr_NoMemory();
    if (failed) goto done;
    PyObject *damage_list = PyList_New(0);
    if (!damage_list) goto done;
    for (size_t i = 0; i < damages.len / sizeof(DamageRecord); i++) {
        DamageRecord *d = (DamageRecord *)damages.data + i;
        PyObject *item = Py_BuildValue("(Ls)", (long long)d->offset, "bad data checksum");
        if (!item || PyList_Append(damage_list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(damage_list);
            goto done;
        }
        Py_DECREF(item);
    }
    result = Py_BuildValue("(nONNNNNNO)", (Py_ssize_t)pos, out.tags.tags, buf_bytes(&out.tag_ids),
                           buf_bytes(&out.steps), buf_bytes(&out.walls), buf_bytes(&out.values),
                           buf_bytes(&out.others), damage_list, stopped ? Py_True : Py_False);
done:
    Py_XDECREF(out.tags.tags);
    PyMem_RawFree(out.tags.table.slots);
    buf_free(&out.tag_ids);
    buf_free(&out.steps);
    buf_free(&out.walls);
    buf_free(&out.values);
    buf_free(&out.others);
    buf_free(&damages);
    PyBuffer_Release(&view);
    return result;
}

/* find_frame(buffer, start, max_record) -> (found, pending): the first
 * position at or after `start` holding a whole frame (length checksum and
 * data checksum both match, length <= max_record), else -1; and the first
 * position before it whose header matches but whose data runs past the
 * buffer, else -1. The pure-Python twin (format/tfrecord.py find_frame)
 * documents the contract; a Hypothesis test holds the two equal. */
/* The first position in [p, n - 12] whose 12 bytes are a header with a good
 * length checksum, else n. The resync's hot loop: one 8-byte CRC a byte. */
static size_t next_header_soft(const uint8_t *buf, size_t p, size_t n) {
    for (; p + 12 <= n; p++)
        if (masked_crc(buf + p, 8) == load_u32(buf + p + 8)) return p;
    return n;
}

#if HAVE_HW_CRC
HW_CRC_TARGET static size_t next_header_hw(const uint8_t *buf, size_t p, size_t n) {
    for (; p + 12 <= n; p++) {
        uint64_t word;
        memcpy(&word, buf + p, 8);
        if (mask_crc(~CRC_U64(0xFFFFFFFFu, word)) == load_u32(buf + p + 8)) return p;
    }
    return n;
}
static size_t next_header(const uint8_t *buf, size_t p, size_t n) {
    return have_hw_crc ? next_header_hw(buf, p, n) : next_header_soft(buf, p, n);
}
#else
static size_t next_header(const uint8_t *buf, size_t p, size_t n) { return next_header_soft(buf, p, n); }
#endif

static PyObject *find_frame(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t start;
    unsigned long long max_record;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nK", &view, &start, &max_record)) return NULL;
    const uint8_t *buf = view.buf;
    size_t n = (size_t)view.len;
    int64_t found = -1, pending = -1;
    Py_BEGIN_ALLOW_THREADS
    for (size_t p = start > 0 ? (size_t)start : 0; (p = next_header(buf, p, n)) + 12 <= n; p++) {
        uint64_t length = load_u64(buf + p);
        if (length > max_record) continue;
        if (length > n - p - 12 || n - p - 12 - length < 4) {
            if (pending < 0) pending = (int64_t)p;
            continue;
        }
        if (masked_crc(buf + p + 12, (size_t)length) == load_u32(buf + p + 12 + length)) {
            found = (int64_t)p;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(LL)", (long long)found, (long long)pending);
}

static PyObject *masked_crc32c_py(PyObject *self, PyObject *arg) {
    Py_buffer view;
    (void)self;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    uint32_t crc = masked_crc(view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(crc);
}

static PyObject *crc_path_py(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyUnicode_FromString(crc_path_name());
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_VARARGS | METH_KEYWORDS,
     "scan(buffer, base_offset, tag_kinds, verify_crc=True): see lumiboard.reader.scan."},
    {"find_frame", find_frame, METH_VARARGS,
     "find_frame(buffer, start, max_record) -> (found, pending): see lumiboard.format.tfrecord."},
    {"masked_crc32c", masked_crc32c_py, METH_O, "TensorFlow's masked CRC-32C of a bytes-like object."},
    {"crc_path", crc_path_py, METH_NOARGS,
     "The CRC-32C code in use: 'sse4.2', 'armv8-crc' (instructions) or 'table' (portable)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "lumiboard's native ingest core.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    crc_init();
    crc_detect();
    return PyModule_Create(&module);
}
