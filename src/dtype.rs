//! Output element types (f32, f16, bf16): sizes, names and parsing, and
//! rounding to and widening from the 16-bit formats.
//!
//! The f32 to f16/bf16 rounding ([`f32_to_f16_bits`], [`f32_to_bf16_bits`])
//! is part of the contract: it is defined in `src/kernel.rs`, the twin of
//! the shader's, and re-exported here, beside the exact widenings back to
//! f32 ([`f16_bits_to_f32`], [`bf16_bits_to_f32`]), which no kernel needs.

use crate::kernel::TWO_M24;
pub use crate::kernel::{f32_to_bf16_bits, f32_to_f16_bits};

/// An output element type.
///
/// ```
/// use weight_init::DType;
/// assert_eq!(DType::BF16.size_bytes(), 2);
/// assert_eq!("f16".parse::<DType>().unwrap(), DType::F16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// IEEE-754 binary32.
    F32,
    /// IEEE-754 binary16.
    F16,
    /// bfloat16: the top 16 bits of a binary32.
    BF16,
}

impl DType {
    /// Bytes per element.
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::F32.size_bytes(), 4);
    /// assert_eq!(DType::F16.size_bytes(), 2);
    /// ```
    #[must_use]
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }

    /// Little-endian elements of this dtype (a buffer read back from the
    /// GPU, a safetensors payload) widened exactly to f32; a trailing
    /// partial element is ignored.
    ///
    /// ```
    /// use weight_init::DType;
    /// let v: Vec<f32> = DType::BF16.decode_le(&[0x80, 0x3f, 0x00, 0xc0]).collect();
    /// assert_eq!(v, [1.0, -2.0]);
    /// ```
    pub fn decode_le(self, bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
        bytes
            .chunks_exact(self.size_bytes())
            .map(move |c| match self {
                DType::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                DType::F16 => f16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])),
                DType::BF16 => bf16_bits_to_f32(u16::from_le_bytes([c[0], c[1]])),
            })
    }

    /// One unit in the last place of this dtype at magnitude `m`: the
    /// spacing of the binade holding `m` (the subnormal spacing below the
    /// normal range).
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::BF16.ulp(1.0), 2f64.powi(-7));
    /// assert_eq!(DType::F16.ulp(0.0), 2f64.powi(-24));
    /// ```
    #[must_use]
    pub fn ulp(self, m: f64) -> f64 {
        let m = m.abs().max(f64::MIN_POSITIVE);
        let (mant_bits, min_exp) = match self {
            DType::F32 => (23, -126),
            DType::F16 => (10, -14),
            DType::BF16 => (7, -126),
        };
        let e = (m.log2().floor() as i32).max(min_exp);
        2f64.powi(e - mant_bits)
    }

    /// The lower-case name: `f32`, `f16` or `bf16`.
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::BF16.name(), "bf16");
    /// assert_eq!(DType::BF16.to_string(), "bf16"); // Display is the name
    /// ```
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }

    /// The largest finite value.
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::F16.max_finite(), 65504.0);
    /// assert_eq!(DType::BF16.max_finite(), 3.3895314e38);
    /// ```
    #[must_use]
    pub fn max_finite(self) -> f32 {
        match self {
            DType::F32 => f32::MAX,
            DType::F16 => 65504.0,
            DType::BF16 => f32::from_bits(0x7f7f_0000),
        }
    }

    /// `x` rounded to this dtype (ties to even) and widened back to f32.
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::F32.round(0.1), 0.1);
    /// assert_eq!(DType::BF16.round(0.1), 0.10009765625);
    /// assert_eq!(DType::F16.round(1.0 + 2f32.powi(-11)), 1.0); // a tie, to even
    /// ```
    #[must_use]
    pub fn round(self, x: f32) -> f32 {
        match self {
            DType::F32 => x,
            DType::F16 => f16_bits_to_f32(f32_to_f16_bits(x)),
            DType::BF16 => bf16_bits_to_f32(f32_to_bf16_bits(x)),
        }
    }

    /// The next value of this dtype above a value of this dtype.
    fn next_up(self, x: f32) -> f32 {
        let ulp_step = |bits: u32, step: u32| -> u32 {
            if bits & 0x7fff_ffff == 0 {
                step // +-0 -> smallest positive subnormal
            } else if bits >> 31 == 0 {
                bits + step
            } else {
                bits - step
            }
        };
        match self {
            DType::F32 => f32::from_bits(ulp_step(x.to_bits(), 1)),
            DType::BF16 => f32::from_bits(ulp_step(x.to_bits(), 0x1_0000)),
            DType::F16 => {
                let h = f32_to_f16_bits(x) as u32;
                let n = if h & 0x7fff == 0 {
                    1
                } else if h >> 15 == 0 {
                    h + 1
                } else {
                    h - 1
                };
                f16_bits_to_f32(n as u16)
            }
        }
    }

    /// The smallest value of this dtype that is `>= x` (x finite).
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::BF16.ceil(1.001), 1.0078125);
    /// assert_eq!(DType::BF16.ceil(1.0), 1.0);
    /// ```
    #[must_use]
    pub fn ceil(self, x: f64) -> f32 {
        let mut f = x as f32;
        if (f as f64) < x {
            f = DType::F32.next_up(f);
        }
        let r = self.round(f);
        if r < f {
            self.next_up(r)
        } else {
            r
        }
    }

    /// The largest value of this dtype that is `<= x` (x finite).
    ///
    /// ```
    /// use weight_init::DType;
    /// assert_eq!(DType::BF16.floor(1.007), 1.0);
    /// assert_eq!(DType::BF16.floor(-1.001), -1.0078125);
    /// ```
    #[must_use]
    pub fn floor(self, x: f64) -> f32 {
        -self.ceil(-x)
    }

    /// The largest value of this dtype that is `< x` (x finite).
    ///
    /// ```
    /// use weight_init::DType;
    /// // The largest bf16 value under 1: how a uniform's open end is kept out.
    /// assert_eq!(DType::BF16.below(1.0), 1.0 - 2f32.powi(-8));
    /// assert_eq!(DType::BF16.below(1.001), 1.0);
    /// ```
    #[must_use]
    pub fn below(self, x: f64) -> f32 {
        let f = self.floor(x);
        if (f as f64) < x {
            f
        } else {
            -self.next_up(-f)
        }
    }
}

