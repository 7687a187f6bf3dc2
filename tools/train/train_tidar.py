#!/usr/bin/env python3
"""Train a tiny model with the TiDAR objective (CPU, one thread): Qwen3 or ZAYA1 architecture.

Model (--arch qwen3, default): plain PyTorch with exactly Hugging Face Qwen3 semantics and
tensor names (RMSNorm pre-norm, per-head q/k RMSNorm before NeoX RoPE, GQA, SwiGLU, tied
embeddings), so the export loads in transformers' Qwen3ForCausalLM and in the engine's dense
model. --arch zaya: ZAYA1 (CCA attention + top-1 MoE with the ZAYA router) as transformers'
ZayaForCausalLM, in tools/train/zaya_torch.py; the recurrent CCA state (conv inputs, value
shift) of a mask block continues from the last clean token before it, as in the engine.

Objective (TiDAR's, balanced alpha = 1, block size K = 16):
  input = [x_0..x_{S-1} | M..M] with the mask copy at the SAME RoPE positions;
  clean half causal; mask block b (positions Kb..Kb+K-1) sees clean positions
  < Kb and its own K masks (bidirectional); mask at position i predicts x_i.
  loss = 0.5 * (AR next-token CE on the clean half + diffusion CE on the masks).

Tokens: bytes 0..255, 256 <bos>, 257 <eos>, 258 <mask>, 259 <pad>; vocab 264.
See tools/train/README.md for the command line and how to resume.
"""
import argparse
import csv
import importlib.util
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import zaya_torch
from zaya_torch import RMSNorm  # the same HF RMSNorm in both architectures

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOS, EOS, MASK, PAD, VOCAB = 256, 257, 258, 259, 264


def load_generator():
    """Import datasets/tasks/generate.py by path ("datasets" clashes with the HF package)."""
    spec = importlib.util.spec_from_file_location("task_generate", os.path.join(REPO, "datasets/tasks/generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


# ----------------------------------------------------------------------------- model

def rope_tables(positions, head_dim, theta):
    """cos/sin of shape (T, head_dim) in HF layout (frequencies repeated twice)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def dense_attention(mask):
    """Attention with an explicit boolean (T, T) mask (True = may attend); None = causal."""
    def attend(q, k, v):
        if mask is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attend


def tidar_attention(S, K):
    """Block-sparse attention for the training layout [clean S | masks S].

    The clean half is plain causal attention. A mask query only ever sees the
    clean keys (block-causal, strictly before its block) and the K keys of its own
    block, so instead of a dense 2S x 2S mask we score it against S + K keys:
    about half the work of the dense layout.
    """
    nb = S // K
    block_start = torch.arange(S) // K * K
    clean_visible = torch.arange(S)[None, :] < block_start[:, None]  # (S, S)

    def attend(q, k, v):
        B, H, _, D = q.shape
        scale = D ** -0.5
        qc, qm = q[:, :, :S], q[:, :, S:]
        kc, km = k[:, :, :S], k[:, :, S:]
        vc, vm = v[:, :, :S], v[:, :, S:]
        out_clean = F.scaled_dot_product_attention(qc, kc, vc, is_causal=True)
        s_clean = (qm @ kc.transpose(-1, -2)) * scale
        s_clean = s_clean.masked_fill(~clean_visible, float("-inf"))
        qb, kb, vb = (t.reshape(B, H, nb, K, D) for t in (qm, km, vm))
        s_own = ((qb @ kb.transpose(-1, -2)) * scale).reshape(B, H, S, K)
        p = torch.softmax(torch.cat((s_clean, s_own), dim=-1), dim=-1)
        p_own = p[..., S:].reshape(B, H, nb, K, K)
        out_mask = p[..., :S] @ vc + (p_own @ vb).reshape(B, H, S, D)
        return torch.cat((out_clean, out_mask), dim=2)
    return attend


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, d = cfg["hidden_size"], cfg["head_dim"]
        self.nq, self.nkv, self.d = cfg["num_attention_heads"], cfg["num_key_value_heads"], d
        self.q_proj = nn.Linear(h, self.nq * d, bias=False)
        self.k_proj = nn.Linear(h, self.nkv * d, bias=False)
        self.v_proj = nn.Linear(h, self.nkv * d, bias=False)
        self.o_proj = nn.Linear(self.nq * d, h, bias=False)
        self.q_norm = RMSNorm(d, cfg["rms_norm_eps"])
        self.k_norm = RMSNorm(d, cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, attend):
        B, T, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(B, T, self.nq, self.d)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(B, T, self.nkv, self.d)).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.d).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.nq // self.nkv  # GQA: kv head j serves query heads j*rep .. j*rep+rep-1 (HF repeat_kv)
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        out = attend(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.nq * self.d))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, attend):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, attend)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class Qwen3(nn.Module):
    """Qwen3ForCausalLM with tied embeddings; state_dict keys are the HF names."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, positions, attend, prev=None):
        """ids (B, T), positions (T,), attend from dense_attention/tidar_attention -> logits (B, T, V).
        prev (recurrent predecessors, for zaya) is unused: the dense model has no recurrent state."""
        cos, sin = rope_tables(positions, self.cfg["head_dim"], self.cfg["rope_theta"])
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, attend)
        return self.model.norm(x) @ self.model.embed_tokens.weight.T


def model_config(args):
    if args.arch == "zaya":
        return zaya_torch.zaya_config(
            args.hidden, args.layers, args.heads, args.kv_heads, args.head_dim, args.moe_intermediate,
            args.experts, args.router_hidden, VOCAB, args.block, (BOS, EOS, MASK, PAD),
            rope_theta=args.rope_theta, partial_rotary=args.partial_rotary)
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "hidden_size": args.hidden,
        "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.head_dim,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "max_position_embeddings": 1024,
        "vocab_size": VOCAB,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "hidden_act": "silu",
        "torch_dtype": "float32",
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "pad_token_id": PAD,
        "mask_token_id": MASK,
        "block_size": args.block,
        "dllm_tokenizer": "bytes",
    }


