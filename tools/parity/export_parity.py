#!/usr/bin/env python3
"""The tokenizer `dllm-bench export` writes, against Hugging Face: for each exported folder,
transformers' AutoTokenizer (reading the generated tokenizer.json and tokenizer_config.json) and
`dllm-bench tokenize` give the same ids for every text of a multilingual corpus, the ids the byte
tokenizer gives (<bos>, then the UTF-8 bytes; special tokens' names excepted; NFC first for qwen2),
and transformers decodes them back to "<bos>" + the text. (hf_parity.py checks the same folders'
logits.)

    tools/parity/export_parity.py --dllm-bench build/bin/dllm-bench DIR [DIR ...]

Exit status: 0 all equal, 1 a difference or an error, 77 transformers not importable.
"""
import argparse
import json
import os
import subprocess
import sys
import unicodedata

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local folders only

TEXTS = [
    "",
    "The quick brown fox jumps over the lazy dog.",
    "h\u00e9llo w\u00f6rld, \u00e7a va? \u00dcber 1,234.56 \u20ac",
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0 \ud55c\uad6d\uc5b4 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0928\u092e\u0938\u094d\u0924\u0947",
    "emoji \U0001F600 \U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "e\u0301 a\u0308 combining marks",
    "  runs   of\tspaces\t\tand\n\nnewlines \r\n",
    "def f(x):\n    return x ** 2  # code",
    "special tokens in text: <bos> <eos> <mask> <pad>",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dllm-bench", default="build/bin/dllm-bench")
    ap.add_argument("folders", nargs="+")
    a = ap.parse_args()
    try:
        from transformers import AutoTokenizer
    except ImportError as e:
        print(f"skipped: {e} (pip install transformers)")
        return 77
    failed = 0
    for folder in a.folders:
        bad = 0
        hf = AutoTokenizer.from_pretrained(folder)
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        bos = config["bos_token_id"]
        # qwen2: NFC first (transformers' Qwen2Tokenizer; the generated file declares it too)
        form = (lambda t: unicodedata.normalize("NFC", t)) if config["model_type"] == "qwen2" else (lambda t: t)
        for text in TEXTS:
            ours = json.loads(subprocess.check_output(
                [a.dllm_bench, "tokenize", "--model", folder, "--text", text, "--json"]))["ids"]
            theirs = hf.encode(text)
            back = hf.decode(theirs)
            bytes_ids = [bos] + list(form(text).encode()) if "<" not in text else theirs
            if ours != theirs or theirs != bytes_ids or back != "<bos>" + form(text):
                bad += 1
                print(f"DIFF {folder}: {text!r}\n  dllm-bench {ours}\n  transformers {theirs} -> {back!r}")
        print(f"{folder}: {len(TEXTS)} texts, {'equal' if not bad else f'{bad} DIFFERENT'}")
        failed += bad
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
