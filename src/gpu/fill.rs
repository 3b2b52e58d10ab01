//! Planning a fill: binding windows, grids and the kernel's uniform.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::{TRUNC_INVERSE, TRUNC_PINNED};
use crate::philox::TensorKey;
use crate::sampler::{Sampler, SamplerKind, TruncMode};

/// Invocations per workgroup (`@workgroup_size` in the kernels).
pub(crate) const WORKGROUP_SIZE: u64 = 256;
/// Buffer positions (elements) one invocation owns.
pub(crate) const POSITIONS_PER_INVOCATION: u64 = 4;

/// One dispatch: a binding window of the buffer, the positions of it to
/// write, and the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Byte offset of the binding (a multiple of the offset alignment).
    pub bind_offset: u64,
    /// Byte size of the binding (a multiple of 4).
    pub bind_size: u64,
    /// First window position (element of the dtype) to write.
    pub pos_begin: u64,
    /// One past the last position to write.
    pub pos_end: u64,
    /// Element index of window position 0, mod 2^64.
    pub first_index: u64,
    /// Workgroups in x and y.
    pub grid: [u32; 2],
}

/// The kernel's uniform block; the layout of `Params` in
/// `shaders/philox.wgsl` (96 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FillParams {
    /// `(lo32(seed), hi32(seed))`.
    pub seed: [u32; 2],
    /// `(lo32(stream), hi32(stream))`.
    pub stream: [u32; 2],
    /// Element index of window position 0, as `(lo, hi)`.
    pub first_index: [u32; 2],
    /// First window position to write.
    pub pos_begin: u32,
    /// One past the last window position to write.
    pub pos_end: u32,
    /// Workgroups per row of the grid.
    pub groups_x: u32,
    /// 0 f32, 1 f16, 2 bf16.
    pub dtype: u32,
    /// Truncated normal: 0 inverse CDF, 1 pinned.
    pub mode: u32,
    /// Always 0. The kernels OR it into the bits of every product that
    /// feeds an add (`mul` in `shaders/philox.wgsl`): a value the shader
    /// compiler cannot know, so it cannot fuse the two into an FMA.
    pub fence: u32,
    /// [`Sampler::offset`].
    pub offset: f32,
    /// [`Sampler::scale`].
    pub scale: f32,
    /// [`Sampler::lo`].
    pub lo: f32,
    /// [`Sampler::hi`].
    pub hi: f32,
    /// Truncated normal ([`TruncMode::Inverse`]): `(width, neg_ln_width,
    /// lower.h, upper.h)`.
    pub trunc_a: [f32; 4],
    /// Truncated normal: `(lower.below, lower.above, upper.below,
    /// upper.above)`.
    pub trunc_b: [f32; 4],
}

impl FillParams {
    /// Size in bytes.
    pub const SIZE: u64 = std::mem::size_of::<FillParams>() as u64;

    pub(crate) fn new(s: &Sampler, key: &TensorKey, w: &Window) -> Self {
        let (mode, trunc_a, trunc_b) = match s.kind {
            SamplerKind::TruncatedNormal(TruncMode::Inverse {
                width,
                neg_ln_width,
                lower,
                upper,
            }) => (
                TRUNC_INVERSE,
                [width, neg_ln_width, lower.h, upper.h],
                [lower.below, lower.above, upper.below, upper.above],
            ),
            SamplerKind::TruncatedNormal(TruncMode::Pinned) => (TRUNC_PINNED, [0.0; 4], [0.0; 4]),
            _ => (TRUNC_INVERSE, [0.0; 4], [0.0; 4]),
        };
        Self {
            seed: [key.seed as u32, (key.seed >> 32) as u32],
            stream: [key.stream as u32, (key.stream >> 32) as u32],
            first_index: [w.first_index as u32, (w.first_index >> 32) as u32],
            pos_begin: w.pos_begin as u32,
            pos_end: w.pos_end as u32,
            groups_x: w.grid[0],
            dtype: match s.dtype {
                DType::F32 => 0,
                DType::F16 => 1,
                DType::BF16 => 2,
            },
            mode,
            fence: 0,
            offset: s.offset,
            scale: s.scale,
            lo: s.lo,
            hi: s.hi,
            trunc_a,
            trunc_b,
        }
    }
}