impl core::fmt::Display for DType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> core::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" | "float" => Ok(DType::F32),
            "f16" | "float16" | "half" => Ok(DType::F16),
            "bf16" | "bfloat16" => Ok(DType::BF16),
            _ => Err(format!("unknown dtype `{s}` (expected f32, f16 or bf16)")),
        }
    }
}

/// bfloat16 bits to f32 (exact).
///
/// ```
/// use weight_init::dtype::{bf16_bits_to_f32, f32_to_bf16_bits};
/// assert_eq!(bf16_bits_to_f32(0x3f80), 1.0);
/// assert_eq!(bf16_bits_to_f32(f32_to_bf16_bits(-2.5)), -2.5);
/// ```
#[inline(always)]
#[must_use]
pub fn bf16_bits_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// IEEE binary16 bits to f32 (exact).
///
/// ```
/// use weight_init::dtype::{f16_bits_to_f32, f32_to_f16_bits};
/// assert_eq!(f16_bits_to_f32(0x3c00), 1.0);
/// assert_eq!(f16_bits_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
/// assert_eq!(f16_bits_to_f32(f32_to_f16_bits(0.1)), 0.0999755859375);
/// ```
#[must_use]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let e = (h >> 10) & 0x1f;
    let m = h & 0x3ff;
    let bits = if e == 0x1f {
        0x7f80_0000 | (m << 13)
    } else if e != 0 {
        ((e + 112) << 23) | (m << 13)
    } else if m == 0 {
        0
    } else {
        // Subnormal: m * 2^-24, exact in f32.
        (m as f32 * TWO_M24).to_bits()
    };
    f32::from_bits(sign | bits)
}
