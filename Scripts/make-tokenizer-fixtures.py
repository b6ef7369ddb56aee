#!/usr/bin/env python3
"""Regenerates llama_cpp_tokenize.json and llama_cpp_tokenize_space_prefix.json from llama.cpp.

Needs a llama.cpp source tree and a build of it with shared libraries (libllama.so), gcc, and
gguf-py (pip package `gguf`) for the space-prefix variant. Usage:

    python3 Scripts/make-tokenizer-fixtures.py LLAMA_CPP_SRC LLAMA_CPP_BUILD_BIN MODEL.gguf OUT_DIR

It compiles a small C helper against libllama (vocab_only load, llama_tokenize for the four
(add_special, parse_special) combinations, llama_detokenize), runs it on the texts below, and
writes the JSON files. The space-prefix file uses a copy of the model's metadata (no tensors)
with tokenizer.ggml.add_space_prefix = true.
"""
import json, os, random, subprocess, sys, tempfile

C_HELPER = r"""// Ground truth from llama.cpp: reads NUL-separated texts from argv[2], prints for each text
// four lines of ids: (add_special, parse_special) = (1,1), (1,0), (0,1), (0,0); then one line
// with the hex of llama_detokenize(ids of (1,1), remove_special=0, unparse_special=0).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"
static void quiet(enum ggml_log_level l, const char * t, void * u) { (void)l; (void)t; (void)u; }
int main(int argc, char ** argv) {
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "load failed\n"); return 1; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    FILE * f = fopen(argv[2], "rb");
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char * all = malloc(n + 1); fread(all, 1, n, f); all[n] = 0; fclose(f);
    long pos = 0;
    llama_token * toks = malloc(sizeof(llama_token) * 1000000);
    char * out = malloc(10000000);
    while (pos < n) {
        const char * text = all + pos; int len = (int)strlen(text);
        int first_n = 0;
        for (int mode = 0; mode < 4; mode++) {
            int add = mode < 2, parse = (mode % 2) == 0;
            int k = llama_tokenize(vocab, text, len, toks, 1000000, add, parse);
            for (int i = 0; i < k; i++) printf(i ? " %d" : "%d", toks[i]);
            printf("\n");
            if (mode == 0) first_n = k;
        }
        llama_tokenize(vocab, text, len, toks, 1000000, 1, 1);
        int m = llama_detokenize(vocab, toks, first_n, out, 10000000, 0, 0);
        for (int i = 0; i < m; i++) printf("%02x", (unsigned char)out[i]);
        printf("\n");
        pos += len + 1;
    }
    return 0;
}
"""


