#!/usr/bin/env python3
"""Tokenizer parity with Hugging Face tokenizers: BPE tokenizers trained here (on the Debian license
texts and the corpus below) with the pre-tokenizers, normalizers, post-processors and decoders of the
real pipelines, saved as tokenizer.json: byte-level (GPT-2, Llama 3, Qwen2/3) and SentencePiece-style
with byte fallback (Llama 2: Prepend and Replace normalizers; Llama 2 / Mistral as transformers now
converts them: Metaspace; Gemma: Replace and Split); then every corpus text encoded by `dllm-bench
tokenize` and by tokenizers, id for id, and decoded back. Where the `sentencepiece` module is
installed, also a BPE tokenizer.model it trains, against its own encode and decode.

    tools/parity/tokenizer_parity.py [--dllm-bench build/bin/dllm-bench] [--keep DIR]

Exit status: 0 all pass, 1 a mismatch or an error, 77 tokenizers not importable
(ctest's SKIP_RETURN_CODE).
"""

import argparse
import glob
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

try:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers
except ImportError as e:  # reported by main() as a skip, after --help has had its chance
    MISSING = e
else:
    MISSING = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The Split regexes of the released tokenizer.json files.
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

CORPUS = [
    "",
    "Hello, world! It's a test; we'll see what they've done, I'M sure.",
    "DON'T you're WE'VE I'd They'LL she'S",
    "The quick brown fox jumps over the lazy dog 1234567890 3.14159 1,000,000 007",
    "Çà et là, naïve façade — Straße, Größe, übermäßig; «guillemets» and “quotes”",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "Ελληνικά: γειά σου κόσμε. مرحبا بالعالم. שלום עולם.",
    "नमस्ते दुनिया, हिन्दी में लिखा। สวัสดีชาวโลก",
    "你好，世界！今天天气很好。日本語のテキスト、カタカナとひらがな。안녕하세요 세계",
    "I ❤️ 🍕 and 👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🧑🏿‍💻 at work",
    "e\u0301 vs \u00e9, A\u030a vs \u00c5, n\u0303, Z\u0335\u0321a\u0337l\u0334g\u0336o, \u1e9b\u0323",
    "a  b   c\t\td\n\ne \n \n\t x   ",
    "    leading spaces and trailing   ",
    "\n\n\n",
    "\r\n windows\r\nline\r\n\r\n",
    " ",
    "\t",
    "a\u00a0b\u2003c\u3000d\u200bz",
    "abc123def４５６ ½ ² ⅞ Ⅻ ١٢٣",
    "12345678901234567890 3x4=12 -42 +7e-3",
    "def f(x):\n    return x**2  # square\n\nfor i in range(10):\n\tprint(f(i))\n",
    "int main() { std::vector<int> v{1, 2, 3}; return v[0]; }  // done",
    "if (a != b && c >= 0) { x += 1; } else { y <<= 2; }",
    '{"key": [1, 2.5, null], "nested": {"a": "b"}}',
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text<|endoftext|>",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>",
    "<|im_start|<|im_start|>> <|endoftext <|eot_id|><|eot_id|>",
    "<think>let me reason</think> then answer",
    "mixed: Hello世界123🙂abc  \n\tEND",
    "<s>Hello</s> <start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "call <tool>search</tool> and <tool> again, <too <tool",
    "▁ already ▁▁ metaspace ▁x <0x41> <unk>",
    " " * 3000 + "end" + "ab" * 2000 + "\n" * 500,
]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|end_of_text|>",
            "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]

BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]
# The SentencePiece-style pipelines: their special tokens (the first ones, in this order, take ids
# 0, 1, ...) and the one the template puts before the text.
SPM_SPECIALS = {"llama2": ["<unk>", "<s>", "</s>"], "metaspace": ["<unk>", "<s>", "</s>"],
                "gemma": ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]}
SPM_BOS = {"llama2": "<s>", "metaspace": "<s>", "gemma": "<bos>"}


