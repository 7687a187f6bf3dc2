#!/usr/bin/env python3
"""Chat format parity with Hugging Face transformers: for each chat family a tokenizer folder is
written here (a byte-level BPE trained by tokenizer_parity.build, with the family's special tokens,
and the family's chat template, written in the structure of the released one), then every case of
one optional system turn and one user turn is rendered by `dllm-bench tokenize --chat` and by
transformers' apply_chat_template(messages, add_generation_prompt=True): text equal character for
character, ids equal token for token (Llama 3.2's dated block with today's date, and with a date
given). Also: a folder without a template takes --chat-format, and a template of no known family
(Mistral's [INST]) is refused, naming the file and --chat-format.

    tools/parity/chat_parity.py [--dllm-bench build/bin/dllm-bench] [--keep DIR]

Exit status: 0 all pass, 1 a mismatch or an error, 77 transformers or tokenizers not importable
(ctest's SKIP_RETURN_CODE).
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

# Local folders only: never let a typo turn into a Hub download (CI has no network).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
try:
    import transformers
    from tokenizers import AddedToken

    from tokenizer_parity import build
except ImportError as e:  # reported by main() as a skip, after --help has had its chance
    MISSING = e
else:
    MISSING = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Qwen3's template without its tool-call branches: the system turn only when given; the empty think
# block only with enable_thinking=False (dllm-bench matches enable_thinking left unset).
QWEN3 = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
"""

# Qwen2's: a default system turn when none is given, written inside the loop.
QWEN2 = """{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"""

# Qwen2.5's: a default system turn when none is given, in its own branch.
QWEN25 = """{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Llama 3 (Meta-Llama-3-8B-Instruct): BOS before the first turn, every content trimmed.
LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
          "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
          "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
          "{{ content }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")

# Llama 3.1 (without its tool-calling branches): a system turn always, opening with the knowledge
# date and date_string (a literal unless passed); contents trimmed.
LLAMA31_BODY = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""
LLAMA31 = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
""" + LLAMA31_BODY
# Llama 3.2: today's date from transformers' strftime_now.
LLAMA32 = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
""" + LLAMA31_BODY

# Gemma 3: the system text folded into the first user turn; user and model contents trimmed.
GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
"""

# Refused: no known family's markers (Mistral).
MISTRAL = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
           "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}"
           "{% endif %}{% endfor %}")

GEMMA_SPECIALS = ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"]

