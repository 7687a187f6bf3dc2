"""A tiny ZAYA1 (CCA attention + top-1 MoE with the ZAYA router) in plain PyTorch, for training.

Semantics and tensor names are Hugging Face transformers' ZayaForCausalLM (model_type `zaya`,
transformers 5.24; engine/model/zaya.md), so the export loads there and in the engine unchanged:

- input: (embed + input_hidden_states_bias) * input_hidden_states_scale, fp32 residual stream;
- per layer: RMSNorm -> CCA attention -> residual merge with learned scale/bias on both sides ->
  RMSNorm -> MoE -> residual merge; final RMSNorm; logits = hidden @ embed^T (tied);
- CCA: q/k projections, the q/k mean term ("residual"), two causal kernel-2 convolutions over
  [q;k] with bias (depthwise, then dense within each head), L2 norm of q and k to sqrt(Dh), k times
  the per-kv-head temperature, partial NeoX RoPE, GQA; value = [W_v x(t) ; W_v2 x(prev)];
- router: down_proj (+ previous layer's router state times router_states_scale), RMSNorm, two
  GELU layers, out_proj to E+1 classes (class E = skip route, output 0); balancing biases change
  only the choice; the weight is the unbiased probability of the chosen class (not renormalised);
- experts: SwiGLU with gate_up_proj [E, 2F, D] (gate rows first) and down_proj [E, D, F].

Recurrence: the conv and the value shift read each token's recurrent predecessor. `prev` (a (T,)
long tensor, -1 = none = zero input) names it, so one forward can hold several chains: the TiDAR
training layout [clean S | mask S] gives mask block b the chain clean[Kb-2], clean[Kb-1],
mask[Kb], mask[Kb+1], ... exactly as the engine's PassToken::prev. prev=None is the plain causal
chain (t-1), which is what transformers computes without a cache: zeros before the start, so the
first token's depthwise output for t-1 is the depthwise bias alone (bias on the zero padding).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def zaya_config(hidden, layers, heads, kv_heads, head_dim, moe_intermediate, experts, router_hidden,
                vocab, block, ids, rope_theta=10000.0, partial_rotary=0.5, rms_eps=1e-5):
    """config.json of a zaya checkpoint in transformers 5's layout (plus the dllm-bench fields)."""
    bos, eos, mask, pad = ids
    return {
        "architectures": ["ZayaForCausalLM"],
        "model_type": "zaya",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "moe_intermediate_size": moe_intermediate,
        "num_experts": experts,
        "num_experts_per_tok": 1,
        "router_hidden_size": router_hidden,
        "cca_time0": 2,
        "cca_time1": 2,
        "layer_types": ["hybrid"] * layers,
        "rope_parameters": {"hybrid": {"rope_type": "default", "rope_theta": rope_theta,
                                       "partial_rotary_factor": partial_rotary}},
        "rms_norm_eps": rms_eps,
        "max_position_embeddings": 2048,
        "vocab_size": vocab,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "lm_head_bias": False,
        "hidden_act": "silu",
        "dtype": "float32",
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": pad,
        "mask_token_id": mask,
        "block_size": block,
        "dllm_tokenizer": "bytes",
        "zaya_skip_route": "zero",
    }


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def gather_prev(x, prev, none_row):
    """x (B, T, C) -> x at each token's predecessor; prev == -1 gives none_row (C,)."""
    B, T, C = x.shape
    padded = torch.cat((x, none_row.view(1, 1, C).expand(B, 1, C)), dim=1)
    return padded[:, torch.where(prev < 0, T, prev)]