def build(pipeline, train_files):
    """A byte-level BPE with the named pipeline's components, trained on train_files."""
    tok = Tokenizer(models.BPE(ignore_merges=(pipeline == "llama3")))
    if pipeline == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        split = QWEN2_SPLIT if pipeline == "qwen2" else LLAMA3_SPLIT
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    if pipeline == "qwen2":
        tok.normalizer = normalizers.NFC()
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(train_files, trainer)
    tok.add_tokens([AddedToken("<think>", special=False, normalized=False),
                    AddedToken("</think>", special=False, normalized=False)])
    if pipeline == "llama3":
        bos = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def build_spm(pipeline, train_files):
    """A SentencePiece-style BPE with byte fallback and the named pipeline's components, trained on
    train_files as SentencePiece trains (words split before each "▁", so pieces do not cross them)
    over an alphabet of the 150 most frequent characters (rarer ones fall back to bytes)."""
    specials = SPM_SPECIALS[pipeline]
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=specials + BYTE_TOKENS, limit_alphabet=150,
                                  show_progress=False)
    tok.train(train_files, trainer)
    tok.pre_tokenizer = None
    if pipeline == "llama2":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    elif pipeline == "gemma":
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous")
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    tok.decoder = decoders.Sequence(steps if pipeline == "gemma" else steps + [decoders.Strip(" ", 1, 0)])
    # The byte tokens belong to the model's vocab, not to the added tokens (as in the released files).
    spec = json.loads(tok.to_str())
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["content"] in specials]
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.add_tokens([AddedToken("<think>", special=False, normalized=False),
                    AddedToken("</think>", special=False, normalized=False),
                    AddedToken("<tool>", special=False, normalized=True)])  # matched in the normalized text
    tok.add_special_tokens(SPECIALS)
    bos = SPM_BOS[pipeline]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    return tok


def tokenize(exe, folder, flag, value):
    """dllm-bench tokenize's JSON for --text or --ids; (exit code, JSON or the error text)."""
    r = subprocess.run([exe, "tokenize", "--model", folder, flag.encode() + b"=" + value, "--json"],
                       capture_output=True)
    if r.returncode != 0:
        return r.returncode, r.stderr.decode(errors="replace")
    return 0, json.loads(r.stdout)


class HfReference:
    """A tokenizers.Tokenizer of one pipeline as the reference."""

    def __init__(self, pipeline, tok):
        self.pipeline, self.tok = pipeline, tok

    def encode(self, text):
        return self.tok.encode(text).ids

    def decode(self, ids):
        return self.tok.decode(ids, skip_special_tokens=False)

    def round_trip(self, text, ids):
        """(ids, text) where decode(ids) must give the text back; None where the pipeline loses it."""
        if self.pipeline in ("gpt2", "llama3", "qwen2"):
            lossless = unicodedata.normalize("NFC", text) if self.pipeline == "qwen2" else text
            return ids, "<|begin_of_text|>" + lossless if self.pipeline == "llama3" else lossless
        # SentencePiece-style: without the template's <bos>; a "▁" in the text comes back as a space.
        # Llama 2's Prepend puts a space before every piece between added tokens, and Strip takes back
        # only the first; Metaspace does not prepend to a text that starts with a space, and Strip
        # then takes that space.
        if "▁" in text:
            return None
        added = self.tok.get_added_tokens_decoder().values()
        if self.pipeline == "llama2" and any(t.content in text for t in added):
            return None
        if self.pipeline == "metaspace" and text.startswith(" "):
            return None
        return ids[1:], text


class SentencePieceReference:
    """A sentencepiece.SentencePieceProcessor as the reference: <bos>, then its ids."""

    def __init__(self, sp):
        self.sp = sp

    def encode(self, text):
        return [self.sp.bos_id()] + self.sp.encode(text)

    def decode(self, ids):
        return self.sp.decode(ids)

    def round_trip(self, text, ids):
        return None if "▁" in text else (ids, text)  # "▁" comes back as a space