# name, tokenizer_parity pipeline, extra special tokens, tokenizer_config.json fields, template, its file
FAMILIES = [
    ("qwen3", "qwen2", [], {"eos_token": "<|im_end|>"}, QWEN3, "tokenizer_config.json"),
    ("qwen2", "qwen2", [], {"eos_token": "<|im_end|>"}, QWEN2, "tokenizer_config.json"),
    ("qwen2.5", "qwen2", [], {"eos_token": "<|im_end|>"}, QWEN25, "tokenizer_config.json"),
    ("llama3", "llama3", [], {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, LLAMA3,
     "tokenizer_config.json"),
    ("llama3.1", "llama3", [], {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, LLAMA31,
     "tokenizer_config.json"),
    ("llama3.2", "llama3", [], {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, LLAMA32,
     "chat_template.jinja"),
    ("gemma3", "gpt2", GEMMA_SPECIALS, {"bos_token": "<bos>", "eos_token": "<eos>"}, GEMMA3, "chat_template.jinja"),
]

# (system or None, user)
CASES = [
    (None, "Hello!"),
    ("You are a helpful assistant.", "What is 2 + 2?"),
    ("", "An empty system turn is still a turn."),
    ("You are terse.", ""),
    ("  Padded system\n\n", "\u3000 padded user \t\n\u00a0"),
    (None, "\x1f\u2028 edge whitespace \u200b"),
    ("Réponds en français. 日本語で答えて。", "👩‍👩‍👧‍👦 family, e\u0301, Привет\nline two\n\n"),
    ("System text with <|im_start|> and <start_of_turn> inside", "user says <|eot_id|> then <end_of_turn>"),
    ("def f(x):\n    return x  # code", "{\"json\": [1, 2]}\r\n\ttabs"),
]


def write_family(root, name, tok, config, template, template_file):
    """The tokenizer folder of one family: tokenizer.json, tokenizer_config.json, the template."""
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    tok.save(os.path.join(folder, "tokenizer.json"))
    config = dict(config, tokenizer_class="PreTrainedTokenizerFast")
    if template_file == "chat_template.jinja":
        with open(os.path.join(folder, template_file), "w", encoding="utf-8") as f:
            f.write(template)
    else:
        config["chat_template"] = template
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
    return folder


def dllm_chat(exe, folder, system, user, *extra):
    """dllm-bench tokenize --chat's JSON; (exit code, JSON or the error text)."""
    args = [exe, "tokenize", "--model", folder, "--chat", b"--user=" + user.encode(), "--json", *extra]
    if system is not None:
        args.append(b"--system=" + system.encode())
    r = subprocess.run(args, capture_output=True)
    if r.returncode != 0:
        return r.returncode, r.stderr.decode(errors="replace")
    return 0, json.loads(r.stdout)


def hf_chat(tok, system, user, **template_vars):
    """transformers' (text, ids) of the messages with the generation prompt."""
    messages = ([{"role": "system", "content": system}] if system is not None else []) + [
        {"role": "user", "content": user}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **template_vars)
    ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, **template_vars)
    return text, list(ids["input_ids"] if hasattr(ids, "keys") else ids)


def check_family(exe, name, tok, folder, extra=(), template_vars=None):
    """Failures of dllm-bench on `folder` against transformers' `tok` over the cases (empty when all
    agree), and the number of cases run."""
    failures, cases = [], CASES
    for system, user in cases:
        want_text, want_ids = hf_chat(tok, system, user, **(template_vars or {}))
        rc, got = dllm_chat(exe, folder, system, user, *extra)
        if rc != 0:
            failures.append(f"{name}: {(system, user)!r} failed: {got}")
        elif got["text"] != want_text:
            failures.append(f"{name}: {(system, user)!r}: text dllm-bench {got['text']!r}, transformers {want_text!r}")
        elif got["ids"] != want_ids:
            at = next((i for i, (a, b) in enumerate(zip(got["ids"], want_ids)) if a != b),
                      min(len(got["ids"]), len(want_ids)))
            failures.append(f"{name}: {(system, user)!r}: ids differ from index {at}: dllm-bench "
                            f"{got['ids'][at:at + 8]} transformers {want_ids[at:at + 8]}")
    return failures, len(cases)


def expect_refusal(exe, folder, phrases, what):
    """A failure unless `tokenize --chat` on the folder exits non-zero naming every phrase."""
    rc, err = dllm_chat(exe, folder, "s", "u")
    if rc != 0 and all(p in err for p in phrases):
        return []
    return [f"{what}: expected an error naming {phrases}, got exit {rc}: {err!r}"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dllm-bench", default=os.path.join(REPO, "build", "bin", "dllm-bench"))
    ap.add_argument("--keep", help="write the tokenizer folders here instead of a temporary folder")
    a = ap.parse_args()
    if MISSING is not None:
        print(f"skipped: transformers or tokenizers not importable ({MISSING}); pip install transformers tokenizers")
        sys.exit(77)
    if not os.access(a.dllm_bench, os.X_OK):
        sys.exit(f"chat_parity: {a.dllm_bench} is not an executable (build first, or pass --dllm-bench)")
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or tmp
        os.makedirs(root, exist_ok=True)
        train_files = [p for p in sorted(glob.glob("/usr/share/common-licenses/*")) if os.path.isfile(p)]
        tokenizers = {}
        failures = []
        for name, pipeline, specials, config, template, template_file in FAMILIES:
            if pipeline not in tokenizers:
                tokenizers[pipeline] = build(pipeline, train_files)
            tok = tokenizers[pipeline]
            tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
            folder = write_family(root, name, tok, config, template, template_file)
            hf = transformers.AutoTokenizer.from_pretrained(folder)
            found, n = check_family(a.dllm_bench, name, hf, folder)
            print(f"{name}: {n} chats ({template_file}), {len(found)} failures")
            failures += found
        # The gemma folder without its template: refused, or the format named; transformers given the
        # template as an argument.
        gemma = os.path.join(root, "gemma3")
        os.remove(os.path.join(gemma, "chat_template.jinja"))
        found = expect_refusal(a.dllm_bench, gemma, [gemma + " has no chat template", "--chat-format"], "no template")
        hf = transformers.AutoTokenizer.from_pretrained(gemma, chat_template=GEMMA3)
        found += check_family(a.dllm_bench, "gemma3 --chat-format", hf, gemma, ["--chat-format", "gemma"])[0]
        # A date given: --chat-date as transformers' date_string.
        date = "05 May 2025"
        hf = transformers.AutoTokenizer.from_pretrained(os.path.join(root, "llama3.2"))
        found += check_family(a.dllm_bench, "llama3.2 --chat-date", hf, os.path.join(root, "llama3.2"),
                              ["--chat-date", date], {"date_string": date})[0]
        for name, template, phrases in [("mistral", MISTRAL, ["of no family", "--chat-format"])]:
            folder = write_family(root, name, tokenizers["llama3"], {"bos_token": "<|begin_of_text|>"}, template,
                                  "tokenizer_config.json")
            found += expect_refusal(a.dllm_bench, folder, [folder + "/tokenizer_config.json"] + phrases, name)
        print(f"named format and refused templates: {len(found)} failures")
        failures += found
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