def build_model(cfg):
    return zaya_torch.Zaya(cfg) if cfg["model_type"] == "zaya" else Qwen3(cfg)


def load_export(model_dir):
    from safetensors.torch import load_file
    with open(os.path.join(model_dir, "config.json")) as f:
        model = build_model(json.load(f))
    model.load_state_dict(load_file(os.path.join(model_dir, "model.safetensors")))
    return model.eval()


def is_moe(model):
    return hasattr(model, "moe_layers")


# ----------------------------------------------------------------------------- data

def encode_doc(doc):
    return [BOS] + list(doc.encode("ascii", errors="replace")) + [EOS]


def make_batch(seed, step, batch, S, text, exclude):
    """(batch, S) token rows for one step; each row starts at a document boundary."""
    docs = gen.training_docs(seed, step, batch * S * 2, text, exclude)
    rows, it = [], iter(docs)
    for _ in range(batch):
        row = []
        while len(row) < S:
            row += encode_doc(next(it))
        rows.append(row[:S])
    return torch.tensor(rows, dtype=torch.long)


# ----------------------------------------------------------------------------- objective

def tidar_loss(model, x, K):
    """Returns (ar_loss, diff_loss) for clean rows x of shape (B, S)."""
    B, S = x.shape
    inp = torch.cat((x, torch.full_like(x, MASK)), dim=1)
    positions = torch.arange(S).repeat(2)  # the mask copy reuses positions 0..S-1
    logits = model(inp, positions, tidar_attention(S, K), zaya_torch.tidar_prev(S, K))
    ar = F.cross_entropy(logits[:, :S - 1].reshape(-1, VOCAB), x[:, 1:].reshape(-1))
    diff = F.cross_entropy(logits[:, S:].reshape(-1, VOCAB), x.reshape(-1))
    return ar, diff


def lr_at(step, progress, args):
    """Linear warmup over steps, then cosine over `progress` in [0, 1] down to min_lr_frac * lr."""
    warm = min(1.0, (step + 1) / args.warmup)
    return args.lr * warm * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress)))


# ----------------------------------------------------------------------------- eval

def causal_logits(model, seq):
    ids = torch.tensor([seq])
    return model(ids, torch.arange(len(seq)), dense_attention(None))[0]


def ar_greedy(model, prompt, max_new):
    seq, out = list(prompt), []
    for _ in range(max_new):
        tok = int(causal_logits(model, seq)[-1].argmax())
        out.append(tok)
        seq.append(tok)
        if tok == EOS:
            break
    return out


def draft(model, seq, K):
    """Draft forward [.. c, M x K]: prefix+c causal, masks see prefix+c and all K masks."""
    L = len(seq)
    T = L + K
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    mask[L:, :] = True
    logits = model(torch.tensor([seq + [MASK] * K]), torch.arange(T), dense_attention(mask))[0]
    return logits[L:].argmax(-1).tolist()


