//! `src/kernel.rs` is the CPU twin of the shader prelude the host builds
//! every kernel from (`shaders/mulhilo_*.wgsl` then `shaders/philox.wgsl`):
//! the same functions and module constants, with the same names, in the
//! same order, so the two read side by side. The constants' values are
//! checked here for the integer ones and by `tests/shaders_validate.rs` for
//! the f32 ones; the functions' bits by the GPU tests.

/// The prelude, in the order the host concatenates it. Both mulhilo files
/// define the same single function; the int64 one stands for both.
const WGSL: [(&str, &str); 2] = [
    (
        "shaders/mulhilo_int64.wgsl",
        include_str!("../shaders/mulhilo_int64.wgsl"),
    ),
    (
        "shaders/philox.wgsl",
        include_str!("../shaders/philox.wgsl"),
    ),
];

const KERNEL_RS: &str = include_str!("../src/kernel.rs");

/// WGSL functions with no CPU twin, for good: `fence` only ORs a uniform
/// zero into a result so that a shader compiler can neither contract nor
/// regroup across it, and Rust does neither.
const WGSL_ONLY_FNS: [&str; 1] = ["fence"];

/// A top-level item of one kind (`fn` or `const`): its name and 1-based line.
#[derive(Debug)]
struct Item {
    name: String,
    line: usize,
}

/// The names of the top-level items that start with `keyword` (after an
/// optional `pub` or `pub(crate)`), in file order. Top level means the line
/// starts in column 0, which both rustfmt and the WGSL style guarantee;
/// comments and bodies are indented or start with `//`.
fn items(text: &str, keyword: &str) -> Vec<Item> {
    let prefix = format!("{keyword} ");
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub "))
                .unwrap_or(line);
            let rest = rest.strip_prefix(&prefix)?;
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            Some(Item {
                name: rest[..end].to_string(),
                line: i + 1,
            })
        })
        .collect()
}

fn wgsl_items(keyword: &str, exempt: &[&str]) -> Vec<(String, String)> {
    WGSL.iter()
        .flat_map(|(file, text)| {
            items(text, keyword)
                .into_iter()
                .filter(|it| !exempt.contains(&it.name.as_str()))
                .map(move |it| (it.name, format!("{file}:{}", it.line)))
        })
        .collect()
}

fn rust_items(keyword: &str) -> Vec<(String, String)> {
    items(KERNEL_RS, keyword)
        .into_iter()
        .map(|it| (it.name, format!("src/kernel.rs:{}", it.line)))
        .collect()
}

/// Asserts that the two lists name the same items in the same order, and on
/// failure says where they part.
fn assert_same_order(what: &str, wgsl: &[(String, String)], rust: &[(String, String)]) {
    let w: Vec<&str> = wgsl.iter().map(|(n, _)| n.as_str()).collect();
    let r: Vec<&str> = rust.iter().map(|(n, _)| n.as_str()).collect();
    if w == r {
        return;
    }
    let first = w
        .iter()
        .zip(&r)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(r.len()));
    let at = |list: &[(String, String)]| {
        list.get(first)
            .map_or("(end of list)".to_string(), |(n, loc)| {
                format!("`{n}` at {loc}")
            })
    };
    panic!(
        "{what} of the WGSL prelude and src/kernel.rs differ first at position {first}: \
         WGSL has {}, Rust has {}.\nWGSL: {w:?}\nRust: {r:?}",
        at(wgsl),
        at(rust),
    );
}

#[test]
fn kernel_rs_has_the_functions_of_philox_wgsl_in_order() {
    let wgsl = wgsl_items("fn", &WGSL_ONLY_FNS);
    let rust = rust_items("fn");
    // Guard against a parser that finds nothing on both sides.
    assert!(wgsl.len() >= 30, "only {} WGSL functions found", wgsl.len());
    assert_same_order("The functions", &wgsl, &rust);
}

#[test]
fn kernel_rs_has_the_constants_of_philox_wgsl_in_order() {
    let wgsl = wgsl_items("const", &[]);
    let rust = rust_items("const");
    assert!(wgsl.len() >= 20, "only {} WGSL constants found", wgsl.len());
    assert_same_order("The module constants", &wgsl, &rust);
}

/// The exemption list names only what the WGSL really has, so a rename
/// there cannot silently widen it.
#[test]
fn exemptions_exist_in_philox_wgsl() {
    let wgsl = WGSL[1].1;
    let fns: Vec<String> = items(wgsl, "fn").into_iter().map(|i| i.name).collect();
    for name in WGSL_ONLY_FNS {
        assert!(
            fns.iter().any(|f| f == name),
            "exempt fn `{name}` not in philox.wgsl"
        );
    }
}

/// The value of `const NAME: u32 = <literal>` (WGSL `0x..u`, Rust `0x.._..`),
/// or `None` where the initializer is not a plain integer literal.
fn u32_literal(text: &str, name: &str) -> Option<u32> {
    let key = format!("const {name}: u32 =");
    let start = text.find(&key)? + key.len();
    let lit = text[start..].split(';').next()?.trim().replace('_', "");
    let lit = lit.strip_suffix('u').unwrap_or(&lit);
    match lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => lit.parse().ok(),
    }
}

#[test]
fn u32_constants_have_the_same_values() {
    let wgsl = WGSL[1].1;
    let mut checked = 0;
    for it in items(wgsl, "const") {
        if let Some(w) = u32_literal(wgsl, &it.name) {
            let r = u32_literal(KERNEL_RS, &it.name)
                .unwrap_or_else(|| panic!("src/kernel.rs: no u32 literal const {}", it.name));
            assert_eq!(w, r, "{}: WGSL {w:#x}, Rust {r:#x}", it.name);
            checked += 1;
        }
    }
    // PHILOX_M0/M1/W0/W1, SQRT2_MANTISSA, RSQRT_MAGIC, RECIP_MAGIC,
    // TRUNC_INVERSE, TRUNC_PINNED.
    assert_eq!(checked, 9);
}
