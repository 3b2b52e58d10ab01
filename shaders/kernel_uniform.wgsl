// kernel_uniform.wgsl: the fill parameters in a uniform at binding 1, for
// the kernels that fill one tensor per dispatch (the structured kernels and
// fill_constant.wgsl).
// The batched kernels load a private `p` instead (fill_batch.wgsl).

@group(0) @binding(1) var<uniform> p: Params;