def tidar_greedy(model, prompt, max_new, K):
    """Lossless greedy two-forward TiDAR. Returns (tokens, committed-per-verify-forward list)."""
    seq = list(prompt)
    c = int(causal_logits(model, seq)[-1].argmax())  # prefill gives the first token
    seq.append(c)
    out, per_step = [c], []
    while c != EOS and len(out) < max_new:
        drafts = draft(model, seq, K)
        ar_next = causal_logits(model, seq + drafts)[len(seq) - 1:].argmax(-1).tolist()
        n = 0
        while n < K and drafts[n] == ar_next[n]:
            n += 1
        committed = (drafts[:n] + [ar_next[n]])[:max_new - len(out)]
        if EOS in committed:
            committed = committed[:committed.index(EOS) + 1]
        per_step.append(len(committed))
        out += committed
        seq += committed
        c = committed[-1]
    return out, per_step


@torch.no_grad()
def evaluate(model, rows, K):
    """Greedy AR exact-match accuracy and TiDAR tokens per (verify) forward."""
    model.eval()
    correct, mismatches, steps, tokens = {}, 0, 0, 0
    for r in rows:
        prompt = [BOS] + list(r["prompt"].encode())
        target = list(r["answer"].encode()) + [EOS]
        max_new = len(target) + 8
        ar = ar_greedy(model, prompt, max_new)
        td, per_step = tidar_greedy(model, prompt, max_new, K)
        correct.setdefault(r["category"], []).append(ar == target)
        mismatches += td != ar
        steps += len(per_step)
        tokens += sum(per_step)
    model.train()
    acc = sum(sum(v) for v in correct.values()) / len(rows)
    by_cat = {k: sum(v) / len(v) for k, v in correct.items()}
    return acc, tokens / max(1, steps), mismatches, by_cat


# ----------------------------------------------------------------------------- checkpoint / export

def export(model, out_dir):
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(model.cfg, f, indent=2)
        f.write("\n")


def save_checkpoint(path, model, opt, step, tokens, elapsed, progress, schedule_start):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "cfg": model.cfg, "step": step,
                "tokens": tokens, "elapsed": elapsed, "progress": progress, "schedule_start": schedule_start}, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint behind


def check_hf(model_dir):
    """Load the export in transformers and compare logits with our module.

    For zaya, transformers resets the skip route's balancing bias to -1 after loading; the trainer
    keeps it at -1, and the checkpoint's balancing-bias buffers are restored anyway (as
    tools/parity/hf_parity.py does) and reported if they differ from what transformers loaded."""
    from safetensors.torch import load_file
    import transformers
    ours = load_export(model_dir)
    cls = transformers.ZayaForCausalLM if ours.cfg["model_type"] == "zaya" else transformers.Qwen3ForCausalLM
    hf, info = cls.from_pretrained(model_dir, output_loading_info=True, attn_implementation="eager")
    hf.eval()
    print("hf loading info:", info)
    buffers = dict(hf.named_buffers())
    changed = 0
    with torch.no_grad():
        for key, value in load_file(os.path.join(model_dir, "model.safetensors")).items():
            if key in buffers:
                changed += not torch.equal(buffers[key], value)
                buffers[key].copy_(value)
    print(f"checkpoint buffers transformers had overwritten on load: {changed}")
    torch.manual_seed(0)
    ids = torch.randint(0, 260, (2, 97))
    ids[:, 0] = BOS
    with torch.no_grad():
        ref = hf(ids).logits
        got = ours(ids, torch.arange(97), dense_attention(None))
    diff = (ref - got).abs().max().item()
    print(f"max |logits diff| ours vs HF: {diff:.3e} (max |logit| {ref.abs().max().item():.2f})")
    ok = diff < 1e-4 and not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    print("HF check", "OK" if ok else "FAILED")
    return ok


