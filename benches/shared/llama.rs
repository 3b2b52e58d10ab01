//! Llama-2-7B's parameter list (32 layers; hidden 4096, MLP 11008, vocab
//! 32000; 291 tensors), shared by `benches/gpu_batch.rs` and
//! `examples/timings.rs` (`#[path]`), and mirrored in the peer script
//! `scripts/torch_model_init.py`.

/// (name, shape) of every parameter of the decoder, hidden, MLP and vocab
/// divided by `k`.
pub fn llama_shapes(k: u64) -> Vec<(String, Vec<u64>)> {
    let (h, mlp, vocab) = (4096 / k, 11008 / k, 32000 / k);
    let mut out = vec![("model.embed_tokens.weight".to_string(), vec![vocab, h])];
    for l in 0..32 {
        let p = format!("model.layers.{l}");
        for m in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            out.push((format!("{p}.self_attn.{m}.weight"), vec![h, h]));
        }
        out.push((format!("{p}.mlp.gate_proj.weight"), vec![mlp, h]));
        out.push((format!("{p}.mlp.up_proj.weight"), vec![mlp, h]));
        out.push((format!("{p}.mlp.down_proj.weight"), vec![h, mlp]));
        out.push((format!("{p}.input_layernorm.weight"), vec![h]));
        out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
    }
    out.push(("model.norm.weight".to_string(), vec![h]));
    out.push(("lm_head.weight".to_string(), vec![vocab, h]));
    out
}