class CCAProjection(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, Dh = cfg["hidden_size"], cfg["head_dim"]
        self.nq, self.nkv, self.dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], Dh
        C = (self.nq + self.nkv) * Dh
        self.q_proj = nn.Linear(D, self.nq * Dh, bias=False)
        self.k_proj = nn.Linear(D, self.nkv * Dh, bias=False)
        self.v_proj_current = nn.Linear(D, self.nkv * Dh // 2, bias=False)
        self.v_proj_delayed = nn.Linear(D, self.nkv * Dh // 2, bias=False)
        # Parameter shapes as nn.Conv1d (HF names); the forward applies them through `prev`.
        self.conv_qk_depthwise = nn.Conv1d(C, C, 2, groups=C)
        self.conv_qk_grouped = nn.Conv1d(C, C, 2, groups=self.nq + self.nkv)

    def forward(self, h, prev):
        B, T, _ = h.shape
        G, Dh = self.nq + self.nkv, self.dh
        q, k = self.q_proj(h), self.k_proj(h)
        # q/k mean term: (q + k of its kv head) / 2 per query head; k's is the mean over its group.
        rep = self.nq // self.nkv
        q_res = (q.view(B, T, self.nq, Dh) + k.view(B, T, self.nkv, 1, Dh).expand(B, T, self.nkv, rep, Dh)
                 .reshape(B, T, self.nq, Dh)) * 0.5
        k_res = q_res.view(B, T, self.nkv, rep, Dh).mean(dim=3)
        # Two causal kernel-2 convolutions over c = [q; k] along the predecessor chain:
        # d(t) = w0 c(prev) + w1 c(t) + b0 (c = 0 before the start), d(none) = b0;
        # g(t) = W0 d(prev) + W1 d(t) + b1, W dense within each head's Dh channels.
        c = torch.cat((q, k), dim=-1)
        w, b0 = self.conv_qk_depthwise.weight[:, 0, :], self.conv_qk_depthwise.bias
        d = gather_prev(c, prev, torch.zeros_like(b0)) * w[:, 0] + c * w[:, 1] + b0
        d_prev = gather_prev(d, prev, b0)
        W = self.conv_qk_grouped.weight.view(G, Dh, Dh, 2)  # (group, out, in, tap)
        g = (torch.einsum("btgi,goi->btgo", d_prev.view(B, T, G, Dh), W[..., 0])
             + torch.einsum("btgi,goi->btgo", d.view(B, T, G, Dh), W[..., 1])) \
            + self.conv_qk_grouped.bias.view(G, Dh)
        query = g[:, :, :self.nq] + q_res
        key = g[:, :, self.nq:] + k_res
        # Value shift: half of each value from the current token, half the predecessor's delayed projection.
        vd = self.v_proj_delayed(h)
        vd_none = self.v_proj_delayed(h.new_zeros(h.shape[-1]))
        value = torch.cat((self.v_proj_current(h), gather_prev(vd, prev, vd_none)), dim=-1)
        return query, key, value.view(B, T, self.nkv, Dh)


class QKNorm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.scale = cfg["head_dim"] ** 0.5
        self.temp = nn.Parameter(torch.ones(cfg["num_key_value_heads"]))

    def forward(self, q, k):
        eps = torch.finfo(q.dtype).eps
        q = q * (self.scale / q.norm(p=2, dim=-1, keepdim=True).clamp_min(eps))
        k = k * (self.scale / k.norm(p=2, dim=-1, keepdim=True).clamp_min(eps))
        return q, k * self.temp[None, None, :, None]


def rope_tables(positions, cfg):
    """cos/sin (T, rotary_dim), HF layout; rotary_dim = head_dim * partial_rotary_factor."""
    rp = cfg["rope_parameters"]["hybrid"]
    dim = int(cfg["head_dim"] * rp["partial_rotary_factor"])
    inv_freq = 1.0 / (rp["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_partial_rope(x, cos, sin):
    r = cos.shape[-1]
    xr, xp = x[..., :r], x[..., r:]
    x1, x2 = xr.chunk(2, dim=-1)
    return torch.cat((xr * cos + torch.cat((-x2, x1), dim=-1) * sin, xp), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.nq, self.nkv, self.dh = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        self.qkv_proj = CCAProjection(cfg)
        self.qk_norm = QKNorm(cfg)
        self.o_proj = nn.Linear(self.nq * self.dh, cfg["hidden_size"], bias=False)

    def forward(self, h, cos, sin, attend, prev):
        B, T, _ = h.shape
        q, k, v = self.qkv_proj(h, prev)
        q, k = self.qk_norm(q, k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q, k = apply_partial_rope(q, cos, sin), apply_partial_rope(k, cos, sin)
        rep = self.nq // self.nkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        out = attend(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.nq * self.dh))


class ResidualScaling(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.hidden_states_scale = nn.Parameter(torch.ones(dim))
        self.hidden_states_bias = nn.Parameter(torch.zeros(dim))
        self.residual_scale = nn.Parameter(torch.ones(dim))
        self.residual_bias = nn.Parameter(torch.zeros(dim))

    def forward(self, h, residual):
        return (h + self.hidden_states_bias) * self.hidden_states_scale \
            + (residual + self.residual_bias) * self.residual_scale


class RouterMLP(nn.Module):
    def __init__(self, R, classes, eps):
        super().__init__()
        self.norm = RMSNorm(R, eps)
        self.fc1 = nn.Linear(R, R, bias=True)
        self.fc2 = nn.Linear(R, R, bias=True)
        self.out_proj = nn.Linear(R, classes, bias=False)

    def forward(self, x):
        x = F.gelu(self.fc1(self.norm(x)))
        return self.out_proj(F.gelu(self.fc2(x)))


class Router(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        D, R, E = cfg["hidden_size"], cfg["router_hidden_size"], cfg["num_experts"]
        self.down_proj = nn.Linear(D, R, bias=True)
        if layer > 0:
            self.router_states_scale = nn.Parameter(torch.ones(R))
        self.router_mlp = RouterMLP(R, E + 1, cfg["rms_norm_eps"])
        biases = torch.zeros(E + 1)
        biases[-1] = -1.0  # the skip route's bias: what stock transformers sets after loading
        self.register_buffer("balancing_biases", biases)

    def forward(self, h, router_state):
        r = self.down_proj(h)
        if router_state is not None and hasattr(self, "router_states_scale"):
            r = r + router_state * self.router_states_scale
        probs = torch.softmax(self.router_mlp(r), dim=-1)
        choice = (probs.detach() + self.balancing_biases).argmax(dim=-1)
        weight = probs.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
        return choice, weight, r


class Experts(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        E, D, Fi = cfg["num_experts"], cfg["hidden_size"], cfg["moe_intermediate_size"]
        self.gate_up_proj = nn.Parameter(torch.empty(E, 2 * Fi, D))
        self.down_proj = nn.Parameter(torch.empty(E, D, Fi))

    def forward(self, x, choice, weight):
        """x (N, D), choice/weight (N,): out[n] = weight[n] * expert_choice(x[n]); skip (== E) gives 0."""
        out = torch.zeros_like(x)
        for e in range(self.gate_up_proj.shape[0]):
            idx = (choice == e).nonzero(as_tuple=True)[0]
            if idx.numel() == 0:
                continue
            gate, up = F.linear(x[idx], self.gate_up_proj[e]).chunk(2, dim=-1)
            y = F.linear(F.silu(gate) * up, self.down_proj[e])
            out = out.index_add(0, idx, y * weight[idx, None])
        return out


class MoE(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        self.gate = Router(cfg, layer)
        self.experts = Experts(cfg)
        self.counts = None  # tokens per router class in the last forward (for balancing / stats)

    def forward(self, h, router_state):
        B, T, D = h.shape
        choice, weight, r = self.gate(h, router_state)
        self.counts = torch.bincount(choice.reshape(-1), minlength=self.gate.balancing_biases.numel())
        out = self.experts(h.reshape(-1, D), choice.reshape(-1), weight.reshape(-1))
        return out.view(B, T, D), r


class DecoderLayer(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        D, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.input_layernorm = RMSNorm(D, eps)
        self.self_attn = Attention(cfg)
        self.post_attention_residual_scale = ResidualScaling(D)
        self.post_attention_layernorm = RMSNorm(D, eps)
        self.mlp = MoE(cfg, layer)
        self.post_mlp_residual_scale = ResidualScaling(D)

    def forward(self, x, router_state, cos, sin, attend, prev):
        residual = self.post_attention_residual_scale(
            self.self_attn(self.input_layernorm(x), cos, sin, attend, prev), x)
        out, router_state = self.mlp(self.post_attention_layernorm(residual), router_state)
        return self.post_mlp_residual_scale(out, residual), router_state


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["hidden_size"]
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], D)
        self.input_hidden_states_scale = nn.Parameter(torch.ones(D))
        self.input_hidden_states_bias = nn.Parameter(torch.zeros(D))
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(D, cfg["rms_norm_eps"])


class Zaya(nn.Module):
    """ZayaForCausalLM with tied embeddings; state_dict keys are the HF names."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, Experts):
                nn.init.normal_(m.gate_up_proj, std=0.02)
                nn.init.normal_(m.down_proj, std=0.02)
        # The router MLP starts with unit-gain weights (std 1/sqrt(R); its RMSNorm fixes the input
        # scale), so its logits differ per token by O(1) and routing starts spread out. With the
        # std-0.02 init the probabilities are uniform to ~1e-4: every token then goes to whichever
        # expert the balancing biases (or noise) favour, and the whole batch flips between experts.
        R = cfg["router_hidden_size"]
        for layer in self.model.layers:
            rm = layer.mlp.gate.router_mlp
            for lin in (rm.fc1, rm.fc2, rm.out_proj):
                nn.init.normal_(lin.weight, std=R ** -0.5)
        # The conv layers keep PyTorch's default init (kaiming-uniform weights and small nonzero
        # biases): the conv path starts at about the size of the q/k mean term, and the nonzero
        # biases exercise the bias-on-zero-padding rule from the first step.

    def moe_layers(self):
        return [layer.mlp for layer in self.model.layers]

    def forward(self, ids, positions, attend, prev=None):
        """ids (B, T), positions (T,), attend(q, k, v) -> (B, H, T, Dh), prev (T,) recurrent
        predecessors (-1 = none; None = causal t-1) -> logits (B, T, V)."""
        T = ids.shape[1]
        if prev is None:
            prev = torch.arange(T) - 1
        cos, sin = rope_tables(positions, self.cfg)
        m = self.model
        x = (m.embed_tokens(ids) + m.input_hidden_states_bias) * m.input_hidden_states_scale
        router_state = None
        for layer in m.layers:
            x, router_state = layer(x, router_state, cos, sin, attend, prev)
        return m.norm(x) @ m.embed_tokens.weight.T


def tidar_prev(S, K):
    """Recurrent predecessors of the doubled layout [clean S | mask S] (indices into 2S).

    Clean token t follows t-1. Mask block b (layout positions S+Kb .. S+Kb+K-1) drafts positions
    Kb..Kb+K-1 after the committed prefix clean[0..Kb-1]: its first mask follows clean[Kb-1]
    (whose own predecessor is clean[Kb-2]), each further mask the mask before it; block 0's first
    mask follows nothing (the zero state, like the start of the sequence).
    """
    prev = torch.empty(2 * S, dtype=torch.long)
    prev[:S] = torch.arange(S) - 1
    i = torch.arange(S)
    prev[S:] = torch.where(i % K == 0, i - 1, S + i - 1)
    return prev


@torch.no_grad()
def update_balancing_biases(model, rate):
    """Aux-loss-free load balancing: move each expert's bias by `rate` towards the mean load
    (sign of mean - load over the last forward), keep the expert biases centred at 0 and the skip
    route's bias at -1 (so stock transformers, which resets it to -1 on load, routes the same)."""
    for moe in model.moe_layers():
        b = moe.gate.balancing_biases
        load = moe.counts[:-1].float()
        b[:-1] += rate * torch.sign(load.mean() - load)
        b[:-1] -= b[:-1].mean()
        b[-1] = -1.0