@torch.no_grad()
def heldout_loss(model_dir):
    """AR cross-entropy of an export on the held-out documents: all next-token targets, and answer + <eos>."""
    model = load_export(model_dir)
    rows = gen.load_heldout()
    total = answer = 0.0
    n_total = n_answer = 0
    for r in rows:
        doc = encode_doc(r["prompt"] + r["answer"])
        nll = F.cross_entropy(causal_logits(model, doc[:-1]), torch.tensor(doc[1:]), reduction="none")
        n_prompt = 1 + len(r["prompt"])  # <bos> + prompt bytes; targets from there on are answer + <eos>
        total += nll.sum().item()
        answer += nll[n_prompt - 1:].sum().item()
        n_total += len(nll)
        n_answer += len(nll) - (n_prompt - 1)
    print(f"held-out AR loss over {len(rows)} documents: {total / n_total:.4f} nats/token ({n_total} tokens), "
          f"answer + <eos> only: {answer / n_answer:.4f} nats/token ({n_answer} tokens)")


@torch.no_grad()
def expert_usage(model_dir):
    """Router choices of an export on the 200 held-out documents (causal forward): the fraction of
    tokens per expert and for the skip route, per layer and over all layers."""
    model = load_export(model_dir)
    assert is_moe(model), "not an MoE checkpoint"
    E = model.cfg["num_experts"]
    counts = torch.zeros(model.cfg["num_hidden_layers"], E + 1, dtype=torch.long)
    for r in gen.load_heldout():
        causal_logits(model, encode_doc(r["prompt"] + r["answer"]))
        counts += torch.stack([m.counts for m in model.moe_layers()])
    frac = counts.double() / counts.sum(1, keepdim=True)
    result = {"tokens_per_layer": int(counts[0].sum()), "classes": [str(e) for e in range(E)] + ["skip"],
              "per_layer": [[round(v, 4) for v in row.tolist()] for row in frac],
              "all_layers": [round(v, 4) for v in (counts.sum(0).double() / counts.sum()).tolist()]}
    for i, row in enumerate(frac):
        entropy = -(row[row > 0] * row[row > 0].log()).sum().item()
        print(f"layer {i}: max share {row[:E].max().item():.3f}, min share {row[:E].min().item():.3f}, "
              f"skip {row[E].item():.3f}, perplexity of the load {math.exp(entropy):.2f} of {E}")
    print(json.dumps(result))
    return result


def moe_summary(model):
    """The last training forward's routing per layer: max expert share / skip share / effective
    number of experts (exp of the entropy of the load; 16 = perfectly even, 1 = one expert)."""
    parts = []
    for moe in model.moe_layers():
        c = moe.counts.double() / moe.counts.sum()
        nz = c[c > 0]
        parts.append(f"{c[:-1].max().item():.2f}/{c[-1].item():.2f}/{math.exp(-(nz * nz.log()).sum().item()):.1f}")
    return "moe max/skip/eff " + " ".join(parts)