/// What a tensor is, for messages: "a bf16 tensor", "an f32 tensor".
pub(crate) fn tensor_of(dtype: DType) -> String {
    let name = dtype.name();
    let article = if name.starts_with('f') { "an" } else { "a" };
    format!("{article} {name} tensor")
}

/// The one alignment rule of the backend (the "Alignment" section of
/// [`crate::gpu`]), checked for `len` bytes of `unit`-byte elements (4 for
/// 32-bit tensors, 2 for 16-bit ones and host bytes) at `byte_offset` of a
/// buffer of `buffer_size` bytes; every entry point calls it. Returns the
/// bytes `start..end` written.
///
/// `argument` names the offset in the caller's terms (`byte_offset`,
/// `items[2].byte_offset`, ...) and `tensor` what is placed there; both
/// are only evaluated for an error.
pub(crate) fn check_target(
    argument: impl FnOnce() -> String,
    tensor: impl FnOnce() -> String,
    unit: u64,
    byte_offset: u64,
    len: Option<u64>,
    buffer_size: u64,
) -> Result<std::ops::Range<u64>> {
    if !byte_offset.is_multiple_of(unit) {
        return Err(Error::Unaligned {
            argument: argument(),
            offset: byte_offset,
            tensor: tensor(),
            reason: if unit == 2 {
                "16-bit tensors need an even offset".into()
            } else {
                "32-bit tensors need an offset that is a multiple of 4".into()
            },
        });
    }
    let end = len
        .and_then(|n| n.checked_add(byte_offset))
        .filter(|&e| e <= buffer_size)
        .ok_or(Error::BufferTooSmall {
            start: byte_offset,
            end: byte_offset.saturating_add(len.unwrap_or(u64::MAX)),
            size: buffer_size,
        })?;
    // Kernels write whole 4-byte words (keeping the other half of a shared
    // 16-bit word): the word holding the last byte must be bindable.
    if end > byte_offset && end.div_ceil(4) * 4 > buffer_size {
        return Err(Error::Unaligned {
            argument: format!("end of {} (byte_offset + length)", argument()),
            offset: end,
            tensor: tensor(),
            reason: format!(
                "the tensor reaches into the buffer's last, partial word (the buffer has \
                 {buffer_size} bytes, not a multiple of 4), and WebGPU binds storage buffers \
                 only in whole 4-byte words (wgpu refuses a binding whose size is not a \
                 multiple of 4), so no kernel or copy can write it; create the buffer with a \
                 size rounded up to a multiple of 4 ({})",
                buffer_size.next_multiple_of(4)
            ),
        });
    }
    Ok(byte_offset..end)
}

/// Checks a fill request, in this order: the buffer's `STORAGE` usage, the
/// range against the tensor, then [`check_target`] (`byte_offset`).
/// Returns the bytes `start..end` the fill writes.
pub(crate) fn check(
    buffer_size: u64,
    usage: wgpu::BufferUsages,
    byte_offset: u64,
    dtype: DType,
    key: &TensorKey,
    range: &std::ops::Range<u64>,
) -> Result<std::ops::Range<u64>> {
    if !usage.contains(wgpu::BufferUsages::STORAGE) {
        return Err(Error::BufferUsage {
            have: super::usage_names(usage),
            missing: "STORAGE",
        });
    }
    if range.start > range.end || range.end > key.numel {
        return Err(Error::RangeOutOfBounds {
            start: range.start,
            end: range.end,
            len: key.numel,
        });
    }
    let size = dtype.size_bytes() as u64;
    check_target(
        || "byte_offset".into(),
        || tensor_of(dtype),
        size,
        byte_offset,
        (range.end - range.start).checked_mul(size),
        buffer_size,
    )
}

