// Activations and their derivatives for the signal-propagation diagnostic,
// the f32 twins of `Activation::apply` / `Activation::derivative` in
// src/diagnose/mod.rs (codes: the enum's order). Shared by
// activation_forward.wgsl and activation_backward.wgsl.

struct Elementwise {
    // Elements in the matrix.
    n: u32,
    // Activation code.
    act: u32,
    // Workgroups along x in the 2-D grid.
    groups_x: u32,
    pad: u32,
}

const ACT_LINEAR: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_LEAKY_RELU: u32 = 2u;
const ACT_TANH: u32 = 3u;
const ACT_SIGMOID: u32 = 4u;
const ACT_SELU: u32 = 5u;
const ACT_GELU: u32 = 6u;

// torch.nn.LeakyReLU's default negative slope, set by the host from the
// crate's one constant (src/diagnose/gpu.rs, ACTIVATION_CONSTANTS).
override LEAKY_RELU_SLOPE: f32;
// Klambauer et al. 2017, eq. 2 (torch.nn.SELU).
const SELU_ALPHA: f32 = 1.6732632423543772848170429916717;
const SELU_LAMBDA: f32 = 1.0507009873554804934193349852946;
const FRAC_1_SQRT_2: f32 = 0.70710678118654752440;
const FRAC_1_SQRT_2PI: f32 = 0.39894228040143267794;

// tanh without WGSL's builtin, whose accuracy the spec leaves to
// sinh/cosh (and some drivers compute as (e^2x - 1) / (e^2x + 1), which
// loses all relative accuracy near 0). Near 0: Lambert's continued
// fraction cut to a [7/6] rational; elsewhere (1 - e^-2|x|) / (1 + e^-2|x|),
// which cannot overflow.
fn tanh_f32(x: f32) -> f32 {
    let ax = abs(x);
    if (ax < 0.55) {
        let x2 = x * x;
        let num = 135135.0 + x2 * (17325.0 + x2 * (378.0 + x2));
        let den = 135135.0 + x2 * (62370.0 + x2 * (3150.0 + x2 * 28.0));
        return x * num / den;
    }
    let t = exp(-2.0 * ax);
    return sign(x) * (1.0 - t) / (1.0 + t);
}

// exp(-|x|) based, so that neither branch overflows.
fn sigmoid_f32(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

// Abramowitz & Stegun 7.1.26, as `erf_as` in src/diagnose/mod.rs.
fn erf_as(x: f32) -> f32 {
    let ax = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * ax);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
        + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-ax * ax));
}

fn phi_as(x: f32) -> f32 {
    return 0.5 * (1.0 + erf_as(x * FRAC_1_SQRT_2));
}

fn activate(x: f32, code: u32) -> f32 {
    switch code {
        case 1u: { return max(x, 0.0); }
        case 2u: { return select(LEAKY_RELU_SLOPE * x, x, x > 0.0); }
        case 3u: { return tanh_f32(x); }
        case 4u: { return sigmoid_f32(x); }
        case 5u: { return select(SELU_LAMBDA * SELU_ALPHA * (exp(x) - 1.0), SELU_LAMBDA * x, x > 0.0); }
        case 6u: { return x * phi_as(x); }
        default: { return x; }
    }
}

// Left derivative at the kinks (0 for relu, the slope for leaky_relu), as
// PyTorch's autograd.
fn activate_grad(x: f32, code: u32) -> f32 {
    switch code {
        case 1u: { return select(0.0, 1.0, x > 0.0); }
        case 2u: { return select(LEAKY_RELU_SLOPE, 1.0, x > 0.0); }
        case 3u: {
            let t = tanh_f32(x);
            return 1.0 - t * t;
        }
        case 4u: {
            let s = sigmoid_f32(x);
            return s * (1.0 - s);
        }
        case 5u: { return select(SELU_LAMBDA * SELU_ALPHA * exp(x), SELU_LAMBDA, x > 0.0); }
        case 6u: { return phi_as(x) + x * exp(-0.5 * x * x) * FRAC_1_SQRT_2PI; }
        default: { return 1.0; }
    }
}

fn element_index(wg: vec3<u32>, lid: vec3<u32>, groups_x: u32) -> u32 {
    return (wg.y * groups_x + wg.x) * 256u + lid.x;
}