def check_tidar_layout(cfg, S=64, K=16):
    """Start-up self-check of the training forward (block-sparse attention, recurrent predecessors):
    - it equals the same layout under the dense 2S x 2S mask;
    - its clean half equals a plain causal forward of the clean sequence;
    - each mask block b equals the direct draft forward [x_0..x_{Kb-1}, <mask> x K] (prefix causal,
      masks see the prefix and each other; recurrent state along the plain causal chain), which is
      what the engine and the evaluation below compute."""
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(50)  # logits of size ~10, so a wrong wiring shows
        if is_moe(model):  # nonzero balancing biases, so the check covers them
            for moe in model.moe_layers():
                moe.gate.balancing_biases[:-1] = 0.01 * torch.randn(cfg["num_experts"])
    model.eval()
    x = torch.randint(0, 256, (2, S))
    inp = torch.cat((x, torch.full_like(x, MASK)), dim=1)
    pos = torch.arange(S).repeat(2)
    prev = zaya_torch.tidar_prev(S, K)
    i = torch.arange(2 * S)
    qi, kj = i[:, None], i[None, :]
    clean_q, clean_k = qi < S, kj < S
    q_block, k_block = (qi - S) // K, (kj - S) // K
    dense = (clean_q & clean_k & (kj <= qi)) \
        | (~clean_q & clean_k & (kj < q_block * K)) \
        | (~clean_q & ~clean_k & (q_block == k_block))
    with torch.no_grad():
        a = model(inp, pos, tidar_attention(S, K), prev)
        b = model(inp, pos, dense_attention(dense), prev)
        scale = a.abs().max().item()
        diff = (a - b).abs().max().item()
        assert diff < 1e-5 * scale, f"block-sparse attention differs from dense mask: {diff}"
        clean = model(x, torch.arange(S), dense_attention(None))
        diff = (a[:, :S] - clean).abs().max().item()
        assert diff < 1e-5 * scale, f"clean half differs from a plain causal forward: {diff}"
        worst = 0.0
        for blk in range(S // K):
            L = blk * K
            m = torch.ones(L + K, L + K, dtype=torch.bool).tril()
            m[L:, :] = True
            direct = model(torch.cat((x[:, :L], torch.full((2, K), MASK)), dim=1), torch.arange(L + K),
                           dense_attention(m))
            worst = max(worst, (a[:, S + L:S + L + K] - direct[:, L:]).abs().max().item())
        assert worst < 1e-5 * scale, f"a mask block differs from its direct draft forward: {worst}"
    print(f"self-check OK ({cfg['model_type']}): block-sparse = dense mask, clean half = causal forward, "
          f"mask blocks = direct draft forwards (max diff {worst:.1e}, max |logit| {scale:.1f})", flush=True)


# ----------------------------------------------------------------------------- main loop

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arch", choices=("qwen3", "zaya"), default="qwen3")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=32)
    ap.add_argument("--intermediate", type=int, default=384)
    ap.add_argument("--experts", type=int, default=16, help="zaya: routed experts (plus the skip route)")
    ap.add_argument("--moe-intermediate", type=int, default=128, help="zaya: expert FFN width")
    ap.add_argument("--router-hidden", type=int, default=64, help="zaya: router width")
    ap.add_argument("--rope-theta", type=float, default=10000.0, help="zaya: RoPE theta")
    ap.add_argument("--partial-rotary", type=float, default=0.5, help="zaya: rotary fraction of head_dim")
    ap.add_argument("--bias-update-rate", type=float, default=1e-3,
                    help="zaya: aux-loss-free balancing; each step every expert's balancing bias moves by "
                         "this towards the mean load (0 = biases stay 0)")
    ap.add_argument("--block", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256, help="clean sequence length S (multiple of --block)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10000, help="planned steps (sets the cosine schedule)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="wall-clock budget of this invocation; if the machine is slower than planned the "
                         "schedule follows the clock instead of --steps so the run still anneals and ends in time")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every-min", type=float, default=10.0, help="eval + checkpoint + export period")
    ap.add_argument("--eval-prompts", type=int, default=49)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="default tools/train/out (qwen3), tools/train/out/zaya (zaya)")
    ap.add_argument("--export-dir", default=None, help="default models/tiny-tidar (qwen3), models/tiny-tidar-zaya")
    ap.add_argument("--resume", action="store_true", help="continue from <out>/ckpt.pt")
    ap.add_argument("--new-schedule", action="store_true",
                    help="with --resume: keep the weights and optimizer state but start a fresh cosine schedule "
                         "(--steps, --minutes and --lr from now; no warmup): more training after a finished run")
    ap.add_argument("--check-hf", metavar="DIR", help="only compare an export with transformers and exit")
    ap.add_argument("--heldout-loss", metavar="DIR", help="only print an export's AR loss on the held-out set")
    ap.add_argument("--expert-usage", metavar="DIR", help="only print an MoE export's routing on the held-out set")
    args = ap.parse_args()
    zaya = args.arch == "zaya"
    if args.out is None:
        args.out = os.path.join(REPO, "tools/train/out/zaya" if zaya else "tools/train/out")
    if args.export_dir is None:
        args.export_dir = os.path.join(REPO, "models/tiny-tidar-zaya" if zaya else "models/tiny-tidar")
    return args