def texts():
    texts = [
        "", " ", "  ", "Hello world", "Hello, world!", " leading space", "  two leading spaces", "trailing space ",
        "multiple   spaces   here", "a  b   c    d     e", "\n", "\n\n\n", "line1\nline2\n\nline4\n",
        "\ttab\tseparated\t\tvalues", "    indented", " \n \n",
        "def f(x):\n    if x > 0:\n        return x\n    return -x\n",
        "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
        "I love 🦙 and 👩‍👩‍👧‍👦 😀!", "日本語のテキストです。中文测试。한국어 텍스트", "Ünïcödé àccents: é vs e\u0301",
        "rare: 𒀀𓀀𐍈\ue000\uf8ff\U0010fffd", "\u00a0non-breaking\u2009thin\u3000ideographic",
        "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
        "<bos>text<eos>", "<start_of_turn>", "x<end_of_turn>y", "<table><tr><td>1</td></tr></table>",
        "<0x41> literal byte token text", "<unused0> <mask> [multimodal] <unk> <pad>", "▁already▁escaped ▁",
        "The capital of France is", "Question: What is 17 times 23?\nAnswer:", "1234567890 3.14159 1e-10 0xDEADBEEF",
        "A\u200dB\u200cC\ufeffD", "«quotes» “curly” ‘single’ — dashes – …", "ÅÄÖ åäö ß ẞ ﬁ ﬂ",
        "https://example.com/path?query=1&b=2#frag", "<start_of_turn><start_of_turn>user", "  <end_of_turn>  ",
        "end </s> of <s> text", "stops: [\"<end_of_turn>\", \"</s>\", \"<|im_end|>\", \"<eos>\"]", "<start_of_image><end_of_image>",
    ]
    rng = random.Random(1234)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()[]{}<>/\\-_=+*&^%$#@~`|") + \
        [" "] * 12 + ["\n"] * 4 + ["\t"] * 2 + ["é", "中", "文", "🦙", "ü", "ñ", "ø", "Ω", "ж", "ش", "▁", "\u0301", "𓀀"] + \
        ["<start_of_turn>", "<end_of_turn>", "  ", "    ", "\n\n", "<b>", "</b>", "the", " the", "ing", "tion"]
    for i in range(30):
        n = rng.randint(20, 300)
        texts.append("".join(rng.choice(alphabet) for _ in range(n)))
    words = "the of and to in is was for on that with as by at from it an be this are or which have not but had his they".split()
    long = []
    while sum(len(w) + 1 for w in long) < 2000:
        long.append(rng.choice(words) if rng.random() < 0.8 else rng.choice(["Paris,", "France.", "1999", "(note)", "\n", "don't", "über", "naïve", "東京", "🙂"]))
    texts.append(" ".join(long)[:2000])
    return texts


def metadata_copy_with_space_prefix(model, out):
    import gguf
    r = gguf.GGUFReader(model)
    w = gguf.GGUFWriter(out, arch=r.fields["general.architecture"].contents(), use_temp_file=False)
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        v = f.contents()
        if k == "tokenizer.ggml.add_space_prefix":
            v = True
        t = f.types[0]
        if t == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, v, t, sub_type=f.types[-1])
        else:
            w.add_key_value(k, v, t)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def run(helper, model, items, label, out):
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        for t in items:
            assert "\0" not in t
            f.write(t.encode() + b"\0")
        path = f.name
    lines = subprocess.run([helper, model, path], capture_output=True, check=True).stdout.decode().split("\n")
    os.unlink(path)
    cases = []
    for i, t in enumerate(items):
        block = lines[i * 5:(i + 1) * 5]
        ids = [[int(x) for x in l.split()] for l in block[:4]]
        cases.append({"text": t, "add_special_parse_special": ids[0], "add_special_no_parse": ids[1],
                      "no_add_parse_special": ids[2], "no_add_no_parse": ids[3],
                      "detokenized": bytes.fromhex(block[4]).decode("utf-8", errors="replace")})
    json.dump({"model": label, "cases": cases}, open(out, "w"), ensure_ascii=False, indent=1)
    print(out, len(cases), "cases")


def main():
    src, build_bin, model, out_dir = sys.argv[1:5]
    work = tempfile.mkdtemp()
    helper = os.path.join(work, "tok")
    open(helper + ".c", "w").write(C_HELPER)
    subprocess.run(["gcc", "-O1", helper + ".c", "-I" + os.path.join(src, "include"), "-I" + os.path.join(src, "ggml/include"),
                    "-L" + build_bin, "-lllama", "-Wl,-rpath," + build_bin, "-o", helper], check=True)
    items = texts()
    run(helper, model, items, "gemma-3-270m-q4_k_m.gguf (sha256 a5fd3b62...6818)", os.path.join(out_dir, "llama_cpp_tokenize.json"))
    prefixed = os.path.join(work, "space-prefix.gguf")
    metadata_copy_with_space_prefix(model, prefixed)
    run(helper, prefixed, items, "gemma-3-270m-q4_k_m.gguf metadata with tokenizer.ggml.add_space_prefix = true, no tensors",
        os.path.join(out_dir, "llama_cpp_tokenize_space_prefix.json"))


if __name__ == "__main__":
    main()
