"""tools/fixture_io.py — write tests/fixtures/*.fx (the format tests/fixture.h reads).

"SLFX", u32 version 1, u32 count, then per tensor: u32 name_len, name, u32 dtype (0 f32, 1 i32),
u32 ndim, u32 dims[ndim], the elements (little-endian, 4 bytes each).
"""
import struct
import numpy as np


def write_fixture(path, tensors):
    """tensors: dict name -> array-like (float arrays stored f32, integer arrays i32)."""
    with open(path, "wb") as f:
        f.write(b"SLFX")
        f.write(struct.pack("<II", 1, len(tensors)))
        for name, a in tensors.items():
            if hasattr(a, "detach"):
                a = a.detach().cpu().numpy()
            a = np.asarray(a)
            if np.issubdtype(a.dtype, np.integer):
                a, code = a.astype("<i4"), 1
            else:
                a, code = a.astype("<f4"), 0
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb)
            f.write(struct.pack("<II", code, a.ndim))
            f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(np.ascontiguousarray(a).tobytes())


def read_fixture(path):
    """The inverse of write_fixture: dict name -> numpy array (for checking fixtures by eye)."""
    out = {}
    with open(path, "rb") as f:
        assert f.read(4) == b"SLFX", "%s: not a fixture file" % path
        version, count = struct.unpack("<II", f.read(8))
        assert version == 1
        for _ in range(count):
            (n,) = struct.unpack("<I", f.read(4))
            name = f.read(n).decode()
            code, ndim = struct.unpack("<II", f.read(8))
            dims = struct.unpack("<%dI" % ndim, f.read(4 * ndim))
            count_el = int(np.prod(dims)) if ndim else 1
            dt = "<f4" if code == 0 else "<i4"
            out[name] = np.frombuffer(f.read(4 * count_el), dtype=dt).reshape(dims)
    return out


def llama_config(spec, bos=None, eos=None):
    """transformers' LlamaConfig of a fixture spec (vocab, dim, hidden, n_layers, n_heads,
    n_kv_heads, head_dim, max_pos, eps, tied, theta, and scaling: None or Llama 3's rope_scaling
    fields), no dropout, initializer_range 0.02."""
    from transformers import LlamaConfig
    rope = {"rope_type": "default", "rope_theta": spec["theta"]}
    if spec["scaling"]:
        rope = {"rope_type": "llama3", "rope_theta": spec["theta"], **spec["scaling"]}
    return LlamaConfig(
        vocab_size=spec["vocab"], hidden_size=spec["dim"], intermediate_size=spec["hidden"],
        num_hidden_layers=spec["n_layers"], num_attention_heads=spec["n_heads"],
        num_key_value_heads=spec["n_kv_heads"], head_dim=spec["head_dim"],
        max_position_embeddings=spec["max_pos"], rms_norm_eps=spec["eps"],
        tie_word_embeddings=spec["tied"], rope_parameters=rope, attention_dropout=0.0,
        initializer_range=0.02, bos_token_id=bos, eos_token_id=eos, pad_token_id=None)


def init_llama_weights(model, std, seed):
    """Every matrix ~ N(0, std) and every RMSNorm weight ~ 1 + 0.1 N(0, 1) (so that norm
    gradients are not trivial), drawn in named_parameters() order from a torch.Generator
    seeded with `seed`: the explicit init of every fixture model, not the library's own."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def tiny_llama(tied, seed, std=0.1):
    """The tiny LlamaForCausalLM that bin/train fine-tunes in the tests (tools/make_init_fixture.py,
    tools/make_lora_fixtures.py): vocabulary 256, dim 32, 2 layers, 4 query heads sharing 2
    key/value heads of 8, SwiGLU 64, max_position_embeddings 256, attention_dropout 0, the output
    head tied or not; float32, weights from init_llama_weights(model, std, seed)."""
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                      max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=tied,
                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                      attention_dropout=0.0, bos_token_id=1, eos_token_id=2, pad_token_id=None)
    model = LlamaForCausalLM(cfg).float()
    init_llama_weights(model, std, seed)
    return model


def load_llama_f32(d):
    """LlamaForCausalLM.from_pretrained(d) in float32 with eager attention (transformers 5's
    `dtype=`, or older versions' `torch_dtype=`)."""
    import torch
    from transformers import LlamaForCausalLM
    try:
        return LlamaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        return LlamaForCausalLM.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager")


def train_steps(model, opt, params, train, steps, B, T, clip, after_backward=None, say=print):
    """bin/train's update with --shuffle 0 --grad-accum 1, `steps` times: batch k is
    train[k*B*T : k*B*T + B*T + 1], row b its b-th window of T inputs and the same shifted by one
    as targets (llm.c's sequential loader); loss = mean cross-entropy over B*T; the global norm
    of params' gradients clipped to clip as torch.nn.utils.clip_grad_norm_ does; opt.step().
    after_backward(k) runs after step k's backward, before clipping. Returns the losses and the
    norms before clipping, one per step."""
    import torch
    losses, norms = [], []
    for k in range(steps):
        chunk = torch.tensor(train[k * B * T: k * B * T + B * T + 1], dtype=torch.long)
        x, y = chunk[:-1].view(B, T), chunk[1:].view(B, T)
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if after_backward:
            after_backward(k)
        norm = torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())
        say("step %d loss %.7f grad norm %.6f" % (k, loss.item(), norm.item()))
    return losses, norms