def make_optimizer(model, args):
    """AdamW; no weight decay on norm gains (1-D)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=args.lr, betas=(0.9, 0.95), eps=1e-8)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    if args.check_hf:
        sys.exit(0 if check_hf(args.check_hf) else 1)
    if args.heldout_loss:
        heldout_loss(args.heldout_loss)
        return
    if args.expert_usage:
        expert_usage(args.expert_usage)
        return
    assert args.seq % args.block == 0

    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    cfg = model_config(args)
    check_tidar_layout(cfg, K=args.block)

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    model = build_model(cfg)
    opt = make_optimizer(model, args)
    step, tokens, elapsed_before, progress_before = 0, 0, 0.0, 0.0
    schedule_start = 0  # the step the cosine schedule counts from
    if args.resume:
        ck = torch.load(ckpt_path, weights_only=False)
        assert ck["cfg"] == cfg, "checkpoint was trained with a different model config"
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, tokens, elapsed_before, progress_before = ck["step"], ck["tokens"], ck["elapsed"], ck["progress"]
        schedule_start = ck.get("schedule_start", 0)
        print(f"resumed at step {step} ({tokens} tokens)")
    if args.new_schedule:
        assert args.resume, "--new-schedule continues a checkpoint: give --resume"
        schedule_start, progress_before = step, 0.0
        print(f"a new schedule from step {step}: {args.steps} steps, peak lr {args.lr}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config {json.dumps(cfg)}\nparams {n_params}", flush=True)
    moe = is_moe(model) and args.bias_update_rate > 0

    text = gen.load_text()
    heldout = gen.load_heldout()
    exclude = frozenset(r["prompt"] for r in heldout)
    eval_rows = heldout[:args.eval_prompts]

    mode = "a" if args.resume else "w"
    loss_f = open(os.path.join(args.out, "loss.csv"), mode, newline="")
    eval_f = open(os.path.join(args.out, "eval.csv"), mode, newline="")
    loss_csv, eval_csv = csv.writer(loss_f), csv.writer(eval_f)
    if not args.resume:
        loss_csv.writerow(["step", "tokens", "ar_loss", "diff_loss", "lr", "elapsed"])
        eval_csv.writerow(["step", "tokens", "ar_accuracy", "tidar_tokens_per_forward", "lossless_mismatches",
                           "elapsed", "accuracy_by_category"])

    def checkpoint_and_eval(elapsed, progress):
        save_checkpoint(ckpt_path, model, opt, step, tokens, elapsed, progress, schedule_start)
        export(model, args.export_dir)
        t0 = time.time()
        acc, tpf, mism, by_cat = evaluate(model, eval_rows, args.block)
        cats = " ".join(f"{k}={v:.2f}" for k, v in by_cat.items())
        print(f"eval step {step} tokens {tokens}: AR accuracy {acc:.3f} TiDAR tokens/forward {tpf:.2f} "
              f"lossless mismatches {mism}/{len(eval_rows)} [{cats}] ({time.time() - t0:.0f}s)", flush=True)
        eval_csv.writerow([step, tokens, f"{acc:.4f}", f"{tpf:.3f}", mism, f"{elapsed:.1f}", json.dumps(by_cat)])
        eval_f.flush()

    start = time.time()
    last_eval = start
    budget = args.minutes * 60 if args.minutes else float("inf")

    def progress_now():
        """Schedule position: planned steps, or the clock when that is further along.

        On resume the clock part continues from the checkpoint's progress and reaches 1
        at the end of this invocation's budget.
        """
        by_clock = progress_before + (1 - progress_before) * (time.time() - start) / budget
        return min(1.0, max((step - schedule_start) / args.steps, by_clock))

    window = []
    progress = progress_now()
    while progress < 1.0:
        lr = lr_at(step, progress, args)
        for g in opt.param_groups:
            g["lr"] = lr
        x = make_batch(args.seed, step, args.batch, args.seq, text, exclude)
        ar, diff = tidar_loss(model, x, args.block)
        loss = 0.5 * (ar + diff)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if moe:
            zaya_torch.update_balancing_biases(model, args.bias_update_rate)
        step += 1
        tokens += x.numel()
        window.append((ar.item(), diff.item()))
        elapsed = elapsed_before + time.time() - start
        progress = progress_now()
        if step % args.log_every == 0:
            a = sum(w[0] for w in window) / len(window)
            d = sum(w[1] for w in window) / len(window)
            window.clear()
            loss_csv.writerow([step, tokens, f"{a:.4f}", f"{d:.4f}", f"{lr:.3e}", f"{elapsed:.1f}"])
            loss_f.flush()
            print(f"step {step} tokens {tokens} ar {a:.4f} diff {d:.4f} lr {lr:.2e} progress {progress:.3f} "
                  f"elapsed {elapsed:.0f}s ({tokens / elapsed:.0f} tok/s)"
                  + (f" {moe_summary(model)}" if is_moe(model) else ""), flush=True)
        if time.time() - last_eval > args.eval_every_min * 60:
            checkpoint_and_eval(elapsed, progress)
            last_eval = time.time()
    checkpoint_and_eval(elapsed_before + time.time() - start, progress)
    print(f"done: step {step}, {tokens} tokens, exported to {args.export_dir}", flush=True)


if __name__ == "__main__":
    main()