/// Checks a fill request ([`check`]) and splits it into windows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    buffer_size: u64,
    usage: wgpu::BufferUsages,
    byte_offset: u64,
    dtype: DType,
    key: &TensorKey,
    range: std::ops::Range<u64>,
    max_window_bytes: u64,
    max_workgroups: u32,
    alignment: u64,
) -> Result<Vec<Window>> {
    let std::ops::Range { start, end } =
        check(buffer_size, usage, byte_offset, dtype, key, &range)?;
    if start == end {
        return Ok(Vec::new());
    }
    let size = dtype.size_bytes() as u64;
    // A window's positions are also bounded by what one grid can cover.
    let max_dim = max_workgroups as u64;
    let grid_positions = max_dim * max_dim * WORKGROUP_SIZE * POSITIONS_PER_INVOCATION;
    // 2^31 bytes keeps every position index of the kernel inside a u32.
    let window_cap =
        max_window_bytes.min(grid_positions * size).min(1 << 31) / alignment * alignment;
    let window_cap = window_cap.max(alignment);
    let mut out = Vec::new();
    let mut w = start / alignment * alignment;
    while w < end {
        // Bindings are whole words and never pass the buffer's end.
        let bind_end = (w + window_cap)
            .min(end.div_ceil(4) * 4)
            .min(buffer_size / 4 * 4);
        let bind_size = bind_end - w;
        let pos_begin = (start.max(w) - w) / size;
        let pos_end = (end.min(bind_end) - w) / size;
        // Index of position 0: range.start at position (start - w) / size.
        let first_index = range
            .start
            .wrapping_add((w / size).wrapping_sub(start / size));
        let invocations = pos_end.div_ceil(POSITIONS_PER_INVOCATION);
        let workgroups = invocations.div_ceil(WORKGROUP_SIZE);
        // One grid: the window cap keeps the workgroups within one.
        let grids = super::split_grid(workgroups, max_workgroups);
        debug_assert_eq!(grids.len(), 1);
        out.push(Window {
            bind_offset: w,
            bind_size,
            pos_begin,
            pos_end,
            first_index,
            grid: grids[0].size,
        });
        w = bind_end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> TensorKey {
        TensorKey::new(1, 2, n)
    }

    #[test]
    fn windows_tile_the_range_exactly() {
        let usage = wgpu::BufferUsages::STORAGE;
        for (dtype, off, n, win, wg) in [
            (DType::F32, 0u64, 1000u64, 1024u64, 65535u32),
            (DType::F16, 6, 999, 512, 65535),
            (DType::BF16, 258, 5000, 256, 2),
            (DType::F32, 512, 100_000, 1 << 20, 3),
        ] {
            let buf = off + n * dtype.size_bytes() as u64 + 64;
            let ws = plan(buf, usage, off, dtype, &key(n + 10), 7..7 + n, win, wg, 256).unwrap();
            let size = dtype.size_bytes() as u64;
            let mut next_index = 7u64;
            for w in &ws {
                assert_eq!(w.bind_offset % 256, 0);
                assert_eq!(w.bind_size % 4, 0);
                assert!(w.bind_offset + w.bind_size <= buf);
                assert!(w.grid[0] <= wg && w.grid[1] <= wg);
                let cover =
                    w.grid[0] as u64 * w.grid[1] as u64 * WORKGROUP_SIZE * POSITIONS_PER_INVOCATION;
                assert!(cover >= w.pos_end);
                assert!(w.pos_end * size <= w.bind_size);
                // Positions carry consecutive indices across windows.
                assert_eq!(w.first_index.wrapping_add(w.pos_begin), next_index);
                next_index = w.first_index.wrapping_add(w.pos_end);
            }
            assert_eq!(next_index, 7 + n);
        }
    }

    #[test]
    fn bad_requests() {
        let s = wgpu::BufferUsages::STORAGE;
        let k = key(100);
        assert!(matches!(
            plan(
                400,
                wgpu::BufferUsages::COPY_DST,
                0,
                DType::F32,
                &k,
                0..100,
                1 << 20,
                65535,
                256
            ),
            Err(Error::BufferUsage { .. })
        ));
        assert!(matches!(
            plan(400, s, 2, DType::F32, &k, 0..10, 1 << 20, 65535, 256),
            Err(Error::Unaligned { offset: 2, .. })
        ));
        assert!(matches!(
            plan(400, s, 4, DType::F32, &k, 0..100, 1 << 20, 65535, 256),
            Err(Error::BufferTooSmall { end: 404, .. })
        ));
        assert!(matches!(
            plan(400, s, 0, DType::F32, &k, 90..101, 1 << 20, 65535, 256),
            Err(Error::RangeOutOfBounds { .. })
        ));
        assert!(plan(400, s, 0, DType::F32, &k, 5..5, 1 << 20, 65535, 256)
            .unwrap()
            .is_empty());
    }
}
