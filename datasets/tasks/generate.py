#!/usr/bin/env python3
"""Deterministic task corpus for the tiny TiDAR model (byte-level).

Every document is `prompt + answer` followed by <eos> at training time. Prompts
are short ASCII strings ending in '='; answers are deterministic functions of
the prompt, mostly >= 16 bytes long and position-aligned with the prompt (copy,
reverse, uppercase, sort, repeat), so a one-step diffusion drafter can predict
many answer bytes in one forward. A minority of training documents are windows
of real English text (the Debian license texts) so the model is also a
(very small) language model.

Usage:
  python3 datasets/tasks/generate.py                 # writes heldout.jsonl
  python3 datasets/tasks/generate.py --dump-train 20 # prints training docs

The training stream is not stored: `training_docs(seed, step)` regenerates the
documents of any step from (seed, step), which also makes resuming trivial.
"""
import argparse
import hashlib
import json
import os
import random
import string

HERE = os.path.dirname(os.path.abspath(__file__))
HELDOUT_PATH = os.path.join(HERE, "heldout.jsonl")
HELDOUT_SEED = 1_000_003  # training seeds are small ints; this one never collides
HELDOUT_SIZE = 200

# Real text: the license texts of Debian's base-files package. Small (237 KB),
# plain ASCII English prose, present on every Debian system and stable across
# releases (unlike the Python stdlib, which changes with every patch version).
LICENSE_DIR = "/usr/share/common-licenses"

LOWER = string.ascii_lowercase
ALNUM = string.ascii_lowercase + string.digits
WORDS = ("the a of to and in is that for it as was with be by on not he this are or his from at which but have an they you "
         "were her she there one all we their been has when who will more no if out so said what up its about into than "
         "them can only other new some time could these two may then do first any my now such like our over man me even "
         "most made after also did many before must through back years where much your way well down should because each "
         "just those people how too little state good very make world still own see men work long get here between both "
         "life being under never day same another know while last might us great old year off come since against go came "
         "right used take three small large number program free software code copy source license").split()


def _string(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _sentence(rng, lo, hi):
    """Random lowercase words, total length in [lo, hi] bytes."""
    target = rng.randint(lo, hi)
    words = []
    while len(" ".join(words)) < target:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:target].rstrip()


def task_copy(rng):
    s = _string(rng, ALNUM, 8, 48)
    return f"copy {s}=", s


def task_reverse(rng):
    s = _string(rng, ALNUM, 8, 40)
    return f"reverse {s}=", s[::-1]


def task_upper(rng):
    s = _sentence(rng, 16, 56)
    return f"upper {s}=", s.upper()


def task_sort(rng):
    alphabet = rng.choice((string.digits, LOWER))
    s = _string(rng, alphabet, 12, 40)
    return f"sort {s}=", "".join(sorted(s))


def task_repeat(rng):
    s = _string(rng, ALNUM, 8, 24)
    return f"twice {s}=", s + s


def task_lookup(rng):
    """Key-value lookup: long values so the answer is a long span to copy."""
    n = rng.randint(3, 5)
    keys = rng.sample([a + b for a in LOWER for b in LOWER], n)
    values = [_string(rng, ALNUM, 16, 24) for _ in keys]
    query = rng.choice(keys)
    table = ",".join(f"{k}:{v}" for k, v in zip(keys, values))
    return f"lookup {table}?{query}=", values[keys.index(query)]


def task_add(rng):
    a = rng.randint(10**7, 10**16)
    b = rng.randint(10**7, 10**16)
    return f"add {a}+{b}=", str(a + b)


# category -> (generator, weight in the training stream)
TASKS = {
    "copy": (task_copy, 0.18),
    "reverse": (task_reverse, 0.14),
    "upper": (task_upper, 0.14),
    "sort": (task_sort, 0.14),
    "repeat": (task_repeat, 0.14),
    "lookup": (task_lookup, 0.14),
    "add": (task_add, 0.04),
}
TEXT_FRACTION = 0.12  # share of training documents that are real text


def load_text():
    """Concatenated license texts (regular files only; GPL etc. are symlinks)."""
    parts = []
    for name in sorted(os.listdir(LICENSE_DIR)):
        path = os.path.join(LICENSE_DIR, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                parts.append(f.read().decode("ascii", errors="replace"))
    return "\n".join(parts)


def text_sha256():
    return hashlib.sha256(load_text().encode()).hexdigest()


def sample_task(rng):
    names = list(TASKS)
    name = rng.choices(names, weights=[TASKS[n][1] for n in names])[0]
    prompt, answer = TASKS[name][0](rng)
    return name, prompt, answer


def training_docs(seed, step, n_bytes, text, exclude=frozenset()):
    """Documents (strings, no special tokens) totalling >= n_bytes for one step.

    Depends only on (seed, step) so any step can be regenerated on resume.
    Prompts listed in `exclude` (the held-out set) are never trained on.
    """
    rng = random.Random(f"train:{seed}:{step}")
    docs, total = [], 0
    while total < n_bytes:
        if rng.random() < TEXT_FRACTION:
            length = rng.randint(64, 256)
            start = rng.randrange(len(text) - length)
            doc = text[start:start + length]
        else:
            _, prompt, answer = sample_task(rng)
            if prompt in exclude:
                continue
            doc = prompt + answer
        docs.append(doc)
        total += len(doc) + 2  # + <bos>, <eos>
    return docs


def heldout(seed=HELDOUT_SEED, size=HELDOUT_SIZE):
    """Round-robin over categories so any prefix of the file is balanced."""
    rng = random.Random(f"heldout:{seed}")
    names = list(TASKS)
    rows = []
    for i in range(size):
        name = names[i % len(names)]
        prompt, answer = TASKS[name][0](rng)
        rows.append({"id": f"{name}-{i:04d}", "category": name, "prompt": prompt, "answer": answer})
    return rows


def load_heldout(path=HELDOUT_PATH):
    with open(path) as f:
        return [json.loads(line) for line in f]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HELDOUT_PATH)
    ap.add_argument("--dump-train", type=int, default=0, metavar="N",
                    help="print the first N training documents of --seed and exit")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.dump_train:
        docs = training_docs(args.seed, 0, 300 * args.dump_train, load_text())
        for d in docs[:args.dump_train]:
            print(json.dumps(d))
        return
    rows = heldout()
    with open(args.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {args.out}: {len(rows)} rows, sha256 {digest}")
    print(f"license text: {len(load_text())} chars, sha256 {text_sha256()}")


if __name__ == "__main__":
    main()