def check(exe, name, folder, ref):
    """Failures of one tokenizer over the corpus (empty when all agree)."""
    failures = []
    for text in CORPUS + ["\n".join(CORPUS)]:
        want = ref.encode(text)
        rc, got = tokenize(exe, folder, "--text", text.encode())
        if rc != 0:
            failures.append(f"{name}: encode {text!r} failed: {got}")
            continue
        if got["ids"] != want:
            at = next((i for i, (a, b) in enumerate(zip(got["ids"], want)) if a != b), min(len(got["ids"]), len(want)))
            failures.append(f"{name}: {text[:40]!r}...: ids differ from index {at}: dllm-bench {got['ids'][at:at + 8]} "
                            f"reference {want[at:at + 8]} ({ref.decode(want[at:at + 8])!r})")
            continue
        for ids, lossless in [(want, None), ref.round_trip(text, want) or ([], None)]:
            if not ids:  # nothing to decode (the CLI refuses an empty --ids)
                continue
            rc, back = tokenize(exe, folder, "--ids", ",".join(map(str, ids)).encode())
            expected = ref.decode(ids)
            if rc != 0 or back["text"] != expected or (lossless is not None and back["text"] != lossless):
                got_text = back["text"] if rc == 0 else back
                at = next((i for i, (x, y) in enumerate(zip(got_text, expected)) if x != y), min(len(got_text), len(expected)))
                failures.append(f"{name}: decode of {text[:40]!r}...: from character {at}: dllm-bench "
                                f"{got_text[at:at + 30]!r}, reference {expected[at:at + 30]!r}"
                                + (f", lossless {lossless[at:at + 30]!r}" if lossless is not None else ""))
    rc, err = tokenize(exe, folder, "--text", b"caf\xc3 \xff")
    if rc == 0 or "not valid UTF-8" not in err:
        failures.append(f"{name}: invalid UTF-8 was not refused: {err!r}")
    return failures


def train_sentencepiece(folder, train_files):
    """A BPE tokenizer.model trained by sentencepiece with Llama 2's options (byte fallback, digits
    split, whitespace kept as it is), and the corpus's special tokens as user-defined symbols."""
    import sentencepiece as spm
    spm.SentencePieceTrainer.train(
        input=",".join(train_files), model_prefix=os.path.join(folder, "tokenizer"), vocab_size=3000,
        model_type="bpe", byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=0.9995,
        user_defined_symbols=SPECIALS + ["<think>", "</think>"], minloglevel=2)
    return spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dllm-bench", default=os.path.join(REPO, "build", "bin", "dllm-bench"))
    ap.add_argument("--keep", help="write the tokenizers and the corpus here instead of a temporary folder")
    a = ap.parse_args()
    if MISSING is not None:
        print(f"skipped: tokenizers not importable ({MISSING}); pip install tokenizers")
        sys.exit(77)
    if not os.access(a.dllm_bench, os.X_OK):
        sys.exit(f"tokenizer_parity: {a.dllm_bench} is not an executable (build first, or pass --dllm-bench)")
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or tmp
        os.makedirs(root, exist_ok=True)
        corpus_file = os.path.join(root, "corpus.txt")
        with open(corpus_file, "w", encoding="utf-8") as f:
            f.write("\n".join(CORPUS) + "\n")
        train_files = sorted(glob.glob("/usr/share/common-licenses/*")) + [corpus_file]
        train_files = [p for p in train_files if os.path.isfile(p)]
        failures = []
        for pipeline in ["gpt2", "llama3", "qwen2", "llama2", "metaspace", "gemma"]:
            folder = os.path.join(root, pipeline)
            os.makedirs(folder, exist_ok=True)
            tok = build(pipeline, train_files) if pipeline in ("gpt2", "llama3", "qwen2") else \
                build_spm(pipeline, train_files)
            tok.save(os.path.join(folder, "tokenizer.json"))
            tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))  # what dllm-bench reads
            found = check(a.dllm_bench, pipeline, folder, HfReference(pipeline, tok))
            print(f"{pipeline}: {len(CORPUS) + 1} texts (vocab {tok.get_vocab_size()}), {len(found)} failures")
            failures += found
        if importlib.util.find_spec("sentencepiece") is None:
            print("sentencepiece tokenizer.model: skipped (pip install sentencepiece)")
        else:
            folder = os.path.join(root, "sentencepiece")
            os.makedirs(folder, exist_ok=True)
            sp = train_sentencepiece(folder, train_files)
            found = check(a.dllm_bench, "sentencepiece", folder, SentencePieceReference(sp))
            print(f"sentencepiece tokenizer.model: {len(CORPUS) + 1} texts (vocab {sp.get_piece_size()}), "
                  f"{len(found)} failures")
            failures += found
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
